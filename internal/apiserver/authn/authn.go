// Package authn identifies the caller of an API request. A Chain tries, in order:
//
//  1. an x509 client certificate that verifies against the cluster CA (for client auth): the
//     subject's CommonName is the user and its Organizations the groups;
//  2. the request's bearer token, offered to each TokenAuthenticator in turn: the static token
//     file (--token-auth-file), the join token of agents and simulators, and service account
//     tokens. OIDC or webhook token authenticators plug in here the same way.
//
// Every authenticated user is also in system:authenticated. A request that presents credentials
// that fail (a certificate from another CA, an expired certificate, a token no authenticator
// accepts) is refused: the chain reports it as failed, and the API server answers 401, as
// upstream does; a request with no credentials is anonymous.
package authn

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/skiff-project/skiff/internal/apiserver"
)

// CredentialIDKey is the user extra that identifies the credential used, as upstream's
// (X509SHA256=<hex digest> for client certificates).
const CredentialIDKey = "authentication.kubernetes.io/credential-id"

// AllAuthenticated is the group of every authenticated user.
const AllAuthenticated = "system:authenticated"

// TokenAuthenticator authenticates bearer tokens. ok is false for a token it does not know.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (u apiserver.User, ok bool)
}

// TokenFunc adapts a function to TokenAuthenticator.
type TokenFunc func(ctx context.Context, token string) (apiserver.User, bool)

// AuthenticateToken calls f.
func (f TokenFunc) AuthenticateToken(ctx context.Context, token string) (apiserver.User, bool) {
	return f(ctx, token)
}

// Chain authenticates requests by client certificate, then bearer token.
type Chain struct {
	// ClientCAs verify client certificates; nil accepts none.
	ClientCAs *x509.CertPool
	// Tokens are asked in order.
	Tokens []TokenAuthenticator
}

// Authenticate identifies r's caller.
func (c *Chain) Authenticate(r *http.Request) (apiserver.User, apiserver.AuthResult) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		u, err := c.verifyCertificate(r.TLS.PeerCertificates)
		if err != nil {
			return apiserver.User{}, apiserver.AuthFailed
		}
		return u, apiserver.Authenticated
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return apiserver.User{}, apiserver.Anonymous
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return apiserver.User{}, apiserver.AuthFailed
	}
	token = strings.TrimSpace(token)
	for _, t := range c.Tokens {
		if u, ok := t.AuthenticateToken(r.Context(), token); ok {
			return withAuthenticated(u), apiserver.Authenticated
		}
	}
	return apiserver.User{}, apiserver.AuthFailed
}

func (c *Chain) verifyCertificate(chain []*x509.Certificate) (apiserver.User, error) {
	if c.ClientCAs == nil {
		return apiserver.User{}, errors.New("no client certificate authority")
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	leaf := chain[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.ClientCAs, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return apiserver.User{}, err
	}
	if leaf.Subject.CommonName == "" {
		return apiserver.User{}, errors.New("client certificate has no common name")
	}
	sum := sha256.Sum256(leaf.Raw)
	return withAuthenticated(apiserver.User{Name: leaf.Subject.CommonName, Groups: slices.Clone(leaf.Subject.Organization),
		Extra: map[string][]string{CredentialIDKey: {"X509SHA256=" + hex.EncodeToString(sum[:])}}}), nil
}

func withAuthenticated(u apiserver.User) apiserver.User {
	if !slices.Contains(u.Groups, AllAuthenticated) {
		u.Groups = append(slices.Clone(u.Groups), AllAuthenticated)
	}
	return u
}

// StaticTokens are the tokens of a token file.
type StaticTokens map[string]apiserver.User

// AuthenticateToken looks the token up.
func (s StaticTokens) AuthenticateToken(_ context.Context, token string) (apiserver.User, bool) {
	u, ok := s[token]
	return u, ok
}

// LoadStaticTokens reads a token file in Kubernetes' CSV format: token,user,uid[,"group1,group2"],
// one per line; lines starting with # are comments. Errors name the file and the line.
func LoadStaticTokens(path string) (StaticTokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	return parseStaticTokens(path, f)
}

func parseStaticTokens(path string, r io.Reader) (StaticTokens, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	out := StaticTokens{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("token file %s: %w", path, err)
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("token file %s, line %d: want at least 3 columns (token,user,uid), got %d", path, line, len(rec))
		}
		token, name, uid := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
		if token == "" || name == "" {
			return nil, fmt.Errorf("token file %s, line %d: token and user name must not be empty", path, line)
		}
		if _, dup := out[token]; dup {
			return nil, fmt.Errorf("token file %s, line %d: duplicate token", path, line)
		}
		u := apiserver.User{Name: name, UID: uid}
		if len(rec) > 3 {
			for _, g := range strings.Split(rec[3], ",") {
				if g = strings.TrimSpace(g); g != "" {
					u.Groups = append(u.Groups, g)
				}
			}
		}
		out[token] = u
	}
}
