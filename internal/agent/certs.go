package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/connrotation"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/csr"
	"github.com/skiff-project/skiff/internal/version"
)

// renewFraction is how much of a certificate's lifetime passes before the agent renews it.
const renewFraction = 0.8

// Back-off between failed renewals.
const (
	renewRetryMin = 10 * time.Second
	renewRetryMax = 5 * time.Minute
)

// csrTimeout bounds the wait for a CertificateSigningRequest to be approved and issued.
const csrTimeout = 2 * time.Minute

// renewAt is when a certificate is renewed: once 80% of its lifetime has passed.
func renewAt(leaf *x509.Certificate) time.Time {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotBefore.Add(time.Duration(float64(life) * renewFraction))
}

// keyPair is a certificate and key kept as two files under pki/ (0600 both).
type keyPair struct {
	certPath, keyPath string
	cur               atomic.Pointer[tls.Certificate]
}

func newKeyPair(dir, name string) *keyPair {
	return &keyPair{certPath: filepath.Join(dir, name+".crt"), keyPath: filepath.Join(dir, name+".key")}
}

// current returns the certificate in use (nil before there is one).
func (k *keyPair) current() *tls.Certificate { return k.cur.Load() }

func (k *keyPair) leaf() *x509.Certificate {
	if c := k.cur.Load(); c != nil {
		return c.Leaf
	}
	return nil
}

// load reads the pair from disk and checks it with check; it becomes current if it passes.
func (k *keyPair) load(check func(*x509.Certificate) error) error {
	c, err := tls.LoadX509KeyPair(k.certPath, k.keyPath)
	if err != nil {
		return err
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return err
		}
	}
	if err := check(c.Leaf); err != nil {
		return err
	}
	k.cur.Store(&c)
	return nil
}

// store writes a new pair (key first, each atomically, mode 0600) and makes it current.
func (k *keyPair) store(certPEM, keyPEM []byte) error {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return err
		}
	}
	if err := writeFile0600(k.keyPath, keyPEM); err != nil {
		return err
	}
	if err := writeFile0600(k.certPath, certPEM); err != nil {
		return err
	}
	k.cur.Store(&c)
	return nil
}

func writeFile0600(p string, b []byte) error {
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// checkCert checks that leaf was issued by the CA in pool for usage, names cn, and is valid at
// now.
func checkCert(leaf *x509.Certificate, pool *x509.CertPool, cn string, usage x509.ExtKeyUsage, now time.Time) error {
	if leaf.Subject.CommonName != cn {
		return fmt.Errorf("certificate is for %q, not %q", leaf.Subject.CommonName, cn)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return err
	}
	return nil
}

// rotate renews the certificate of k once 80% of its lifetime has passed, again and again,
// until ctx ends; renew obtains and stores the new one. Failures are retried with back-off.
func rotate(ctx context.Context, clk clock.WithTicker, k *keyPair, renew func(context.Context) error, log *slog.Logger, what string) {
	retry := time.Duration(0)
	for {
		leaf := k.leaf()
		wait := time.Duration(0)
		if leaf != nil {
			wait = renewAt(leaf).Sub(clk.Now())
		}
		if retry > 0 {
			wait = retry
		}
		if wait > 0 {
			t := clk.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
		if err := renew(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			retry = min(max(2*retry, renewRetryMin), renewRetryMax)
			log.Warn("certificate renewal failed; will retry", "certificate", what, "retry-in", retry, "err", err)
			continue
		}
		retry = 0
		log.Info("certificate renewed", "certificate", what, "expires", k.leaf().NotAfter.Format(time.RFC3339), "renew-at", renewAt(k.leaf()).Format(time.RFC3339))
	}
}

// obtain posts a CertificateSigningRequest with client and stores the issued pair in k.
func obtain(ctx context.Context, client kubernetes.Interface, k *keyPair, r csr.Request) error {
	ctx, cancel := context.WithTimeout(ctx, csrTimeout)
	defer cancel()
	certPEM, keyPEM, err := csr.Obtain(ctx, client, "", r)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w (are the server's CSR approving and signing controllers running?)", err)
		}
		return err
	}
	return k.store(certPEM, keyPEM)
}

// clientTransport is the agent's HTTPS transport to the API server: it trusts the cluster CA,
// presents the client certificate current at each handshake, and can close every connection
// so that the next ones use a renewed certificate.
type clientTransport struct {
	rt     http.RoundTripper
	dialer *connrotation.Dialer
}

func newClientTransport(caPool *x509.CertPool, cert *keyPair) *clientTransport {
	dialer := connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	t := utilnet.SetTransportDefaults(&http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs:    caPool,
			MinVersion: tls.VersionTLS12,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				if c := cert.current(); c != nil {
					return c, nil
				}
				return &tls.Certificate{}, nil
			},
		},
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 25,
		IdleConnTimeout:     90 * time.Second,
	})
	return &clientTransport{rt: t, dialer: dialer}
}

// restConfig is a client configuration of the agent's identity for server.
func (t *clientTransport) restConfig(server string) *rest.Config {
	c := &rest.Config{Host: server, Transport: t.rt, QPS: 50, Burst: 100, UserAgent: "skiff-agent/" + version.Skiff}
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return c
}

// existsAt reports whether p exists.
func existsAt(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}
