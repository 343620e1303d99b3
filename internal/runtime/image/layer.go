package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// imageSource is an image to install, from a registry or a tarball.
type imageSource struct {
	config   []byte // the raw config; the image ID is its digest
	manifest []byte // the raw manifest, nil when the source has none (docker save)
	layers   []layerSource
}

// layerSource is one layer to install.
type layerSource struct {
	diffID v1.Hash // digest of the uncompressed tar, from the config
	digest v1.Hash // digest of the blob as stored; zero when unknown (docker save)
	open   func() (io.ReadCloser, error)
}

// layerInfo is what layers/<hex>/layer.json records.
type layerInfo struct {
	DiffID string `json:"diffID"`
	Digest string `json:"digest,omitempty"`
	Size   int64  `json:"size"`
}

// maxInstallAttempts bounds how often an install starts over because another process
// deleted a layer it had found present.
const maxInstallAttempts = 3

// install makes src an image of the store with the given tags and repo digests: its layers
// unpacked (those not already present), its config and manifest blobs written, then the
// record committed. On failure nothing of it remains but layers other images share.
func (s *Store) install(ctx context.Context, src imageSource, tags, repoDigests []string) (img Image, err error) {
	id := digestOf(src.config)
	cf, err := v1.ParseConfigFile(bytes.NewReader(src.config))
	if err != nil {
		return Image{}, fmt.Errorf("image %s: config: %w", shortID(id), err)
	}
	if cf.RootFS.Type != "" && cf.RootFS.Type != "layers" {
		return Image{}, fmt.Errorf("image %s: rootfs type %q not supported", shortID(id), cf.RootFS.Type)
	}
	if len(cf.RootFS.DiffIDs) != len(src.layers) {
		return Image{}, fmt.Errorf("image %s: config lists %d layers, manifest %d", shortID(id), len(cf.RootFS.DiffIDs), len(src.layers))
	}
	hexes := make([]string, len(src.layers))
	for i := range src.layers {
		src.layers[i].diffID = cf.RootFS.DiffIDs[i]
		hexes[i] = src.layers[i].diffID.Hex
	}
	// Deferred in this order so that the pins are gone when the cleanup looks at them.
	defer func() {
		if err != nil {
			s.cleanupFailed(hexes, id, src.manifest)
		}
	}()
	s.pin(hexes, 1)
	defer s.pin(hexes, -1)

	for attempt := 1; ; attempt++ {
		sizes, err := s.ensureLayers(ctx, src.layers)
		if err != nil {
			return Image{}, fmt.Errorf("image %s: %w", shortID(id), err)
		}
		if err := s.writeBlob(src.config); err != nil {
			return Image{}, err
		}
		var manifests []string
		if src.manifest != nil {
			if err := s.writeBlob(src.manifest); err != nil {
				return Image{}, err
			}
			manifests = []string{digestOf(src.manifest)}
		}
		var missing bool
		err = s.update(func(images map[string]*record) error {
			// Another install that failed, or another process, may have deleted what this
			// one found present: then it starts over.
			need := []string{s.blobPath(id)}
			if src.manifest != nil {
				need = append(need, s.blobPath(manifests[0]))
			}
			for _, h := range hexes {
				need = append(need, filepath.Join(s.dir, layersDir, h))
			}
			for _, p := range need {
				if _, err := os.Stat(p); err != nil {
					missing = true
					return errRetry
				}
			}
			r := &record{ID: id, config: cf.Config}
			if old, ok := images[id]; ok {
				r = old.clone()
			}
			r.Layers = r.Layers[:0]
			for i, h := range src.layers {
				r.Layers = append(r.Layers, layerRecord{DiffID: h.diffID.String(), Size: sizes[i]})
			}
			r.RepoTags = union(r.RepoTags, tags)
			r.RepoDigests = union(r.RepoDigests, repoDigests)
			r.Manifests = union(r.Manifests, manifests)
			r.LastUsed = s.now()
			// A tag names one image: take it from any other.
			for oid, o := range images {
				if oid == id || !slices.ContainsFunc(o.RepoTags, func(t string) bool { return slices.Contains(tags, t) }) {
					continue
				}
				o = o.clone()
				o.RepoTags = slices.DeleteFunc(o.RepoTags, func(t string) bool { return slices.Contains(tags, t) })
				images[oid] = o
			}
			images[id] = r
			img = r.image()
			return nil
		}, nil)
		if missing && attempt < maxInstallAttempts {
			continue
		}
		if err != nil {
			return Image{}, fmt.Errorf("image %s: %w", shortID(id), err)
		}
		return img, nil
	}
}

var errRetry = errors.New("a layer or blob was deleted while this image was installed")

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *Store) pin(hexes []string, delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hexes {
		if s.pins[h] += delta; s.pins[h] <= 0 {
			delete(s.pins, h)
		}
	}
}

// cleanupFailed deletes what a failed install left that no image refers to and no
// install in progress in this process needs.
func (s *Store) cleanupFailed(hexes []string, configID string, manifest []byte) {
	err := s.locked(func() error {
		images, err := s.current()
		if err != nil {
			return err
		}
		if _, ok := images[configID]; ok {
			return nil // the image exists (from before): all of it stays
		}
		gone := &record{ID: configID}
		if manifest != nil {
			gone.Manifests = []string{digestOf(manifest)}
		}
		for _, h := range hexes {
			gone.Layers = append(gone.Layers, layerRecord{DiffID: "sha256:" + h})
		}
		_, err = s.deleteUnreferenced(images, gone)
		return err
	})
	if err != nil {
		s.log.Error("clean up after a failed install", "image", configID, "error", err)
	}
}

// ensureLayers makes every layer present, three at a time, and returns their sizes.
func (s *Store) ensureLayers(ctx context.Context, layers []layerSource) ([]int64, error) {
	sizes := make([]int64, len(layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(3)
	for i := range layers {
		g.Go(func() error {
			n, err := s.ensureLayer(gctx, layers[i])
			sizes[i] = n
			return err
		})
	}
	return sizes, g.Wait()
}

// ensureLayer makes one layer present, unpacking it unless it already is; concurrent
// requests for one layer share one download.
func (s *Store) ensureLayer(ctx context.Context, l layerSource) (int64, error) {
	h := l.diffID.Hex
	for {
		if info, err := s.layerInfo(h); err == nil {
			return info.Size, s.ensureShortLink(h)
		}
		n, err := s.layers.do(ctx, s.ctx, h, func(fctx context.Context) (int64, error) {
			if info, err := s.layerInfo(h); err == nil {
				return info.Size, nil
			}
			return s.unpackLayer(fctx, l)
		})
		if err != nil && errors.Is(err, context.Canceled) && ctx.Err() == nil && s.ctx.Err() == nil {
			continue // the caller that started the download gave up; this one has not
		}
		if err != nil {
			return 0, err
		}
		return n, s.ensureShortLink(h)
	}
}

func (s *Store) layerInfo(h string) (layerInfo, error) {
	var info layerInfo
	b, err := os.ReadFile(filepath.Join(s.dir, layersDir, h, layerMeta))
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(b, &info)
}

// unpackLayer downloads and unpacks one layer into a temporary directory, verifying the
// blob's digest and the diffID as the bytes stream, and renames it into place only when
// both match and the data is on disk.
func (s *Store) unpackLayer(ctx context.Context, l layerSource) (int64, error) {
	name := l.digest.String()
	if l.digest.Hex == "" {
		name = l.diffID.String()
	}
	tmp, err := os.MkdirTemp(s.sess.tmp(), "layer-"+l.diffID.Hex[:12]+"-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, layerFS), 0o755); err != nil {
		return 0, err
	}
	rc, err := l.open()
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", name, err)
	}
	defer rc.Close()

	var blobHash hash.Hash
	var in io.Reader = ctxReader{ctx, rc}
	if l.digest.Hex != "" {
		blobHash = sha256.New()
		in = io.TeeReader(in, blobHash)
	}
	br := bufio.NewReaderSize(in, 1<<16)
	dec, err := decompress(br)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", name, err)
	}
	defer dec.Close()
	diffHash := sha256.New()
	tarStream := io.TeeReader(dec, diffHash)
	u := &unpacker{root: filepath.Join(tmp, layerFS), log: s.log.With("layer", name), privileged: os.Geteuid() == 0}
	size, err := u.unpack(tarStream)
	if err == nil {
		// The tar's end-of-archive padding, and any bytes after the compressed stream,
		// belong to the digests.
		if _, err = io.Copy(io.Discard, tarStream); err == nil {
			_, err = io.Copy(io.Discard, br)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("layer %s: %w", name, err)
	}
	if blobHash != nil {
		if got := "sha256:" + hex.EncodeToString(blobHash.Sum(nil)); got != l.digest.String() {
			return 0, fmt.Errorf("layer %s: content does not match its digest (got %s): refused", name, got)
		}
	}
	if got := "sha256:" + hex.EncodeToString(diffHash.Sum(nil)); got != l.diffID.String() {
		return 0, fmt.Errorf("layer %s: uncompressed content does not match diffID %s (got %s): refused", name, l.diffID, got)
	}
	info, _ := json.Marshal(layerInfo{DiffID: l.diffID.String(), Digest: l.digest.String(), Size: size})
	if err := os.WriteFile(filepath.Join(tmp, layerMeta), info, 0o600); err != nil {
		return 0, err
	}
	if err := syncfs(tmp); err != nil {
		return 0, err
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return 0, err
	}
	// Under the store lock, and only if someone still wants the layer: an install that
	// failed and gave up on it cleans up under the same lock, and must not see the layer
	// appear after it has looked.
	dst := filepath.Join(s.dir, layersDir, l.diffID.Hex)
	err = s.locked(func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.Rename(tmp, dst); err != nil {
			if _, serr := s.layerInfo(l.diffID.Hex); serr == nil {
				return nil // another process unpacked it meanwhile
			}
			return err
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return size, nil
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

func isCompressed(magic []byte) bool {
	return bytes.HasPrefix(magic, gzipMagic) || bytes.HasPrefix(magic, zstdMagic)
}

// decompress returns a reader of the uncompressed layer, recognising gzip and zstd by
// their magic numbers and passing anything else through as an uncompressed tar.
func decompress(br *bufio.Reader) (io.ReadCloser, error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

// ctxReader fails reads once ctx has ended, so that a cancelled pull of a local tarball
// stops too.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func syncfs(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// writeBlob stores b under its digest unless it is there already.
func (s *Store) writeBlob(b []byte) error {
	p := s.blobPath(digestOf(b))
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeFileAtomic(p, b, s.sess.tmp())
}

// ensureShortLink gives layer h a short name under l/, a symbolic link to its fs
// directory, so that mount options stay within a page with many layers. The name is the
// shortest prefix of the diffID (12 hex digits or more) not taken by another layer.
func (s *Store) ensureShortLink(h string) error {
	_, err := s.shortLink(h, true)
	return err
}

// shortLink returns layer h's short name, creating it if create is set.
func (s *Store) shortLink(h string, create bool) (string, error) {
	target := filepath.Join("..", layersDir, h, layerFS)
	for n := 12; n <= len(h); n += 4 {
		p := filepath.Join(s.dir, linksDir, h[:n])
		got, err := os.Readlink(p)
		if err == nil && got == target {
			return h[:n], nil
		}
		if err == nil {
			continue // taken by another layer
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if !create {
			return "", fmt.Errorf("layer %s has no short link", h)
		}
		if err := os.Symlink(target, p); err != nil {
			if errors.Is(err, fs.ErrExist) {
				n -= 4 // lost a race: look again
				continue
			}
			return "", err
		}
		return h[:n], nil
	}
	return "", fmt.Errorf("layer %s: no free short link", h)
}

// deleteLayer removes layer h and its short link, returning its size. The directory is
// first renamed away, so that a crash midway never leaves a layer that looks complete.
func (s *Store) deleteLayer(h string) (int64, error) {
	dir := filepath.Join(s.dir, layersDir, h)
	info, _ := s.layerInfo(h)
	if name, err := s.shortLink(h, false); err == nil {
		if err := os.Remove(filepath.Join(s.dir, linksDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	trash := filepath.Join(s.sess.tmp(), "deleted-"+h)
	if err := os.Rename(dir, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	return info.Size, os.RemoveAll(trash)
}
