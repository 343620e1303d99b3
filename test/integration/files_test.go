package integration

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataDirPermissions checks CIS 1.1.x for the server's files: the data dir is 0700, and
// every private key, the join token, the encryption keys and the admin kubeconfig are 0600.
func TestDataDirPermissions(t *testing.T) {
	fi, err := os.Stat(shared.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir %s is %v, want 0700", shared.DataDir, fi.Mode().Perm())
	}
	secret := func(path string) bool {
		base := filepath.Base(path)
		return strings.HasSuffix(base, ".key") || base == "token" || base == "admin.kubeconfig" ||
			strings.Contains(path, string(filepath.Separator)+"cred"+string(filepath.Separator))
	}
	checked := 0
	err = filepath.WalkDir(shared.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !secret(path) {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		checked++
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: readable by others", path, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 5 {
		t.Errorf("checked only %d secret files", checked)
	}
}
