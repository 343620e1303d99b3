package pki

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// HashPEM is the hex SHA-256 of a PEM certificate, as a join token carries its CA's.
func HashPEM(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ServerCA connects to server (https://host:port) and returns, as PEM, the certificate of the
// chain it presents whose hash the token names: the cluster CA, found before anything (the
// token included) is sent to the server. A server that does not present it is refused.
func ServerCA(ctx context.Context, server string, tok Token) ([]byte, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("server %q: want https://HOST:PORT", server)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(strings.Trim(u.Hostname(), "[]"), "443")
	}
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", server, err)
	}
	defer conn.Close()
	for _, c := range conn.(*tls.Conn).ConnectionState().PeerCertificates {
		p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		if HashPEM(p) == tok.CAHash {
			return p, nil
		}
	}
	return nil, fmt.Errorf("server %s does not present the CA of the join token", server)
}
