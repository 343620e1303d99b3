package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// OCI whiteout names (image-spec layer.md) and their overlayfs form.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	overlayOpaque  = "trusted.overlay.opaque"
	paxXattrPrefix = "SCHILY.xattr."
)

// unpacker extracts one layer's tar stream into an empty directory in the form overlayfs
// expects of a lower layer. It trusts nothing in the stream: entry names that are absolute
// or climb out with "..", and hard-link targets that do, are refused; symbolic links met on
// the way to an entry are resolved inside the layer, never outside it.
type unpacker struct {
	root string // the layer's directory
	log  *slog.Logger
	// privileged is true when the process may chown, mknod devices and set trusted.*
	// xattrs (root). Without it, ownership is left to the process, device nodes are
	// skipped, and whiteouts are refused.
	privileged bool

	size     int64
	dirTimes []pathTimes
	warned   map[string]bool
}

type pathTimes struct {
	path         string
	atime, mtime time.Time
}

// unpack reads the tar stream r to its end-of-archive marker and returns the bytes of
// regular-file content written.
func (u *unpacker) unpack(r io.Reader) (int64, error) {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read tar: %w", err)
		}
		if err := u.entry(tr, hdr); err != nil {
			return 0, fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
	// Directory times last (and deepest first), since creating entries changes them.
	sort.SliceStable(u.dirTimes, func(i, j int) bool { return len(u.dirTimes[i].path) > len(u.dirTimes[j].path) })
	for _, d := range u.dirTimes {
		if err := lutimes(d.path, d.atime, d.mtime); err != nil {
			return 0, fmt.Errorf("%s: set times: %w", d.path, err)
		}
	}
	return u.size, nil
}

// cleanName validates a tar entry name (or hard-link target) and returns it relative to
// the layer root: "" for the root itself.
func cleanName(n string) (string, error) {
	if n == "" {
		return "", fmt.Errorf("empty name")
	}
	if path.IsAbs(n) {
		return "", fmt.Errorf("absolute path %q refused", n)
	}
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q escapes the layer", n)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

func (u *unpacker) entry(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		// The layer root itself: only its attributes apply.
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("root entry is not a directory")
		}
		return u.attributes(u.root, hdr, true)
	}
	dirRel, base := path.Split(rel)
	dir, err := resolveInRoot(u.root, dirRel)
	if err != nil {
		return err
	}

	switch {
	case base == whiteoutOpaque:
		if err := u.mkdirAll(dir); err != nil {
			return err
		}
		if !u.privileged {
			return fmt.Errorf("opaque directory needs CAP_SYS_ADMIN for the %s xattr: unpack as root", overlayOpaque)
		}
		return unix.Lsetxattr(dir, overlayOpaque, []byte("y"), 0)
	case strings.HasPrefix(base, whiteoutMeta):
		return nil // aufs bookkeeping (.wh..wh.plnk and the like): not content
	case strings.HasPrefix(base, whiteoutPrefix):
		victim := base[len(whiteoutPrefix):]
		if victim == "" || victim == "." || victim == ".." {
			return fmt.Errorf("bad whiteout name")
		}
		if err := u.mkdirAll(dir); err != nil {
			return err
		}
		p := filepath.Join(dir, victim)
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		if !u.privileged {
			return fmt.Errorf("whiteout needs CAP_MKNOD for a 0/0 character device: unpack as root")
		}
		return unix.Mknod(p, unix.S_IFCHR, 0)
	}

	if err := u.mkdirAll(dir); err != nil {
		return err
	}
	p := filepath.Join(dir, base)
	switch hdr.Typeflag {
	case tar.TypeDir:
		fi, err := os.Lstat(p)
		if err == nil && !fi.IsDir() {
			if err := os.Remove(p); err != nil {
				return err
			}
			err = fs.ErrNotExist
		}
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		if err := replace(p); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		n, err := io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		u.size += n
	case tar.TypeSymlink:
		if err := replace(p); err != nil {
			return err
		}
		if err := os.Symlink(hdr.Linkname, p); err != nil {
			return err
		}
	case tar.TypeLink:
		return u.hardlink(p, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := replace(p); err != nil {
			return err
		}
		mode := uint32(hdr.Mode & 0o7777)
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode |= unix.S_IFCHR
		case tar.TypeBlock:
			mode |= unix.S_IFBLK
		default:
			mode |= unix.S_IFIFO
		}
		if hdr.Typeflag != tar.TypeFifo && !u.privileged {
			u.warnOnce("devices", "device nodes skipped: unpacking without CAP_MKNOD", "first", rel)
			return nil
		}
		if err := unix.Mknod(p, mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return err
		}
	default:
		u.warnOnce(fmt.Sprintf("type%c", hdr.Typeflag), "tar entry type not supported: skipped", "type", string(hdr.Typeflag), "first", rel)
		return nil
	}
	return u.attributes(p, hdr, hdr.Typeflag == tar.TypeDir)
}

// hardlink links p to the entry hdr.Linkname names, which must already be in this layer.
func (u *unpacker) hardlink(p string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if target == "" {
		return fmt.Errorf("hard link to the layer root")
	}
	tdir, tbase := path.Split(target)
	tparent, err := resolveInRoot(u.root, tdir)
	if err != nil {
		return err
	}
	tp := filepath.Join(tparent, tbase)
	if tp == p {
		return nil
	}
	if err := replace(p); err != nil {
		return err
	}
	// link(2) does not follow a symbolic link at tp: the link itself is linked.
	return os.Link(tp, p)
}

// attributes applies ownership, mode, xattrs and times from hdr to p, in that order
// (chown clears set-user-ID bits and file capabilities).
func (u *unpacker) attributes(p string, hdr *tar.Header, isDir bool) error {
	if u.privileged {
		if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := os.Chmod(p, hdr.FileInfo().Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
	}
	if err := u.xattrs(p, hdr); err != nil {
		return err
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	if isDir {
		u.dirTimes = append(u.dirTimes, pathTimes{p, atime, hdr.ModTime})
		return nil
	}
	if err := lutimes(p, atime, hdr.ModTime); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func (u *unpacker) xattrs(p string, hdr *tar.Header) error {
	keys := make([]string, 0, len(hdr.PAXRecords))
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxXattrPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		attr := strings.TrimPrefix(k, paxXattrPrefix)
		if strings.HasPrefix(attr, "trusted.overlay.") {
			// Overlayfs reads these from lower layers (redirects, opacity): only the store's
			// own whiteout translation may set them.
			u.warnOnce("overlayxattr", "overlay xattrs in a layer ignored", "xattr", attr)
			continue
		}
		err := unix.Lsetxattr(p, attr, []byte(hdr.PAXRecords[k]), 0)
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EOPNOTSUPP) {
			u.warnOnce("xattr:"+attr, "xattr not supported here: skipped", "xattr", attr, "error", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("set xattr %s: %w", attr, err)
		}
	}
	return nil
}

func (u *unpacker) mkdirAll(dir string) error {
	if dir == u.root {
		return nil
	}
	fi, err := os.Lstat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", strings.TrimPrefix(dir, u.root+"/"))
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// A parent the stream did not list: create it like the runtimes do, 0755.
	if err := u.mkdirAll(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func (u *unpacker) warnOnce(key, msg string, args ...any) {
	if u.warned == nil {
		u.warned = map[string]bool{}
	}
	if u.warned[key] || u.log == nil {
		return
	}
	u.warned[key] = true
	u.log.Warn(msg, args...)
}

// replace removes whatever is at p so that a new entry can take its place; a directory
// goes with its contents, as a later entry for the same name overrides an earlier one.
func replace(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return os.RemoveAll(p)
	}
	return os.Remove(p)
}

func lutimes(p string, atime, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if atime.IsZero() {
		ts[0] = unix.Timespec{Sec: 0, Nsec: unix.UTIME_OMIT}
	}
	if mtime.IsZero() {
		ts[1] = unix.Timespec{Sec: 0, Nsec: unix.UTIME_OMIT}
	}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// resolveInRoot returns the path under root that the relative path rel names, following
// symbolic links as if root were "/" (an absolute link target starts again at root, and
// ".." stops at root), so that no link inside a layer can lead outside it. Components
// that do not exist are kept as they are.
func resolveInRoot(root, rel string) (string, error) {
	resolved := "" // relative to root, clean, free of links
	rest := rel
	links := 0
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, "/")
		switch part {
		case "", ".":
			continue
		case "..":
			if d := path.Dir(resolved); d != "." {
				resolved = d
			} else {
				resolved = ""
			}
			continue
		}
		next := path.Join(resolved, part)
		fi, err := os.Lstat(filepath.Join(root, next))
		if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Mode()&fs.ModeSymlink == 0) {
			resolved = next
			continue
		}
		if err != nil {
			return "", err
		}
		links++
		if links > 255 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", rel)
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			resolved = ""
		}
		rest = target + "/" + rest
	}
	return filepath.Join(root, resolved), nil
}
