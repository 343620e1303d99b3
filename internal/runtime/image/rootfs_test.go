package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-project/skiff/test/images"
)

// mountRootfs mounts img's rootfs in a container directory with a path as long as the
// agent's (pods/<uid>/containers/<name>/<attempt>), released at the end of the test.
func mountRootfs(t *testing.T, s *Store, img Image) (dir, rootfs string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "pods", "0b6c1f6e-3d55-4a8e-9f1e-7a4c2a9d5e11", "containers", "a-rather-long-container-name", "0")
	rootfs, err := s.Rootfs(context.Background(), img, dir)
	if err != nil {
		t.Fatalf("Rootfs: %v", err)
	}
	t.Cleanup(func() { s.ReleaseRootfs(dir) })
	return dir, rootfs
}

func TestRootfsMergesLayers(t *testing.T) {
	requireRoot(t)
	img, err := images.Image(v1.Config{},
		mustLayer(t,
			images.File{Name: "etc/", Mode: 0o755},
			images.File{Name: "etc/keep", Mode: 0o644, Data: []byte("keep")},
			images.File{Name: "etc/deleted", Mode: 0o644, Data: []byte("deleted")},
			images.File{Name: "opaque/", Mode: 0o755},
			images.File{Name: "opaque/old", Mode: 0o644, Data: []byte("old")},
			images.File{Name: "changed", Mode: 0o644, Data: []byte("v1")},
		),
		mustLayer(t,
			images.File{Name: "etc/.wh.deleted", Mode: 0o644},
			images.File{Name: "opaque/", Mode: 0o755},
			images.File{Name: "opaque/.wh..wh..opq", Mode: 0o644},
			images.File{Name: "opaque/new", Mode: 0o644, Data: []byte("new")},
		),
		mustLayer(t,
			images.File{Name: "changed", Mode: 0o644, Data: []byte("v3")},
			images.File{Name: "top", Mode: 0o644, Data: []byte("top")},
		),
	)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir())
	got := importImage(t, s, "example.com/three:v1", img)
	release := s.Use(got.ID)
	defer release()

	dir, rootfs := mountRootfs(t, s, got)
	if rootfs != filepath.Join(dir, "rootfs") {
		t.Errorf("rootfs = %s", rootfs)
	}
	for p, want := range map[string]string{"etc/keep": "keep", "changed": "v3", "top": "top", "opaque/new": "new"} {
		if b, err := os.ReadFile(filepath.Join(rootfs, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	for _, p := range []string{"etc/deleted", "opaque/old"} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is visible: %v", p, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(rootfs, "opaque")); len(entries) != 1 {
		t.Errorf("opaque/ holds %v, want only new", entries)
	}

	// Writes land in the container's upper directory, never in the shared layers.
	if err := os.WriteFile(filepath.Join(rootfs, "etc/keep"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "upper/etc/keep")); string(b) != "mine" {
		t.Errorf("upper/etc/keep = %q", b)
	}
	again, err := s.Rootfs(context.Background(), got, dir)
	if err != nil || again != rootfs {
		t.Fatalf("Rootfs again = %s, %v", again, err)
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs, "etc/keep")); string(b) != "mine" {
		t.Errorf("a second Rootfs remounted: etc/keep = %q", b)
	}

	// A second container of the same image sees the image, not the first one's writes.
	_, rootfs2 := mountRootfs(t, s, got)
	if b, _ := os.ReadFile(filepath.Join(rootfs2, "etc/keep")); string(b) != "keep" {
		t.Errorf("second container: etc/keep = %q", b)
	}

	if err := s.ReleaseRootfs(dir); err != nil {
		t.Fatal(err)
	}
	if mounted, _ := isMountPoint(rootfs); mounted {
		t.Error("still mounted after ReleaseRootfs")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("container dir still there: %v", err)
	}
	if err := s.ReleaseRootfs(dir); err != nil {
		t.Errorf("ReleaseRootfs of a released dir: %v", err)
	}
}

func TestRootfsSixtyLayers(t *testing.T) {
	requireRoot(t)
	const n = 60
	var layers []v1.Layer
	for i := range n {
		layers = append(layers, mustLayer(t,
			images.File{Name: fmt.Sprintf("l%02d", i), Mode: 0o644, Data: fmt.Appendf(nil, "%d", i)},
			images.File{Name: "which", Mode: 0o644, Data: fmt.Appendf(nil, "%d", i)},
		))
	}
	img, err := images.Image(v1.Config{}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	// A store path as long as a real agent's, to show it does not count against the limit.
	storeDir := filepath.Join(t.TempDir(), strings.Repeat("long-data-dir/", 8), "images")
	s := openStore(t, storeDir)
	got := importImage(t, s, "example.com/sixty:v1", img)
	defer s.Use(got.ID)()
	_, rootfs := mountRootfs(t, s, got)
	for i := range n {
		if b, err := os.ReadFile(filepath.Join(rootfs, fmt.Sprintf("l%02d", i))); err != nil || string(b) != fmt.Sprint(i) {
			t.Fatalf("l%02d = %q, %v", i, b, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(rootfs, "which")); string(b) != fmt.Sprint(n-1) {
		t.Errorf("which = %q: the top layer should win", b)
	}
}

func TestRootfsRepeatedLayer(t *testing.T) {
	requireRoot(t)
	a := mustLayer(t, images.File{Name: "f", Mode: 0o644, Data: []byte("a")})
	b := mustLayer(t, images.File{Name: "f", Mode: 0o644, Data: []byte("b")}, images.File{Name: "onlyb", Mode: 0o644, Data: []byte("b")})
	img, err := images.Image(v1.Config{}, a, b, a)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir())
	got := importImage(t, s, "example.com/repeat:v1", img)
	_, rootfs := mountRootfs(t, s, got)
	for p, want := range map[string]string{"f": "a", "onlyb": "b"} {
		if b, err := os.ReadFile(filepath.Join(rootfs, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
}

func TestRootfsEmptyImage(t *testing.T) {
	requireRoot(t)
	img, err := images.Image(v1.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir())
	got := importImage(t, s, "example.com/empty:v1", img)
	_, rootfs := mountRootfs(t, s, got)
	if entries, err := os.ReadDir(rootfs); err != nil || len(entries) != 0 {
		t.Errorf("rootfs of an empty image: %v, %v", entries, err)
	}
}

func TestRootfsOfBusybox(t *testing.T) {
	requireRoot(t)
	img, err := images.Busybox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir())
	got := importImage(t, s, "busybox:latest", img)
	if !slices.Equal(got.Config.Cmd, []string{"sh"}) {
		t.Errorf("Cmd = %v", got.Config.Cmd)
	}
	_, rootfs := mountRootfs(t, s, got)
	for _, p := range []string{"bin/sh", "bin/wget", "bin/tar", "etc/passwd"} {
		if _, err := os.Stat(filepath.Join(rootfs, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	fi, err := os.Stat(filepath.Join(rootfs, "tmp"))
	if err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("tmp: %v %v, want 1777", fi.Mode(), err)
	}
}
