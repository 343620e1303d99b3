package kubelet

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// fileProjection is one file of a volume's payload.
type fileProjection struct {
	Data []byte
	Mode os.FileMode
}

// Names the atomic writer reserves in a volume directory (upstream's AtomicWriter layout).
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// writeAtomic makes dir hold exactly payload (relative paths -> files), as upstream's
// AtomicWriter does, so that a reader never sees a mix of old and new files:
//
//	dir/..2026_01_02_15_04_05.123456789/   the payload, written in full
//	dir/..data -> ..2026_01_02_15_04_05.123456789
//	dir/<top-level name> -> ..data/<top-level name>   for each top-level path of the payload
//
// A new timestamped directory is written, then ..data is swapped to it with one rename, then
// the user-visible links of paths no longer in the payload are removed, then the old directory.
// It reports whether anything changed; an identical payload changes nothing.
func writeAtomic(dir string, payload map[string]fileProjection, now time.Time) (changed bool, err error) {
	clean, err := validatePayload(payload)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	oldTs, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	var oldPaths map[string]bool
	if oldTs != "" {
		oldPaths, err = listFiles(filepath.Join(dir, oldTs))
		if err != nil {
			return false, err
		}
		if samePayload(filepath.Join(dir, oldTs), oldPaths, clean) {
			// Only the links may be missing (a crash between swap and linking).
			return false, ensureLinks(dir, clean)
		}
	}

	tsDir, err := os.MkdirTemp(dir, now.UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	if err := writePayload(tsDir, clean); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		os.Remove(tmpLink)
		os.RemoveAll(tsDir)
		return false, err
	}
	if err := ensureLinks(dir, clean); err != nil {
		return true, err
	}
	// Remove the top-level links of paths that are gone.
	keep := topLevel(clean)
	for p := range oldPaths {
		top := strings.SplitN(p, "/", 2)[0]
		if !keep[top] {
			if err := os.RemoveAll(filepath.Join(dir, top)); err != nil {
				return true, err
			}
		}
	}
	if oldTs != "" {
		if err := os.RemoveAll(filepath.Join(dir, oldTs)); err != nil {
			return true, err
		}
	}
	return true, nil
}

// validatePayload checks that every path is relative, clean, without ".." elements and not
// starting with "..", and returns the payload keyed by cleaned paths.
func validatePayload(payload map[string]fileProjection) (map[string]fileProjection, error) {
	out := make(map[string]fileProjection, len(payload))
	for p, f := range payload {
		if p == "" || filepath.IsAbs(p) {
			return nil, fmt.Errorf("invalid path %q: must be relative", p)
		}
		if len(p) > 4096 {
			return nil, fmt.Errorf("invalid path %q: longer than 4096 characters", p)
		}
		for _, elem := range strings.Split(p, "/") {
			if elem == ".." {
				return nil, fmt.Errorf("invalid path %q: must not contain '..'", p)
			}
			if len(elem) > 255 {
				return nil, fmt.Errorf("invalid path %q: element longer than 255 characters", p)
			}
		}
		if strings.HasPrefix(p, "..") {
			return nil, fmt.Errorf("invalid path %q: must not start with '..'", p)
		}
		c := filepath.Clean(p)
		if c == "." {
			return nil, fmt.Errorf("invalid path %q", p)
		}
		out[c] = f
	}
	return out, nil
}

func topLevel(payload map[string]fileProjection) map[string]bool {
	out := map[string]bool{}
	for p := range payload {
		out[strings.SplitN(p, "/", 2)[0]] = true
	}
	return out
}

// listFiles returns the regular files under dir, as paths relative to it.
func listFiles(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[rel] = true
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	return out, err
}

// samePayload reports whether dir holds exactly payload, contents and modes.
func samePayload(dir string, have map[string]bool, payload map[string]fileProjection) bool {
	if len(have) != len(payload) {
		return false
	}
	for p, f := range payload {
		if !have[p] {
			return false
		}
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil || fi.Mode().Perm() != f.Mode.Perm() {
			return false
		}
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || !bytes.Equal(b, f.Data) {
			return false
		}
	}
	return true
}

func writePayload(dir string, payload map[string]fileProjection) error {
	paths := make([]string, 0, len(payload))
	for p := range payload {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f := payload[p]
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return err
		}
		// WriteFile's mode is filtered by the umask.
		if err := os.Chmod(full, f.Mode); err != nil {
			return err
		}
	}
	return nil
}

// ensureLinks creates the user-visible link of each top-level path: name -> ..data/name.
func ensureLinks(dir string, payload map[string]fileProjection) error {
	for top := range topLevel(payload) {
		link := filepath.Join(dir, top)
		target := filepath.Join(dataDirName, top)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		if err := os.RemoveAll(link); err != nil {
			return err
		}
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	return nil
}
