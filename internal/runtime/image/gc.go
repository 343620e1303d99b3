package image

import (
	"context"
	"fmt"
	"sort"
)

// GC deletes images as the kubelet's image garbage collector does. When the filesystem
// holding the store is at or above highPercent used, it deletes images that no container
// uses and that have gone unused for the minimum age (WithGCMinAge), least recently used
// first, until it has freed enough to bring usage down to lowPercent. It returns the bytes
// freed (layers and blobs no remaining image shares), and an error if the images it could
// delete were not enough.
func (s *Store) GC(ctx context.Context, highPercent, lowPercent int) (freed int64, err error) {
	if highPercent <= 0 || highPercent > 100 || lowPercent < 0 || lowPercent > highPercent {
		return 0, fmt.Errorf("image GC: thresholds high %d%%, low %d%%: want 0 <= low <= high <= 100, high > 0", highPercent, lowPercent)
	}
	used, total, err := s.usage(s.dir)
	if err != nil {
		return 0, fmt.Errorf("image GC: filesystem usage of %s: %w", s.dir, err)
	}
	if total == 0 || used*100 < uint64(highPercent)*total {
		return 0, nil
	}
	target := int64(used) - int64(total*uint64(lowPercent)/100)
	s.log.Info("image GC: disk usage above the high threshold", "usedPercent", used*100/total, "high", highPercent, "low", lowPercent, "toFree", target)

	var deleted []string
	err = s.locked(func() error {
		images, err := s.current()
		if err != nil {
			return err
		}
		inUse, err := s.inUseIDs()
		if err != nil {
			return err
		}
		now := s.now()
		var candidates []*record
		for _, r := range images {
			if !inUse[r.ID] && now.Sub(r.LastUsed) >= s.minAge {
				candidates = append(candidates, r)
			}
		}
		sort.Slice(candidates, func(i, j int) bool {
			if !candidates[i].LastUsed.Equal(candidates[j].LastUsed) {
				return candidates[i].LastUsed.Before(candidates[j].LastUsed)
			}
			return candidates[i].ID < candidates[j].ID
		})
		next := copyImages(images)
		for _, r := range candidates {
			if freed >= target || ctx.Err() != nil {
				break
			}
			delete(next, r.ID)
			if err := s.commit(next); err != nil {
				return err
			}
			n, err := s.deleteUnreferenced(next, r)
			freed += n
			if err != nil {
				return err
			}
			deleted = append(deleted, r.ID)
			s.log.Info("image GC: image deleted", "image", r.ID, "tags", r.RepoTags, "lastUsed", r.LastUsed, "freed", n)
		}
		return nil
	})
	if err != nil {
		return freed, fmt.Errorf("image GC: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return freed, fmt.Errorf("image GC: %w", err)
	}
	if freed < target {
		return freed, fmt.Errorf("image GC: wanted to free %d bytes, but only %d bytes were eligible (%d images deleted)", target, freed, len(deleted))
	}
	return freed, nil
}
