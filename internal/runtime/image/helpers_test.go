package image

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-project/skiff/test/images"
)

// testLog logs to the test when -v is given.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func openStore(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, testLog(t), opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// smallImage returns an image of n layers; layer i holds the file "f<i>" with content
// "<tag> layer <i>", so that images with different tags share nothing.
func smallImage(t testing.TB, tag string, n int) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for i := range n {
		l, err := images.Layer(images.File{Name: fmt.Sprintf("f%d", i), Mode: 0o644, Data: fmt.Appendf(nil, "%s layer %d", tag, i)})
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := images.Image(v1.Config{Cmd: []string{"/f0"}, Env: []string{"TAG=" + tag}}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustLayer(t testing.TB, files ...images.File) v1.Layer {
	t.Helper()
	l, err := images.Layer(files...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// importImage writes img as a docker-save tarball tagged ref and imports it.
func importImage(t testing.TB, s *Store, ref string, img v1.Image) Image {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := images.WriteTarball(p, ref, img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := s.Import(context.Background(), f)
	if err != nil {
		t.Fatalf("Import(%s): %v", ref, err)
	}
	if len(got) != 1 {
		t.Fatalf("Import(%s) = %d images, want 1", ref, len(got))
	}
	return got[0]
}

// listDir returns the names in dir (relative, sorted), or nil if it does not exist.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod, trusted xattrs, mount)")
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func v1Config(tag string) v1.Config { return v1.Config{Env: []string{"TAG=" + tag}} }
