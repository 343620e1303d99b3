package kubelet

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readVolume returns what a reader of dir sees: each visible path (following links) and its
// contents, without the writer's reserved names.
func readVolume(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(rel string)
	walk = func(rel string) {
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if rel == "" && strings.HasPrefix(e.Name(), "..") {
				continue
			}
			p := filepath.Join(rel, e.Name())
			fi, err := os.Stat(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() {
				walk(p)
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			out[p] = string(b)
		}
	}
	walk("")
	return out
}

func reserved(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func TestAtomicWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	f := func(s string, mode os.FileMode) fileProjection { return fileProjection{Data: []byte(s), Mode: mode} }

	changed, err := writeAtomic(dir, map[string]fileProjection{"a": f("1", 0o644), "sub/b": f("2", 0o600), "sub/c": f("3", 0o644)}, now)
	if err != nil || !changed {
		t.Fatalf("first write: changed %v, err %v", changed, err)
	}
	if diff := cmp.Diff(map[string]string{"a": "1", "sub/b": "2", "sub/c": "3"}, readVolume(t, dir)); diff != "" {
		t.Fatalf("after first write (-want +got):\n%s", diff)
	}
	first, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil || !strings.HasPrefix(first, "..2026_01_02_15_04_05.") {
		t.Fatalf("..data -> %q (%v), want the timestamped directory", first, err)
	}
	for name, want := range map[string]string{"a": "..data/a", "sub": "..data/sub"} {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %q", name, got, err, want)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "sub", "b")); fi.Mode().Perm() != 0o600 {
		t.Errorf("sub/b mode %v, want 0600", fi.Mode().Perm())
	}

	// The same payload again changes nothing.
	changed, err = writeAtomic(dir, map[string]fileProjection{"a": f("1", 0o644), "sub/b": f("2", 0o600), "sub/c": f("3", 0o644)}, now.Add(time.Second))
	if err != nil || changed {
		t.Fatalf("identical write: changed %v, err %v", changed, err)
	}
	if cur, _ := os.Readlink(filepath.Join(dir, "..data")); cur != first {
		t.Fatalf("identical write swapped ..data to %q", cur)
	}

	// An update swaps ..data to a new directory; removed keys disappear, the old directory goes.
	changed, err = writeAtomic(dir, map[string]fileProjection{"a": f("one", 0o644), "d": f("4", 0o400)}, now.Add(time.Minute))
	if err != nil || !changed {
		t.Fatalf("update: changed %v, err %v", changed, err)
	}
	if diff := cmp.Diff(map[string]string{"a": "one", "d": "4"}, readVolume(t, dir)); diff != "" {
		t.Fatalf("after update (-want +got):\n%s", diff)
	}
	second, _ := os.Readlink(filepath.Join(dir, "..data"))
	if second == first || !strings.HasPrefix(second, "..2026_01_02_15_05_05.") {
		t.Errorf("..data -> %q after the update, want a new timestamped directory", second)
	}
	want := []string{"..data", second}
	sort.Strings(want)
	if got := reserved(t, dir); !cmp.Equal(got, want) {
		t.Errorf("reserved names %v, want %v (the old directory and ..data_tmp gone)", got, want)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("sub still there: %v", err)
	}

	// A mode change alone is a change.
	if changed, err := writeAtomic(dir, map[string]fileProjection{"a": f("one", 0o600), "d": f("4", 0o400)}, now.Add(2*time.Minute)); err != nil || !changed {
		t.Fatalf("mode change: changed %v, err %v", changed, err)
	}

	// Everything removed: an empty volume.
	if _, err := writeAtomic(dir, map[string]fileProjection{}, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := readVolume(t, dir); len(got) != 0 {
		t.Errorf("empty payload left %v", got)
	}
}

func TestAtomicWriterRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"/abs", "../up", "a/../../b", "..hidden", "", "a/.."} {
		if _, err := writeAtomic(t.TempDir(), map[string]fileProjection{p: {Data: []byte("x"), Mode: 0o644}}, time.Now()); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}
