package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
)

// Use marks the image with ID id (or any name Get accepts) as used by one container until
// release is called; release is idempotent. While any process has it in use, an image is
// neither deleted by Remove nor collected by GC. Use and release both set LastUsed. Use
// counts are per process: after a restart, the agent calls Use again for each container
// that is still running, before it runs GC.
func (s *Store) Use(id string) (release func()) {
	if images, err := s.current(); err == nil {
		if r := lookup(images, id); r != nil {
			id = r.ID
		}
	}
	s.mu.Lock()
	s.inUse[id]++
	s.mu.Unlock()
	s.touch(id)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.inUse[id]--; s.inUse[id] <= 0 {
				delete(s.inUse, id)
			}
			s.mu.Unlock()
			s.touch(id)
		})
	}
}

// touch publishes this process's in-use set and sets the image's LastUsed to now.
func (s *Store) touch(id string) {
	err := s.update(func(images map[string]*record) error {
		s.mu.Lock()
		err := s.sess.writeInUse(s.inUse)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if r, ok := images[id]; ok {
			r = r.clone()
			r.LastUsed = s.now()
			images[id] = r
		}
		return nil
	}, nil)
	if err != nil {
		s.log.Error("record image use", "image", id, "error", err)
	}
}

// inUseIDs returns the IDs of the images some process uses. The caller holds the lock.
func (s *Store) inUseIDs() (map[string]bool, error) {
	ids := map[string]bool{}
	s.mu.Lock()
	for id, n := range s.inUse {
		if n > 0 {
			ids[id] = true
		}
	}
	s.mu.Unlock()
	others, err := otherSessions(s.dir, s.sess)
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		for _, id := range o.inUse {
			ids[id] = true
		}
	}
	return ids, nil
}

// Remove removes the name ref from the image it names. A tag is untagged; when it was the
// image's last tag, or when ref is an ID or a digest reference, the image is deleted with
// its layers and blobs that no other image shares. Deleting an image that a container
// uses is refused with ErrInUse; a ref that names nothing gives ErrNotFound.
func (s *Store) Remove(ref string) error {
	var freed []string
	err := s.locked(func() error {
		cur, err := s.current()
		if err != nil {
			return err
		}
		r := lookup(cur, ref)
		if r == nil {
			return fmt.Errorf("image %q: %w", ref, ErrNotFound)
		}
		next := copyImages(cur)
		tag := normalize(ref)
		if slices.Contains(r.RepoTags, tag) && len(r.RepoTags) > 1 {
			r = r.clone()
			r.RepoTags = slices.DeleteFunc(r.RepoTags, func(t string) bool { return t == tag })
			next[r.ID] = r
			return s.commit(next)
		}
		inUse, err := s.inUseIDs()
		if err != nil {
			return err
		}
		if inUse[r.ID] {
			return fmt.Errorf("image %q (%s): %w", ref, shortID(r.ID), ErrInUse)
		}
		delete(next, r.ID)
		if err := s.commit(next); err != nil {
			return err
		}
		_, err = s.deleteUnreferenced(next, r)
		freed = append(freed, r.ID)
		return err
	})
	for _, id := range freed {
		s.log.Info("image deleted", "image", id, "ref", ref)
	}
	return err
}

// deleteUnreferenced deletes gone's layers and blobs that no image in images refers to and
// no install of this process needs, and returns the bytes freed. The caller holds the lock
// and has committed images without gone.
func (s *Store) deleteUnreferenced(images map[string]*record, gone *record) (int64, error) {
	layers, blobs := referenced(images)
	var freed int64
	for _, l := range gone.Layers {
		h := hexOf(l.DiffID)
		s.mu.Lock()
		pinned := s.pins[h] > 0
		s.mu.Unlock()
		if layers[h] || pinned {
			continue
		}
		n, err := s.deleteLayer(h)
		if err != nil {
			return freed, err
		}
		freed += n
	}
	for _, d := range append([]string{gone.ID}, gone.Manifests...) {
		if blobs[hexOf(d)] {
			continue
		}
		if fi, err := os.Stat(s.blobPath(d)); err == nil {
			freed += fi.Size()
		}
		if err := os.Remove(s.blobPath(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return freed, err
		}
	}
	return freed, nil
}
