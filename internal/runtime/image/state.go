package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// record is one image as images.json holds it.
type record struct {
	ID          string        `json:"id"`
	RepoTags    []string      `json:"repoTags,omitempty"`
	RepoDigests []string      `json:"repoDigests,omitempty"`
	Manifests   []string      `json:"manifests,omitempty"` // digests of the manifest blobs kept
	Layers      []layerRecord `json:"layers"`              // bottom first
	LastUsed    time.Time     `json:"lastUsed"`

	config v1.Config // from the config blob
}

type layerRecord struct {
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"`
}

type stateJSON struct {
	Version int       `json:"version"`
	Images  []*record `json:"images"`
}

// size is the bytes of the image's layers, each counted once.
func (r *record) size() int64 {
	var n int64
	seen := map[string]bool{}
	for _, l := range r.Layers {
		if !seen[l.DiffID] {
			seen[l.DiffID] = true
			n += l.Size
		}
	}
	return n
}

func (r *record) clone() *record {
	c := *r
	c.RepoTags = slices.Clone(r.RepoTags)
	c.RepoDigests = slices.Clone(r.RepoDigests)
	c.Manifests = slices.Clone(r.Manifests)
	c.Layers = slices.Clone(r.Layers)
	return &c
}

func (r *record) image() Image {
	return Image{
		ID:          r.ID,
		RepoTags:    slices.Clone(r.RepoTags),
		RepoDigests: slices.Clone(r.RepoDigests),
		Size:        r.size(),
		Config:      *r.config.DeepCopy(),
		LastUsed:    r.LastUsed,
	}
}

// fileIdentity tells whether images.json was replaced since it was read.
type fileIdentity struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

func identityOf(fi fs.FileInfo) fileIdentity {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdentity{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	}
	return fileIdentity{dev: uint64(st.Dev), ino: st.Ino, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// current returns the images as images.json has them, re-reading it if another process (or
// another Store in this one) replaced it. The map must not be modified.
func (s *Store) current() (map[string]*record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.currentLocked()
}

func (s *Store) currentLocked() (map[string]*record, error) {
	p := filepath.Join(s.dir, stateFile)
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		s.images, s.loadedAs = map[string]*record{}, fileIdentity{}
		return s.images, nil
	}
	if err != nil {
		return nil, err
	}
	if identityOf(fi) == s.loadedAs {
		return s.images, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return nil, err
	}
	var st stateJSON
	if err := json.NewDecoder(f).Decode(&st); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	images := make(map[string]*record, len(st.Images))
	for _, r := range st.Images {
		if old, ok := s.images[r.ID]; ok {
			r.config = old.config
		} else if err := s.loadConfig(r); err != nil {
			s.log.Warn("image record ignored: its config is unreadable", "image", r.ID, "tags", r.RepoTags, "error", err)
			continue
		}
		images[r.ID] = r
	}
	s.images, s.loadedAs = images, identityOf(fi)
	return images, nil
}

func (s *Store) loadConfig(r *record) error {
	b, err := os.ReadFile(s.blobPath(r.ID))
	if err != nil {
		return err
	}
	if got := digestOf(b); got != r.ID {
		return fmt.Errorf("config blob has digest %s", got)
	}
	cf, err := v1.ParseConfigFile(strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	r.config = cf.Config
	return nil
}

// commit writes images as the new state and makes it current. The caller holds the lock.
func (s *Store) commit(images map[string]*record) error {
	st := stateJSON{Version: 1}
	for _, r := range images {
		st.Images = append(st.Images, r)
	}
	sort.Slice(st.Images, func(i, j int) bool { return st.Images[i].ID < st.Images[j].ID })
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(s.dir, stateFile)
	if err := writeFileAtomic(p, b, s.sess.tmp()); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.images, s.loadedAs = images, identityOf(fi)
	s.mu.Unlock()
	return nil
}

// locked runs fn holding the store lock: this process's mutex, then the directory's flock.
func (s *Store) locked(fn func() error) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if err := unix.Flock(int(s.lockFile.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", s.lockFile.Name(), err)
	}
	defer unix.Flock(int(s.lockFile.Fd()), unix.LOCK_UN)
	return fn()
}

// update applies change to a copy of the current images and commits the result, holding
// the store lock; then runs after (if not nil), still holding it, with the committed images.
func (s *Store) update(change func(images map[string]*record) error, after func(images map[string]*record) error) error {
	return s.locked(func() error {
		cur, err := s.current()
		if err != nil {
			return err
		}
		next := copyImages(cur)
		if err := change(next); err != nil {
			return err
		}
		if err := s.commit(next); err != nil {
			return err
		}
		if after != nil {
			return after(next)
		}
		return nil
	})
}
