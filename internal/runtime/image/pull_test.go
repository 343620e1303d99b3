package image

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/test/images"
)

func dockerConfigSecret(name string, data []byte) corev1.Secret {
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}
}

func TestPullCredentials(t *testing.T) {
	reg := images.StartRegistry(t, "alice", "s3cret")
	img, err := images.Skiffhost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Push(t, "skiffhost:v1", img)
	legacy := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "legacy"},
		Type:       corev1.SecretTypeDockercfg,
		Data:       map[string][]byte{corev1.DockerConfigKey: []byte(`{"http://` + reg.Host + `":{"auth":"YWxpY2U6czNjcmV0"}}`)},
	}

	for _, tc := range []struct {
		name    string
		secrets []corev1.Secret
		wantErr error
	}{
		{"no credentials", nil, ErrUnauthorized},
		{"wrong password", []corev1.Secret{dockerConfigSecret("wrong", reg.DockerConfigJSON("alice", "guess"))}, ErrUnauthorized},
		{"credentials for another registry", []corev1.Secret{dockerConfigSecret("other", []byte(`{"auths":{"registry.example.com":{"username":"alice","password":"s3cret"}}}`))}, ErrUnauthorized},
		{"dockerconfigjson", []corev1.Secret{dockerConfigSecret("right", reg.DockerConfigJSON("alice", "s3cret"))}, nil},
		{"wrong then right", []corev1.Secret{dockerConfigSecret("wrong", reg.DockerConfigJSON("alice", "guess")), dockerConfigSecret("right", reg.DockerConfigJSON("alice", "s3cret"))}, nil},
		{"legacy dockercfg", []corev1.Secret{legacy}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			got, err := s.Pull(context.Background(), ref, PullOptions{Secrets: tc.secrets})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Pull: err = %v, want %v", err, tc.wantErr)
				}
				t.Logf("error: %v", err)
				if !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "UNAUTHORIZED") {
					t.Errorf("error %q should name the image and the registry's answer", err)
				}
				if n := len(s.List()); n != 0 {
					t.Errorf("store has %d images after a refused pull", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if !slices.Equal(got.Config.Entrypoint, []string{"/skiffhost"}) || !slices.Equal(got.Config.Cmd, []string{"serve"}) {
				t.Errorf("config = %+v", got.Config)
			}
			if !slices.Equal(got.RepoTags, []string{ref}) || len(got.RepoDigests) != 1 || !strings.HasPrefix(got.RepoDigests[0], reg.Host+"/skiffhost@sha256:") {
				t.Errorf("tags %v digests %v", got.RepoTags, got.RepoDigests)
			}
			want, _ := img.ConfigName()
			if got.ID != want.String() {
				t.Errorf("ID = %s, want %s", got.ID, want)
			}
			if byDigest, ok := s.Get(got.RepoDigests[0]); !ok || byDigest.ID != got.ID {
				t.Errorf("Get(%s) = %v, %v", got.RepoDigests[0], byDigest.ID, ok)
			}
		})
	}
}

func TestPullCorruptBlobIsRefused(t *testing.T) {
	reg := images.StartRegistry(t, "", "")
	img := smallImage(t, "corrupt", 3)
	ref := reg.Push(t, "corrupt:v1", img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := layers[1].Digest()
	reg.Corrupt(bad)

	dir := t.TempDir()
	s := openStore(t, dir)
	_, err = s.Pull(context.Background(), ref, PullOptions{})
	if err == nil {
		t.Fatal("Pull of an image with a corrupted blob succeeded")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), bad.String()) {
		t.Errorf("error %q should name the blob %s", err, bad)
	}
	if l := s.List(); len(l) != 0 {
		t.Errorf("List = %v, want nothing", l)
	}
	for _, d := range []string{layersDir, blobsDir, linksDir, s.sess.tmp()} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		if got := listDir(t, d); len(got) != 0 {
			t.Errorf("%s holds %v after a refused pull", d, got)
		}
	}
}

func TestUnpackRefusesWrongDigest(t *testing.T) {
	s := openStore(t, t.TempDir())
	l := mustLayer(t, images.File{Name: "a", Mode: 0o644, Data: []byte("a")})
	diffID, _ := l.DiffID()
	digest, _ := l.Digest()
	wrong := digest
	wrong.Hex = strings.Repeat("0", 64)
	for _, tc := range []struct {
		name   string
		src    layerSource
		errSub string
	}{
		{"blob digest", layerSource{diffID: diffID, digest: wrong, open: l.Compressed}, "does not match its digest"},
		{"diffID", layerSource{diffID: wrong, digest: digest, open: l.Compressed}, "does not match diffID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.unpackLayer(context.Background(), tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Fatalf("unpackLayer: err = %v, want %q", err, tc.errSub)
			}
			if got := listDir(t, filepath.Join(s.dir, layersDir)); len(got) != 0 {
				t.Errorf("layers = %v", got)
			}
			if got := listDir(t, s.sess.tmp()); len(got) != 0 {
				t.Errorf("tmp = %v", got)
			}
		})
	}
}

// gate holds manifest requests until it is opened.
type gate struct {
	next http.RoundTripper
	open chan struct{}
}

func (g gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, "/manifests/") {
		<-g.open
	}
	return g.next.RoundTrip(req)
}

func TestConcurrentPullsShareOneDownload(t *testing.T) {
	reg := images.StartRegistry(t, "", "")
	const nLayers = 3
	ref := reg.Push(t, "shared:v1", smallImage(t, "shared", nLayers))
	before := reg.Count(http.MethodGet, "/blobs/")

	g := gate{next: http.DefaultTransport, open: make(chan struct{})}
	s := openStore(t, t.TempDir(), WithTransport(g))
	const pullers = 4
	var wg sync.WaitGroup
	errs := make([]error, pullers)
	ids := make([]string, pullers)
	for i := range pullers {
		wg.Go(func() {
			img, err := s.Pull(context.Background(), ref, PullOptions{})
			errs[i], ids[i] = err, img.ID
		})
	}
	// Every Pull joins the one in flight (which is held at the manifest) before it goes on.
	for s.pulls.waiting() < pullers {
		runtime.Gosched()
	}
	close(g.open)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Pull %d: %v", i, err)
		}
		if ids[i] != ids[0] {
			t.Errorf("Pull %d gave %s, Pull 0 %s", i, ids[i], ids[0])
		}
	}
	if n := reg.Count(http.MethodGet, "/manifests/"); n != 1 {
		t.Errorf("manifest fetched %d times, want 1", n)
	}
	if n := reg.Count(http.MethodGet, "/blobs/") - before; n != nLayers+1 {
		t.Errorf("blobs fetched %d times, want %d (layers and config once each)", n, nLayers+1)
	}

	// A later pull asks for the manifest again but downloads no layer.
	blobs := reg.Count(http.MethodGet, "/blobs/")
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := reg.Count(http.MethodGet, "/blobs/") - blobs; n > 1 {
		t.Errorf("second pull fetched %d blobs, want at most the config", n)
	}
}

func TestPullSharesLayersBetweenImages(t *testing.T) {
	reg := images.StartRegistry(t, "", "")
	base := mustLayer(t, images.File{Name: "base", Mode: 0o644, Data: []byte("base")})
	a, err := images.Image(v1Config("a"), base, mustLayer(t, images.File{Name: "a", Mode: 0o644, Data: []byte("a")}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := images.Image(v1Config("b"), base, mustLayer(t, images.File{Name: "b", Mode: 0o644, Data: []byte("b")}))
	if err != nil {
		t.Fatal(err)
	}
	refA, refB := reg.Push(t, "a:v1", a), reg.Push(t, "b:v1", b)
	baseDigest, _ := base.Digest()

	dir := t.TempDir()
	s := openStore(t, dir)
	var wg sync.WaitGroup
	for _, ref := range []string{refA, refB} {
		wg.Go(func() {
			if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := os.ReadDir(filepath.Join(dir, layersDir)); len(got) != 3 {
		t.Errorf("layers = %v, want 3", got)
	}
	if n := reg.Count(http.MethodGet, baseDigest.String()); n != 1 {
		t.Errorf("shared layer fetched %d times, want 1", n)
	}
	if err := s.Remove(refA); err != nil {
		t.Fatal(err)
	}
	imgB, _ := s.Get(refB)
	if _, err := s.Rootfs(context.Background(), Image{ID: "sha256:" + strings.Repeat("0", 64)}, t.TempDir()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Rootfs of a missing image: %v", err)
	}
	for _, l := range s.images[imgB.ID].Layers {
		if _, err := s.layerInfo(hexOf(l.DiffID)); err != nil {
			t.Errorf("layer %s of the remaining image is gone: %v", l.DiffID, err)
		}
	}
}

func TestPullNotFound(t *testing.T) {
	reg := images.StartRegistry(t, "", "")
	s := openStore(t, t.TempDir())
	_, err := s.Pull(context.Background(), reg.Host+"/nothing:here", PullOptions{})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}
