package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/skiff-project/skiff/test/images"
)

func TestImportListRemoveRestart(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	img := smallImage(t, "app", 2)
	got := importImage(t, s, "busybox:latest", img)

	want, _ := img.ConfigName()
	if got.ID != want.String() {
		t.Errorf("ID = %s, want %s", got.ID, want)
	}
	if !slices.Equal(got.RepoTags, []string{"docker.io/library/busybox:latest"}) {
		t.Errorf("RepoTags = %v", got.RepoTags)
	}
	if got.Size != int64(len("app layer 0")+len("app layer 1")) {
		t.Errorf("Size = %d", got.Size)
	}
	for _, name := range []string{"busybox", "busybox:latest", "docker.io/library/busybox", "index.docker.io/library/busybox:latest", got.ID, hexOf(got.ID), hexOf(got.ID)[:12]} {
		if g, ok := s.Get(name); !ok || g.ID != got.ID {
			t.Errorf("Get(%q) = %s, %v; want %s", name, g.ID, ok, got.ID)
		}
	}
	for _, name := range []string{"busybox:1.36", "alpine", "sha256:" + strings.Repeat("0", 64), "abc"} {
		if _, ok := s.Get(name); ok {
			t.Errorf("Get(%q) found an image", name)
		}
	}
	if l := s.List(); len(l) != 1 || l[0].ID != got.ID {
		t.Fatalf("List = %+v", l)
	}

	// A second tag for the same image, then untag it: the image stays.
	importImage(t, s, "example.com/team/app:v1", img)
	if g, _ := s.Get("busybox"); len(g.RepoTags) != 2 {
		t.Fatalf("RepoTags after a second import = %v", g.RepoTags)
	}
	release := s.Use(got.ID)
	if err := s.Remove("example.com/team/app:v1"); err != nil {
		t.Fatalf("Remove of one of two tags while in use: %v", err)
	}
	if _, ok := s.Get("example.com/team/app:v1"); ok {
		t.Error("the removed tag still names the image")
	}

	// Deleting the image is refused while it is in use, in this process and in another.
	err := s.Remove("busybox")
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "busybox") {
		t.Fatalf("Remove while in use: err = %v, want ErrInUse naming the image", err)
	}
	other := openStore(t, dir)
	if err := other.Remove(got.ID); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove from another Store while in use: err = %v, want ErrInUse", err)
	}
	if l := other.List(); len(l) != 1 {
		t.Fatalf("another Store lists %d images", len(l))
	}
	release()
	release() // idempotent

	// Restart: a new Store on the same directory sees the same images.
	s.Close()
	other.Close()
	s = openStore(t, dir)
	l := s.List()
	if len(l) != 1 || l[0].ID != got.ID || !slices.Equal(l[0].RepoTags, got.RepoTags) || l[0].Size != got.Size {
		t.Fatalf("after restart: List = %+v", l)
	}
	if !slices.Equal(l[0].Config.Env, []string{"TAG=app"}) {
		t.Errorf("after restart: Config = %+v", l[0].Config)
	}

	if err := s.Remove("busybox"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("busybox"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of a missing image: %v, want ErrNotFound", err)
	}
	if len(s.List()) != 0 {
		t.Error("image still listed after Remove")
	}
	for _, d := range []string{layersDir, blobsDir, linksDir} {
		if got := listDir(t, filepath.Join(dir, d)); len(got) != 0 {
			t.Errorf("%s holds %v after the last image went", d, got)
		}
	}
}

func TestImportIntoAnotherProcessIsSeen(t *testing.T) {
	dir := t.TempDir()
	agent := openStore(t, dir)
	if len(agent.List()) != 0 {
		t.Fatal("new store not empty")
	}
	cli := openStore(t, dir)
	img := importImage(t, cli, "example.com/app:v1", smallImage(t, "cli", 1))
	if g, ok := agent.Get("example.com/app:v1"); !ok || g.ID != img.ID {
		t.Fatalf("the agent's Store does not see an image another imported: %v %v", g.ID, ok)
	}
}

func TestTagMovesToTheNewImage(t *testing.T) {
	s := openStore(t, t.TempDir())
	old := importImage(t, s, "example.com/app:v1", smallImage(t, "old", 1))
	cur := importImage(t, s, "example.com/app:v1", smallImage(t, "new", 1))
	if g, _ := s.Get("example.com/app:v1"); g.ID != cur.ID {
		t.Fatalf("tag names %s, want the newer %s", g.ID, cur.ID)
	}
	g, ok := s.Get(old.ID)
	if !ok || len(g.RepoTags) != 0 {
		t.Fatalf("old image: %+v %v; want it kept, untagged", g, ok)
	}
	if l := s.List(); len(l) != 2 || l[1].ID != old.ID {
		t.Errorf("List should show the untagged image last: %+v", l)
	}
}

func TestOpenRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	kept := importImage(t, s, "example.com/kept:v1", smallImage(t, "kept", 1))
	s.Close()

	// A crash mid-pull: a dead session with a half-unpacked layer; a crash between
	// unpacking and recording: a layer and blob nobody refers to.
	dead := filepath.Join(dir, sessionsDir, "deadbeef")
	for _, p := range []string{filepath.Join(dead, sessionTmp, "layer-x", layerFS, "half")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dead, sessionLock), nil, 0o600)
	orphan := strings.Repeat("ab", 32)
	os.MkdirAll(filepath.Join(dir, layersDir, orphan, layerFS), 0o755)
	os.WriteFile(filepath.Join(dir, blobsDir, orphan), []byte("{}"), 0o600)
	os.Symlink("../layers/"+orphan+"/fs", filepath.Join(dir, linksDir, orphan[:12]))

	s = openStore(t, dir)
	if _, err := os.Stat(dead); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dead session still there: %v", err)
	}
	for _, p := range []string{filepath.Join(layersDir, orphan), filepath.Join(blobsDir, orphan), filepath.Join(linksDir, orphan[:12])} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if g, ok := s.Get(kept.ID); !ok || !slices.Equal(g.RepoTags, kept.RepoTags) {
		t.Errorf("kept image lost: %+v", g)
	}
	for _, l := range s.images[kept.ID].Layers {
		if _, err := s.shortLink(hexOf(l.DiffID), false); err != nil {
			t.Errorf("kept image's layer: %v", err)
		}
	}
}

func TestOpenLeavesALiveSessionAlone(t *testing.T) {
	dir := t.TempDir()
	a := openStore(t, dir)
	work := filepath.Join(a.sess.tmp(), "in-progress")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	orphan := strings.Repeat("cd", 32) // maybe a's unpacked layer, not yet recorded
	os.MkdirAll(filepath.Join(dir, layersDir, orphan, layerFS), 0o755)
	openStore(t, dir)
	for _, p := range []string{work, filepath.Join(dir, layersDir, orphan)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed while its owner is alive: %v", p, err)
		}
	}
}

// ociTarball writes img as an OCI image layout tarball with the given index annotations.
func ociTarball(t *testing.T, annotations map[string]string) (string, string) {
	t.Helper()
	img := smallImage(t, "oci", 2)
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fi, _ := d.Info()
		hdr, _ := tar.FileInfoHeader(fi, "")
		hdr.Name = rel
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(path)
			tw.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	out := filepath.Join(t.TempDir(), "oci.tar")
	os.WriteFile(out, buf.Bytes(), 0o644)
	id, _ := img.ConfigName()
	return out, id.String()
}

func TestImportOCILayout(t *testing.T) {
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		wantTags    []string
	}{
		{"containerd name", map[string]string{annotationContainerdName: "registry.example.com/oci:v2", annotationRefName: "v2"}, []string{"registry.example.com/oci:v2"}},
		{"full ref.name", map[string]string{annotationRefName: "oci:v3"}, []string{"docker.io/library/oci:v3"}},
		{"bare tag", map[string]string{annotationRefName: "v4"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, id := ociTarball(t, tc.annotations)
			s := openStore(t, t.TempDir())
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Through a plain reader, so that the store spools it.
			got, err := s.Import(context.Background(), io.MultiReader(f))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ID != id || !slices.Equal(got[0].RepoTags, tc.wantTags) {
				t.Fatalf("Import = %+v, want %s tagged %v", got, id, tc.wantTags)
			}
			if len(tc.wantTags) > 0 && (len(got[0].RepoDigests) != 1 || !strings.Contains(got[0].RepoDigests[0], "@sha256:")) {
				t.Errorf("RepoDigests = %v", got[0].RepoDigests)
			}
		})
	}
}

func TestImportCompressedTarball(t *testing.T) {
	img := smallImage(t, "gz", 1)
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := images.WriteTarball(p, "example.com/gz:v1", img); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	gz := p + ".gz"
	os.WriteFile(gz, buf.Bytes(), 0o644)
	f, _ := os.Open(gz)
	defer f.Close()
	s := openStore(t, t.TempDir())
	got, err := s.Import(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !slices.Equal(got[0].RepoTags, []string{"example.com/gz:v1"}) {
		t.Errorf("Import = %+v", got)
	}
}

func TestImportRejectsWhatIsNotAnImage(t *testing.T) {
	s := openStore(t, t.TempDir())
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi"))
	tw.Close()
	for name, in := range map[string][]byte{"a tar of something else": buf.Bytes(), "not a tar": []byte("hello, world\n")} {
		if _, err := s.Import(context.Background(), bytes.NewReader(in)); err == nil {
			t.Errorf("%s: Import succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestImportRefusesALayerThatDoesNotMatchItsDiffID(t *testing.T) {
	img := smallImage(t, "liar", 1)
	// The config claims the diffID of another layer.
	other := mustLayer(t)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs[0], _ = other.DiffID()
	liar, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := openStore(t, dir)
	p := filepath.Join(t.TempDir(), "liar.tar")
	if err := images.WriteTarball(p, "example.com/liar:v1", liar); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	_, err = s.Import(context.Background(), f)
	if err == nil || !strings.Contains(err.Error(), "does not match diffID") {
		t.Fatalf("Import: err = %v, want a diffID mismatch", err)
	}
	if got := listDir(t, filepath.Join(dir, layersDir)); len(got) != 0 {
		t.Errorf("layers = %v", got)
	}
}
