package linux

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestDirUsage(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if u, err := DirUsage(ctx, filepath.Join(dir, "missing")); err != nil || u != (DiskUsage{}) {
		t.Fatalf("a missing directory: %+v, %v", u, err)
	}
	empty, err := DirUsage(ctx, dir)
	if err != nil || empty.Inodes != 1 {
		t.Fatalf("an empty directory: %+v, %v", empty, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "a", "b", "big")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	// A hard link counts once; a sparse file counts the blocks it has.
	if err := os.Link(big, filepath.Join(dir, "a", "link")); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	u, err := DirUsage(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if u.Inodes != 5 {
		t.Errorf("inodes %d, want 5 (3 directories, 2 files)", u.Inodes)
	}
	if u.Bytes < 1<<20 || u.Bytes > 1<<20+64<<10 {
		t.Errorf("bytes %d, want 1 MiB and the directories' blocks", u.Bytes)
	}
}
