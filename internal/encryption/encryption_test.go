package encryption

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cred", "encryption-config.json")
	k, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	plain := []byte("k8s\x00secret bytes")
	sealed, err := k.TransformToStorage(plain)
	if err != nil || bytes.Contains(sealed, []byte("secret bytes")) || !k.IsCurrent(sealed) {
		t.Fatalf("sealed: %q %v", sealed, err)
	}
	got, stale, err := k.TransformFromStorage(sealed)
	if err != nil || stale || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v %v", got, stale, err)
	}
	// Plaintext is readable and stale.
	got, stale, err = k.TransformFromStorage(plain)
	if err != nil || !stale || !bytes.Equal(got, plain) {
		t.Fatalf("plaintext: %q %v %v", got, stale, err)
	}
	// After a rotation starts, old data opens and is stale; after it finishes, it no longer opens.
	if err := k.StartRotation(); err != nil {
		t.Fatal(err)
	}
	reloaded, err := LoadOrCreate(path)
	if err != nil || len(reloaded.Names()) != 2 || reloaded.Primary() != k.Primary() {
		t.Fatalf("reloaded during rotation: %v %v", reloaded.Names(), err)
	}
	got, stale, err = k.TransformFromStorage(sealed)
	if err != nil || !stale || !bytes.Equal(got, plain) {
		t.Fatalf("old key during rotation: %v %v", stale, err)
	}
	resealed, _ := k.TransformToStorage(plain)
	if err := k.FinishRotation(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.TransformFromStorage(sealed); err == nil {
		t.Fatal("data sealed with a forgotten key opened")
	}
	if got, stale, err := k.TransformFromStorage(resealed); err != nil || stale || !bytes.Equal(got, plain) {
		t.Fatalf("new key: %v %v", stale, err)
	}
	// Tampering is detected.
	resealed[len(resealed)-1] ^= 1
	if _, _, err := k.TransformFromStorage(resealed); err == nil {
		t.Fatal("tampered data opened")
	}
}
