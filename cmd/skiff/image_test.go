package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-project/skiff/test/images"
)

// runSkiff runs the skiff command line in-process and returns its stdout and stderr.
func runSkiff(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestImageCommands(t *testing.T) {
	dataDir := t.TempDir()
	layer, err := images.Layer(images.File{Name: "hello", Mode: 0o644, Data: []byte("hello, world")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := images.Image(v1.Config{Cmd: []string{"/hello"}}, layer)
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "hello.tar")
	if err := images.WriteTarball(tarball, "example.com/hello:v1", img); err != nil {
		t.Fatal(err)
	}
	id, _ := img.ConfigName()

	out, _, err := runSkiff(t, "image", "import", "--data-dir", dataDir, tarball)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if want := "Imported example.com/hello:v1 (" + id.String() + ")"; !strings.Contains(out, want) {
		t.Errorf("import printed %q, want %q", out, want)
	}

	out, _, err = runSkiff(t, "image", "ls", "--data-dir", dataDir)
	if err != nil {
		t.Fatalf("ls: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("ls printed %q", out)
	}
	if fields := strings.Fields(lines[0]); strings.Join(fields, " ") != "IMAGE TAG IMAGE ID SIZE" {
		t.Errorf("header %q", lines[0])
	}
	row := regexp.MustCompile(`^example\.com/hello +v1 +` + id.Hex[:13] + ` +12B$`)
	if !row.MatchString(lines[1]) {
		t.Errorf("row %q does not match %s", lines[1], row)
	}
	out, _, _ = runSkiff(t, "image", "ls", "-q", "--data-dir", dataDir)
	if strings.TrimSpace(out) != id.String() {
		t.Errorf("ls -q printed %q", out)
	}

	// Errors name what they are about.
	_, _, err = runSkiff(t, "image", "import", "--data-dir", dataDir, "/nonexistent/image.tar")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/image.tar") {
		t.Errorf("import of a missing file: %v", err)
	}
	notImage := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notImage, []byte("not a tarball"), 0o644)
	_, _, err = runSkiff(t, "image", "import", "--data-dir", dataDir, notImage)
	if err == nil || !strings.Contains(err.Error(), notImage) {
		t.Errorf("import of a file that is not an image: %v", err)
	}
	_, stderr, err := runSkiff(t, "image", "rm", "--data-dir", dataDir, "example.com/nothing:v1")
	if err == nil || !strings.Contains(stderr, "example.com/nothing:v1") || !strings.Contains(stderr, "not found") {
		t.Errorf("rm of a missing image: %v, stderr %q", err, stderr)
	}

	out, _, err = runSkiff(t, "image", "rm", "--data-dir", dataDir, "example.com/hello:v1")
	if err != nil || !strings.Contains(out, "Removed: example.com/hello:v1") {
		t.Fatalf("rm: %v, %q", err, out)
	}
	out, _, _ = runSkiff(t, "image", "ls", "--data-dir", dataDir)
	if strings.Contains(out, "hello") {
		t.Errorf("ls after rm: %q", out)
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 2_220_000: "2.22MB", 5_678_901_234: "5.68GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
