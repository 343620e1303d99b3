package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func certFor(t *testing.T, notBefore time.Time, life time.Duration) *tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "system:node:n"},
		NotBefore: notBefore, NotAfter: notBefore.Add(life)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestRenewAt(t *testing.T) {
	c := certFor(t, t0, 100*time.Hour)
	if got := renewAt(c.Leaf); !got.Equal(t0.Add(80 * time.Hour)) {
		t.Errorf("renewAt = +%v, want +80h", got.Sub(t0))
	}
	c = certFor(t, t0, 365*24*time.Hour)
	if got := renewAt(c.Leaf); !got.Equal(t0.Add(292 * 24 * time.Hour)) {
		t.Errorf("renewAt of a one-year certificate = +%v, want +292d", got.Sub(t0))
	}
}

// TestRotate checks the renewal loop on a fake clock: nothing before 80% of the lifetime,
// a renewal at 80%, the next one at 80% of the new certificate's lifetime, and retries with
// back-off after failures.
func TestRotate(t *testing.T) {
	clk := testingclock.NewFakeClock(t0)
	k := newKeyPair(t.TempDir(), "client")
	k.cur.Store(certFor(t, t0, 100*time.Hour))
	renewed := make(chan time.Time, 10)
	var fail atomic.Int32
	renew := func(ctx context.Context) error {
		if fail.Load() > 0 {
			fail.Add(-1)
			renewed <- time.Time{}
			return errors.New("server unavailable")
		}
		now := clk.Now()
		k.cur.Store(certFor(t, now, 10*time.Hour))
		renewed <- now
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		rotate(ctx, clk, k, renew, slog.New(slog.NewTextHandler(io.Discard, nil)), "client")
		close(done)
	}()
	defer func() { cancel(); <-done }()

	step := func(to time.Duration) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !clk.HasWaiters() {
			if time.Now().After(deadline) {
				t.Fatal("the rotation loop is not waiting")
			}
			time.Sleep(time.Millisecond)
		}
		clk.SetTime(t0.Add(to))
	}
	expect := func(what string, want bool) time.Time {
		t.Helper()
		select {
		case at := <-renewed:
			if !want {
				t.Fatalf("%s: renewed at %v", what, at)
			}
			return at
		case <-time.After(100 * time.Millisecond):
			if want {
				t.Fatalf("%s: not renewed", what)
			}
		}
		return time.Time{}
	}
	step(79*time.Hour + 59*time.Minute)
	expect("before 80%", false)
	step(80 * time.Hour)
	if at := expect("at 80%", true); !at.Equal(t0.Add(80 * time.Hour)) {
		t.Errorf("renewed at +%v", at.Sub(t0))
	}
	// The new certificate lasts 10h: its renewal is due at +88h.
	step(87 * time.Hour)
	expect("before 80% of the new one", false)
	fail.Store(2)
	step(88 * time.Hour)
	expect("first attempt (fails)", true)
	step(88*time.Hour + renewRetryMin)
	expect("first retry (fails)", true)
	step(88*time.Hour + renewRetryMin + renewRetryMin)
	expect("before the doubled back-off", false)
	step(88*time.Hour + renewRetryMin + 2*renewRetryMin)
	if at := expect("second retry", true); at.IsZero() {
		t.Errorf("the second retry failed")
	}
}

func TestKeyPairStoreAndLoad(t *testing.T) {
	dir := t.TempDir()
	k := newKeyPair(dir, "client")
	if err := k.load(func(*x509.Certificate) error { return nil }); err == nil {
		t.Fatal("loaded a missing pair")
	}
	c := certFor(t, t0, time.Hour)
	keyDER, _ := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := k.store(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"client.crt", "client.key"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", f, fi, err)
		}
	}
	k2 := newKeyPair(dir, "client")
	refused := errors.New("refused")
	if err := k2.load(func(*x509.Certificate) error { return refused }); !errors.Is(err, refused) || k2.current() != nil {
		t.Errorf("a pair the check refuses: %v, current %v", err, k2.current())
	}
	if err := k2.load(func(*x509.Certificate) error { return nil }); err != nil || k2.leaf().NotAfter != c.Leaf.NotAfter {
		t.Errorf("load: %v", err)
	}
}
