// Package pki creates and loads the cluster's certificate authority, the API server's serving
// certificate, client certificates, and the join token that carries the CA's hash.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Validity periods: the CA lasts ten years, leaf certificates one.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
)

// CA is a certificate authority whose key is on disk.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
}

// LoadOrCreateCA loads ca.crt and ca.key from dir, creating them on first use.
func LoadOrCreateCA(dir, commonName string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if ca, err := loadCA(certPath, keyPath); err == nil {
		return ca, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", commonName, now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	if err := writeKeyPair(certPath, keyPath, der, key); err != nil {
		return nil, err
	}
	return loadCA(certPath, keyPath)
}

func loadCA(certPath, keyPath string) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	cert, key, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}, nil
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, nil, errors.New("no certificate PEM block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("no key PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New("key cannot sign")
	}
	return cert, signer, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func writeKeyPair(certPath, keyPath string, der []byte, key crypto.Signer) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFile writes data atomically: to a temporary file, then renamed into place.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LeafSpec describes a certificate the CA issues.
type LeafSpec struct {
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	Server       bool
	Client       bool
}

// LoadOrIssue loads the key pair at certPath/keyPath if it was issued by ca, is valid for
// another 30 days and covers spec's names; otherwise it issues a new one.
func (ca *CA) LoadOrIssue(certPath, keyPath string, spec LeafSpec) (certPEM, keyPEM []byte, err error) {
	if c, err := os.ReadFile(certPath); err == nil {
		if k, err := os.ReadFile(keyPath); err == nil {
			if cert, _, err := parsePair(c, k); err == nil && ca.covers(cert, spec) {
				return c, k, nil
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		DNSNames:     spec.DNSNames,
		IPAddresses:  spec.IPs,
	}
	if spec.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if spec.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKeyPair(certPath, keyPath, der, key); err != nil {
		return nil, nil, err
	}
	c, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	k, err := os.ReadFile(keyPath)
	return c, k, err
}

func (ca *CA) covers(cert *x509.Certificate, spec LeafSpec) bool {
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		return false
	}
	if time.Until(cert.NotAfter) < 30*24*time.Hour || cert.Subject.CommonName != spec.CommonName {
		return false
	}
	if !sameStrings(cert.Subject.Organization, spec.Organization) {
		return false
	}
	have := map[string]bool{}
	for _, d := range cert.DNSNames {
		have[d] = true
	}
	for _, ip := range cert.IPAddresses {
		have[ip.String()] = true
	}
	for _, d := range spec.DNSNames {
		if !have[d] {
			return false
		}
	}
	for _, ip := range spec.IPs {
		if !have[ip.String()] {
			return false
		}
	}
	return true
}

func sameStrings(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CAHash is the hex SHA-256 of the CA certificate's PEM, as k3s puts in its join tokens.
func (ca *CA) CAHash() string {
	sum := sha256.Sum256(ca.CertPEM)
	return hex.EncodeToString(sum[:])
}

// Token is a join token: "K10<ca-hash>::server:<secret>". An agent checks the server's CA
// against the hash before it trusts anything the server says.
type Token struct {
	CAHash string
	Secret string
}

// String formats the token.
func (t Token) String() string { return "K10" + t.CAHash + "::server:" + t.Secret }

// ParseToken parses a token written by String.
func ParseToken(s string) (Token, error) {
	if len(s) < 3+64+len("::server:")+1 || s[:3] != "K10" || s[67:76] != "::server:" {
		return Token{}, fmt.Errorf("token is not of the form K10<ca-hash>::server:<secret>")
	}
	return Token{CAHash: s[3:67], Secret: s[76:]}, nil
}

// LoadOrCreateToken reads the token file at path, creating a token for ca on first use. A
// token whose CA hash no longer matches is replaced.
func LoadOrCreateToken(path string, ca *CA) (Token, error) {
	if b, err := os.ReadFile(path); err == nil {
		if t, err := ParseToken(string(trimSpace(b))); err == nil && t.CAHash == ca.CAHash() {
			return t, nil
		}
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return Token{}, err
	}
	t := Token{CAHash: ca.CAHash(), Secret: hex.EncodeToString(secret)}
	return t, writeFile(path, []byte(t.String()+"\n"), 0o600)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// CipherSuites are the TLS 1.2 cipher suites skiff's servers accept: ECDHE key exchange with
// AEAD ciphers only (CIS 1.2.29). TLS 1.3's suites are fixed by Go and all strong.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Issue issues a certificate for spec with a new P-256 key, valid for validity (the default
// leaf validity when 0), kept in memory only.
func (ca *CA) Issue(spec LeafSpec, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := ca.sign(spec, key.Public(), validity)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// SignRequest signs a certificate for the public key of csr, as spec says (the subject and
// names come from spec, which the caller derives from the request after checking it), valid for
// validity, and returns it PEM-encoded.
func (ca *CA) SignRequest(csr *x509.CertificateRequest, spec LeafSpec, validity time.Duration) ([]byte, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request signature: %w", err)
	}
	der, err := ca.sign(spec, csr.PublicKey, validity)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func (ca *CA) sign(spec LeafSpec, pub crypto.PublicKey, validity time.Duration) ([]byte, error) {
	if validity == 0 {
		validity = leafValidity
	}
	now := time.Now()
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		DNSNames:     spec.DNSNames,
		IPAddresses:  spec.IPs,
	}
	if _, isRSA := pub.(*rsa.PublicKey); isRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if spec.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if spec.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
}
