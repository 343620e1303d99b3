package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Names under a container directory given to Rootfs.
const (
	rootfsName = "rootfs"
	upperName  = "upper"
	workName   = "work"
)

// maxMountData is the most the kernel copies of mount(2) options: one page, less the NUL.
var maxMountData = os.Getpagesize() - 1

// Rootfs mounts img's root filesystem at dir/rootfs and returns that path: an overlayfs
// whose lower directories are the image's unpacked layers (top first) and whose upper and
// work directories are dir/upper and dir/work, so that the container's writes stay in dir.
// It is idempotent: if dir/rootfs is already mounted it returns it as it is. The caller
// holds a Use reference to img for as long as the mount exists. Mount options are kept
// short (layers are named by short links, relative to the store) so that images with
// more than a hundred layers fit the kernel's one-page limit.
func (s *Store) Rootfs(ctx context.Context, img Image, dir string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(dir, ",:") {
		return "", fmt.Errorf("rootfs %s: the path may not contain ',' or ':' (overlayfs options)", dir)
	}
	rootfs := filepath.Join(dir, rootfsName)
	for _, d := range []string{dir, filepath.Join(dir, upperName), filepath.Join(dir, workName), rootfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("rootfs %s: %w", dir, err)
		}
	}
	if mounted, err := isMountPoint(rootfs); err != nil {
		return "", fmt.Errorf("rootfs %s: %w", rootfs, err)
	} else if mounted {
		return rootfs, nil
	}
	images, err := s.current()
	if err != nil {
		return "", err
	}
	r, ok := images[img.ID]
	if !ok {
		return "", fmt.Errorf("rootfs %s: image %s: %w", dir, img.ID, ErrNotFound)
	}
	// Overlayfs refuses a directory twice among its lowers; a layer that recurs in an
	// image adds nothing below its topmost occurrence, which hides everything it has.
	var lowers []string
	seen := map[string]bool{}
	for i := len(r.Layers) - 1; i >= 0; i-- {
		if seen[r.Layers[i].DiffID] {
			continue
		}
		seen[r.Layers[i].DiffID] = true
		short, err := s.shortLink(hexOf(r.Layers[i].DiffID), true)
		if err != nil {
			return "", fmt.Errorf("rootfs %s: %w", dir, err)
		}
		lowers = append(lowers, short)
	}
	if len(lowers) == 0 {
		lowers = []string{filepath.Join("..", emptyDir)} // overlayfs needs a lower directory
	}
	data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lowers, ":"), filepath.Join(dir, upperName), filepath.Join(dir, workName))
	if len(data) > maxMountData {
		return "", fmt.Errorf("rootfs %s: image %s has %d layers: the overlayfs options take %d bytes, more than the kernel's %d", dir, shortID(img.ID), len(r.Layers), len(data), maxMountData)
	}
	if err := mountIn(filepath.Join(s.dir, linksDir), "overlay", rootfs, "overlay", 0, data); err != nil {
		return "", fmt.Errorf("rootfs %s: mount overlay of image %s: %w", dir, shortID(img.ID), err)
	}
	return rootfs, nil
}

// mountIn calls mount(2) with cwd as the working directory, so that relative paths in
// data resolve there. The working directory belongs to the whole process, so the call
// runs on an OS thread of its own that stops sharing it (unshare CLONE_FS) and that is
// never handed back to the Go scheduler: the goroutine exits with the thread locked, and
// the runtime ends the thread.
func mountIn(cwd, source, target, fstype string, flags uintptr, data string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: this thread's filesystem context is private from here on.
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare CLONE_FS: %w", err)
			return
		}
		if err := unix.Chdir(cwd); err != nil {
			errc <- err
			return
		}
		errc <- unix.Mount(source, target, fstype, flags, data)
	}()
	return <-errc
}

// ReleaseRootfs unmounts dir/rootfs, lazily (MNT_DETACH) if it is busy, and removes dir
// with the container's writable layer. A dir that does not exist is not an error.
func (s *Store) ReleaseRootfs(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	rootfs := filepath.Join(dir, rootfsName)
	for range 8 { // mounts stacked on the same point come off one at a time
		mounted, err := isMountPoint(rootfs)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return fmt.Errorf("release rootfs %s: %w", rootfs, err)
		}
		if !mounted {
			break
		}
		err = unix.Unmount(rootfs, 0)
		if errors.Is(err, unix.EBUSY) {
			s.log.Info("rootfs busy: detaching it", "rootfs", rootfs)
			err = unix.Unmount(rootfs, unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("release rootfs %s: unmount: %w", rootfs, err)
		}
	}
	if mounted, err := isMountPoint(rootfs); err == nil && mounted {
		return fmt.Errorf("release rootfs %s: still mounted", rootfs)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("release rootfs %s: %w", dir, err)
	}
	return nil
}

// isMountPoint reports whether p is the root of a mount: its device differs from its
// parent's, or it is its parent (the root).
func isMountPoint(p string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, fs.ErrNotExist
		}
		return false, err
	}
	if err := unix.Lstat(filepath.Dir(p), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev || st.Ino == parent.Ino, nil
}
