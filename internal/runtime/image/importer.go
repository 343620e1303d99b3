package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Annotations that name an image in an OCI image layout's index.json.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// Import installs the images of an image tarball (possibly gzip- or zstd-compressed):
// `docker save` output (manifest.json,
// with tags from its RepoTags) or an OCI image layout (index.json, with tags from the
// io.containerd.image.name or a full-reference org.opencontainers.image.ref.name
// annotation; for a multi-platform index, the manifest for this node's platform). Every
// layer is verified against the config's diffIDs, and blobs named by digest against their
// names. It returns the images imported, each once.
func (s *Store) Import(ctx context.Context, r io.Reader) ([]Image, error) {
	f, err := s.spool(r)
	if err != nil {
		return nil, err
	}
	if f != r {
		defer os.Remove(f.Name())
		defer f.Close()
	}
	tf, err := indexTar(f)
	if err != nil {
		return nil, fmt.Errorf("read image tarball: %w", err)
	}
	var ids []string
	switch {
	case tf.has("manifest.json"):
		ids, err = s.importDocker(ctx, tf)
	case tf.has("index.json"):
		ids, err = s.importOCI(ctx, tf)
	default:
		return nil, fmt.Errorf("not an image tarball: it has neither manifest.json (docker save) nor index.json (OCI image layout)")
	}
	if err != nil {
		return nil, err
	}
	images, err := s.current()
	if err != nil {
		return nil, err
	}
	var out []Image
	seen := map[string]bool{}
	for _, id := range ids {
		if r, ok := images[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, r.image())
		}
	}
	return out, nil
}

// spool returns the tarball r as a file that can be read at any offset: r itself when it
// is an uncompressed regular file, else a temporary copy, decompressed if r is gzip or
// zstd (`docker save | gzip`).
func (s *Store) spool(r io.Reader) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			var magic [4]byte
			n, _ := f.ReadAt(magic[:], 0)
			if !isCompressed(magic[:n]) {
				return f, nil
			}
		}
	}
	dec, err := decompress(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("read image tarball: %w", err)
	}
	defer dec.Close()
	f, err := os.CreateTemp(s.sess.tmp(), "import-*.tar")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, dec); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("read image tarball: %w", err)
	}
	return f, nil
}

// tarFile gives random access to the regular files of a tar archive on disk.
type tarFile struct {
	f     *os.File
	files map[string][2]int64 // name -> offset, size
	links map[string]string   // name -> target name (symbolic links)
}

func indexTar(f *os.File) (*tarFile, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	tf := &tarFile{f: f, files: map[string][2]int64{}, links: map[string]string{}}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tf, nil
		}
		if err != nil {
			return nil, err
		}
		n := path.Clean(hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			tf.files[n] = [2]int64{off, hdr.Size}
		case tar.TypeSymlink:
			tf.links[n] = path.Join(path.Dir(n), hdr.Linkname)
		case tar.TypeLink:
			tf.links[n] = path.Clean(hdr.Linkname)
		}
	}
}

func (tf *tarFile) resolve(n string) (string, bool) {
	n = path.Clean(n)
	for range 16 {
		if _, ok := tf.files[n]; ok {
			return n, true
		}
		t, ok := tf.links[n]
		if !ok {
			return "", false
		}
		n = t
	}
	return "", false
}

func (tf *tarFile) has(n string) bool { _, ok := tf.resolve(n); return ok }

func (tf *tarFile) open(n string) (io.ReadCloser, error) {
	r, ok := tf.resolve(n)
	if !ok {
		return nil, fmt.Errorf("%s: not in the tarball", n)
	}
	sec := tf.files[r]
	return io.NopCloser(io.NewSectionReader(tf.f, sec[0], sec[1])), nil
}

// readSmall reads a metadata file (a manifest, config or index) of at most 16 MiB.
func (tf *tarFile) readSmall(n string) ([]byte, error) {
	rc, err := tf.open(n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 16<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 16<<20 {
		return nil, fmt.Errorf("%s: larger than 16 MiB", n)
	}
	return b, nil
}

// blob reads blobs/sha256/<hex> and verifies it.
func (tf *tarFile) blob(d v1.Hash) ([]byte, error) {
	b, err := tf.readSmall(path.Join("blobs", d.Algorithm, d.Hex))
	if err != nil {
		return nil, err
	}
	if got := digestOf(b); got != d.String() {
		return nil, fmt.Errorf("blob %s: content does not match its digest (got %s): refused", d, got)
	}
	return b, nil
}

type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func (s *Store) importDocker(ctx context.Context, tf *tarFile) ([]string, error) {
	b, err := tf.readSmall("manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	var ids []string
	for _, e := range entries {
		config, err := tf.readSmall(e.Config)
		if err != nil {
			return ids, err
		}
		if h, ok := digestFromPath(e.Config); ok && digestOf(config) != h.String() {
			return ids, fmt.Errorf("%s: content does not match its name: refused", e.Config)
		}
		src := imageSource{config: config}
		for _, l := range e.Layers {
			l := l
			ls := layerSource{open: func() (io.ReadCloser, error) { return tf.open(l) }}
			if h, ok := digestFromPath(l); ok {
				ls.digest = h
			}
			src.layers = append(src.layers, ls)
		}
		var tags []string
		for _, t := range e.RepoTags {
			if n := normalize(t); n != "" {
				tags = append(tags, n)
			} else {
				s.log.Warn("image tarball: tag ignored: not a valid reference", "tag", t)
			}
		}
		img, err := s.install(ctx, src, tags, nil)
		if err != nil {
			return ids, fmt.Errorf("import %s: %w", strings.Join(e.RepoTags, ", "), err)
		}
		s.log.Info("image imported", "id", img.ID, "tags", tags)
		ids = append(ids, img.ID)
	}
	return ids, nil
}

// digestFromPath recognises blobs/sha256/<hex> (newer docker save, OCI layouts).
func digestFromPath(p string) (v1.Hash, bool) {
	dir, file := path.Split(path.Clean(p))
	if path.Clean(dir) != "blobs/sha256" || len(file) != 64 || !isHex(file) {
		return v1.Hash{}, false
	}
	return v1.Hash{Algorithm: "sha256", Hex: file}, true
}

func (s *Store) importOCI(ctx context.Context, tf *tarFile) ([]string, error) {
	b, err := tf.readSmall("index.json")
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	var ids []string
	for _, top := range idx.Manifests {
		desc := top
		if desc.MediaType.IsIndex() {
			desc, err = s.platformManifest(tf, top)
			if err != nil {
				return ids, err
			}
		} else if !desc.MediaType.IsImage() {
			continue // an artifact, not an image
		}
		raw, err := tf.blob(desc.Digest)
		if err != nil {
			return ids, err
		}
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return ids, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
		config, err := tf.blob(m.Config.Digest)
		if err != nil {
			return ids, err
		}
		src := imageSource{config: config, manifest: raw}
		for _, l := range m.Layers {
			p := path.Join("blobs", l.Digest.Algorithm, l.Digest.Hex)
			src.layers = append(src.layers, layerSource{digest: l.Digest, open: func() (io.ReadCloser, error) { return tf.open(p) }})
		}
		var tags, digests []string
		if ref := ociRefName(top.Annotations); ref != nil {
			if _, ok := ref.(name.Tag); ok {
				tags = append(tags, canonical(ref))
			}
			digests = append(digests, canonicalRepo(ref.Context())+"@"+top.Digest.String())
		}
		img, err := s.install(ctx, src, tags, digests)
		if err != nil {
			return ids, fmt.Errorf("import %s: %w", top.Digest, err)
		}
		s.log.Info("image imported", "id", img.ID, "tags", tags)
		ids = append(ids, img.ID)
	}
	return ids, nil
}

// platformManifest picks the manifest for this node's platform from an index in the layout.
func (s *Store) platformManifest(tf *tarFile, desc v1.Descriptor) (v1.Descriptor, error) {
	for depth := 0; depth < 4; depth++ {
		raw, err := tf.blob(desc.Digest)
		if err != nil {
			return desc, err
		}
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return desc, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		found := false
		for _, d := range idx.Manifests {
			if d.Platform != nil && !d.Platform.Satisfies(s.platform) {
				continue
			}
			if d.MediaType.IsImage() || d.MediaType.IsIndex() {
				desc, found = d, true
				break
			}
		}
		if !found {
			return desc, fmt.Errorf("index %s has no image for %s/%s", desc.Digest, s.platform.OS, s.platform.Architecture)
		}
		if desc.MediaType.IsImage() {
			return desc, nil
		}
	}
	return desc, fmt.Errorf("index %s: indexes nested too deep", desc.Digest)
}

// ociRefName returns the reference an OCI layout's index entry is named by, or nil. A
// bare tag ("v1") names no repository and is ignored.
func ociRefName(ann map[string]string) name.Reference {
	for _, key := range []string{annotationContainerdName, annotationRefName} {
		v := ann[key]
		if v == "" || (key == annotationRefName && !strings.ContainsAny(v, "/:")) {
			continue
		}
		if ref, err := name.ParseReference(v); err == nil {
			return ref
		}
	}
	return nil
}
