package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// Errors a caller can test for with errors.Is.
var (
	// ErrNotFound: the store has no image by that name, or the registry has none.
	ErrNotFound = errors.New("image not found")
	// ErrUnauthorized: the registry refused the credentials (or their absence).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrInUse: the image is used by a container, so it cannot be deleted.
	ErrInUse = errors.New("image is in use by a container")
)

// Image is an image in the store.
type Image struct {
	// ID is "sha256:<hex>", the digest of the image's config.
	ID string
	// RepoTags are the references that name the image, canonical
	// ("docker.io/library/busybox:latest"). A tag names one image at a time.
	RepoTags []string
	// RepoDigests are "repository@sha256:..." of the manifests (or indexes) the image was
	// pulled or imported by.
	RepoDigests []string
	// Size is the unpacked size of the image's layers in bytes (regular-file content).
	Size int64
	// Config is the image's runtime configuration: Entrypoint, Cmd, User, WorkingDir, Env,
	// StopSignal, ExposedPorts, Volumes, Labels.
	Config v1.Config
	// LastUsed is when the image was last pulled, imported, or used or released by a container.
	LastUsed time.Time
}

// PullOptions are the per-pull settings of Pull.
type PullOptions struct {
	// Secrets are the pod's imagePullSecrets. Secrets of type kubernetes.io/dockerconfigjson
	// and kubernetes.io/dockercfg give a login per registry (matched as the kubelet does:
	// host globs, port, path prefix; the most specific first, each tried until one is
	// accepted). Without a matching login the pull is anonymous.
	Secrets []corev1.Secret
}

// Store is a node's content-addressed image store in a directory. Its methods are safe
// for concurrent use, and several processes may open the same directory: the agent and
// `skiff image` commands coordinate through file locks (see the package documentation).
type Store struct {
	dir       string
	log       *slog.Logger
	now       func() time.Time
	usage     UsageFunc
	minAge    time.Duration
	transport http.RoundTripper
	platform  v1.Platform

	ctx    context.Context // ends at Close; pulls run under it
	cancel context.CancelFunc

	lockFile *os.File   // flock on <dir>/lock serialises state changes between processes
	stateMu  sync.Mutex // serialises this process's holders of lockFile
	sess     *session

	mu       sync.Mutex
	images   map[string]*record // by ID; records are never modified, only replaced
	loadedAs fileIdentity
	inUse    map[string]int // image ID -> containers of this process using it
	pins     map[string]int // layer diffID hex -> installs of this process needing it

	pulls  flightGroup[Image]
	layers flightGroup[int64]
}

// UsageFunc reports the used and total bytes of the filesystem holding path.
type UsageFunc func(path string) (used, total uint64, err error)

// Option configures Open.
type Option func(*Store)

// WithUsageFunc replaces the statfs(2)-based filesystem usage that GC measures, for tests.
func WithUsageFunc(f UsageFunc) Option { return func(s *Store) { s.usage = f } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithGCMinAge sets how long an image must have gone unused before GC may delete it
// (the kubelet's --image-minimum-gc-age, default 2 minutes), so that an image pulled for
// a container about to start is not collected in between.
func WithGCMinAge(d time.Duration) Option { return func(s *Store) { s.minAge = d } }

// WithTransport replaces the HTTP transport used to reach registries. The store still
// refuses plain HTTP to registries that are not on a loopback address.
func WithTransport(rt http.RoundTripper) Option { return func(s *Store) { s.transport = rt } }

// Layout of the store directory.
const (
	stateFile = "images.json"
	lockName  = "lock"
	blobsDir  = "blobs/sha256"
	layersDir = "layers"
	linksDir  = "l"
	emptyDir  = "empty"
	layerFS   = "fs"
	layerMeta = "layer.json"
)

// Open opens (creating if needed) the store in dir. It reopens whatever a previous process
// left: the images it recorded stay, work in progress of processes that are gone is
// removed, and, when no other process has the store open, so are layers and blobs that
// no image refers to (a crash between unpacking and recording leaves those). Close the
// store when done.
func Open(dir string, log *slog.Logger, opts ...Option) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		dir:      abs,
		log:      log,
		now:      time.Now,
		usage:    statfsUsage,
		minAge:   2 * time.Minute,
		platform: v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH},
		images:   map[string]*record{},
		inUse:    map[string]int{},
		pins:     map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.transport == nil {
		s.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	s.transport = httpsUnlessLoopback{s.transport}
	for _, d := range []string{blobsDir, layersDir, linksDir, emptyDir, sessionsDir} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o700); err != nil {
			return nil, fmt.Errorf("image store %s: %w", abs, err)
		}
	}
	if err := os.Chmod(filepath.Join(abs, emptyDir), 0o755); err != nil {
		return nil, err
	}
	s.lockFile, err = os.OpenFile(filepath.Join(abs, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image store %s: %w", abs, err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	err = s.locked(func() error {
		s.sess, err = newSession(abs)
		if err != nil {
			return err
		}
		return s.recover()
	})
	if err != nil {
		s.cancel()
		if s.sess != nil {
			_ = s.sess.close()
		}
		s.lockFile.Close()
		return nil, fmt.Errorf("image store %s: %w", abs, err)
	}
	return s, nil
}

// Close cancels pulls in progress, waits for them, and gives up this process's claim on the
// store. Rootfs mounts stay. Any other method called after Close fails or does nothing.
func (s *Store) Close() error {
	s.cancel()
	s.pulls.wait()
	s.layers.wait()
	err := s.sess.close()
	if cerr := s.lockFile.Close(); err == nil {
		err = cerr
	}
	return err
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// recover removes what processes that are gone left behind. The caller holds the lock.
func (s *Store) recover() error {
	others, err := otherSessions(s.dir, s.sess)
	if err != nil {
		return err
	}
	alone := true
	for _, o := range others {
		if o.alive {
			alone = false
			continue
		}
		s.log.Info("removing the leftovers of a process that is gone", "session", o.dir)
		if err := os.RemoveAll(o.dir); err != nil {
			return err
		}
	}
	images, err := s.current()
	if err != nil {
		return err
	}
	if !alone {
		return nil
	}
	return s.sweep(images)
}

// sweep deletes layers, blobs and short links that no image refers to. Only safe when no
// other process has the store open.
func (s *Store) sweep(images map[string]*record) error {
	layers, blobs := referenced(images)
	entries, err := os.ReadDir(filepath.Join(s.dir, layersDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !layers[e.Name()] {
			s.log.Info("removing a layer no image refers to", "layer", e.Name())
			if _, err := s.deleteLayer(e.Name()); err != nil {
				return err
			}
		}
	}
	entries, err = os.ReadDir(filepath.Join(s.dir, blobsDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !blobs[e.Name()] {
			if err := os.Remove(filepath.Join(s.dir, blobsDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	entries, err = os.ReadDir(filepath.Join(s.dir, linksDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(s.dir, linksDir, e.Name())
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			_ = os.Remove(p)
		}
	}
	return nil
}

// referenced returns the layer (diffID hex) and blob (digest hex) names the images use.
func referenced(images map[string]*record) (layers, blobs map[string]bool) {
	layers, blobs = map[string]bool{}, map[string]bool{}
	for _, r := range images {
		blobs[hexOf(r.ID)] = true
		for _, m := range r.Manifests {
			blobs[hexOf(m)] = true
		}
		for _, l := range r.Layers {
			layers[hexOf(l.DiffID)] = true
		}
	}
	return layers, blobs
}

// Get returns the image that ref names: a reference as a pod writes it (normalised, so
// "busybox" is "docker.io/library/busybox:latest"), a "repository@sha256:..." digest
// reference, or an image ID ("sha256:<hex>", the bare hex, or a unique prefix of at least
// four hex digits). Tags are matched before IDs.
func (s *Store) Get(ref string) (Image, bool) {
	images, err := s.current()
	if err != nil {
		s.log.Error("read image store", "error", err)
		return Image{}, false
	}
	r := lookup(images, ref)
	if r == nil {
		return Image{}, false
	}
	return r.image(), true
}

func lookup(images map[string]*record, ref string) *record {
	if n := normalize(ref); n != "" {
		for _, r := range images {
			if slices.Contains(r.RepoTags, n) || slices.Contains(r.RepoDigests, n) {
				return r
			}
		}
	}
	id := strings.TrimPrefix(ref, "sha256:")
	if len(id) < 4 || !isHex(id) {
		return nil
	}
	if r, ok := images["sha256:"+id]; ok {
		return r
	}
	var found *record
	for _, r := range images {
		if strings.HasPrefix(hexOf(r.ID), id) {
			if found != nil {
				return nil // ambiguous
			}
			found = r
		}
	}
	return found
}

// List returns every image in the store, ordered by first tag, untagged images last by ID.
func (s *Store) List() []Image {
	images, err := s.current()
	if err != nil {
		s.log.Error("read image store", "error", err)
		return nil
	}
	out := make([]Image, 0, len(images))
	for _, r := range images {
		out = append(out, r.image())
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (len(a.RepoTags) == 0) != (len(b.RepoTags) == 0) {
			return len(a.RepoTags) > 0
		}
		if len(a.RepoTags) > 0 && a.RepoTags[0] != b.RepoTags[0] {
			return a.RepoTags[0] < b.RepoTags[0]
		}
		return a.ID < b.ID
	})
	return out
}

// copyImages returns a shallow copy of m, to change and commit.
func copyImages(m map[string]*record) map[string]*record {
	out := make(map[string]*record, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.dir, blobsDir, hexOf(digest))
}

// hexOf returns the hex of "sha256:<hex>".
func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }

func shortID(id string) string {
	h := hexOf(id)
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// writeFileAtomic writes b to p through a temporary file in tmpDir (same filesystem),
// synced before it is renamed into place.
func writeFileAtomic(p string, b []byte, tmpDir string) error {
	f, err := os.CreateTemp(tmpDir, filepath.Base(p)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

func statfsUsage(p string) (used, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return 0, 0, err
	}
	total = st.Blocks * uint64(st.Bsize)
	used = total - st.Bfree*uint64(st.Bsize)
	return used, total, nil
}
