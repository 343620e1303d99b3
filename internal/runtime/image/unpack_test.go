package image

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

type entry struct {
	hdr  tar.Header
	data string
}

func file(name, data string) entry {
	return entry{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}, data}
}
func dir(name string, mode int64) entry {
	return entry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}}
}
func symlink(name, target string) entry {
	return entry{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}
func hardlink(name, target string) entry {
	return entry{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}}
}

func tarOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unpackInto unpacks entries into a fresh root inside a fresh parent directory, and returns
// the root.
func unpackInto(t *testing.T, privileged bool, entries ...entry) (string, error) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	u := &unpacker{root: root, log: testLog(t), privileged: privileged}
	_, err := u.unpack(bytes.NewReader(tarOf(t, entries...)))
	return root, err
}

func TestUnpackRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
	}{
		{"dot-dot", []entry{file("../evil", "x")}},
		{"dot-dot inside", []entry{file("a/../../evil", "x")}},
		{"absolute", []entry{file("/evil", "x")}},
		{"hard link out", []entry{hardlink("h", "../../etc/passwd")}},
		{"hard link absolute", []entry{hardlink("h", "/etc/passwd")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, err := unpackInto(t, false, tc.entries...)
			if err == nil {
				t.Fatal("unpack succeeded")
			}
			if !strings.Contains(err.Error(), "refused") && !strings.Contains(err.Error(), "escapes") {
				t.Errorf("error %q should say the path was refused", err)
			}
			if got := listDir(t, filepath.Dir(root)); len(got) != 1 || got[0] != "root" {
				t.Errorf("written beside the root: %v", got)
			}
		})
	}
}

func TestUnpackResolvesSymlinksInsideTheLayer(t *testing.T) {
	root, err := unpackInto(t, false,
		symlink("abs", "/"),
		symlink("up", "../../../.."),
		symlink("etc", "/real/etc"),
		file("abs/tmp/one", "1"),
		file("up/two", "2"),
		file("etc/three", "3"),
	)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"tmp/one": "1", "two": "2", "real/etc/three": "3"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if got := listDir(t, filepath.Dir(root)); got[0] != "root" || !strings.HasPrefix(strings.Join(got, " "), "root") {
		t.Errorf("written beside the root: %v", got)
	}
	for _, p := range []string{"abs", "up", "etc"} {
		if fi, err := os.Lstat(filepath.Join(root, p)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is not a symlink any more: %v", p, err)
		}
	}
	if target, _ := os.Readlink(filepath.Join(root, "abs")); target != "/" {
		t.Errorf("abs -> %q, want /", target)
	}
}

func TestUnpackLinksAndOverrides(t *testing.T) {
	root, err := unpackInto(t, false,
		dir("d/", 0o755),
		file("d/a", "first"),
		file("d/a", "second"), // a later entry overrides
		hardlink("d/b", "d/a"),
		symlink("d/s", "a"),
		hardlink("d/hs", "d/s"), // a hard link to a symlink is a symlink
		dir("x/", 0o755),
		file("x/inner", "gone with x"),
		file("x", "x is a file now"),
	)
	if err != nil {
		t.Fatal(err)
	}
	var a, b unix.Stat_t
	unix.Lstat(filepath.Join(root, "d/a"), &a)
	unix.Lstat(filepath.Join(root, "d/b"), &b)
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("d/b is not a hard link of d/a: ino %d %d nlink %d", a.Ino, b.Ino, a.Nlink)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "d/b")); string(got) != "second" {
		t.Errorf("d/b = %q", got)
	}
	if target, err := os.Readlink(filepath.Join(root, "d/hs")); err != nil || target != "a" {
		t.Errorf("d/hs -> %q, %v", target, err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "x")); string(got) != "x is a file now" {
		t.Errorf("x = %q", got)
	}
}

func TestUnpackWhiteoutsNeedPrivilege(t *testing.T) {
	for _, name := range []string{".wh.gone", "d/.wh..wh..opq"} {
		_, err := unpackInto(t, false, file(name, ""))
		if err == nil || !strings.Contains(err.Error(), "as root") {
			t.Errorf("%s unprivileged: err = %v, want a refusal that says why", name, err)
		}
	}
}

func TestUnpackWhiteoutsToOverlayForm(t *testing.T) {
	requireRoot(t)
	root, err := unpackInto(t, true,
		dir("dir/", 0o755),
		file("dir/.wh..wh..opq", ""),
		file("dir/new", "new"),
		file(".wh.gone", ""),
		file("sub/.wh.x", ""), // parent not listed: created
		file(".wh..wh.plnk", ""),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"gone", "sub/x"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("%s: mode %o rdev %d, want a 0/0 character device", p, st.Mode, st.Rdev)
		}
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(root, "dir"), overlayOpaque, buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("dir: %s = %q, %v; want y", overlayOpaque, buf[:n], err)
	}
	got := listDir(t, root)
	for _, p := range got {
		if strings.Contains(p, ".wh.") {
			t.Errorf("whiteout file %s left in the layer", p)
		}
	}
}

func TestUnpackAttributes(t *testing.T) {
	requireRoot(t)
	mtime := time.Unix(1600000000, 0)
	suid := file("bin/tool", "#!")
	suid.hdr.Mode, suid.hdr.Uid, suid.hdr.Gid = 0o4755, 1000, 1001
	suid.hdr.ModTime = mtime
	tmp := dir("tmp/", 0o1777)
	tmp.hdr.ModTime = mtime
	xf := file("x", "x")
	xf.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.skiff": "yes", "SCHILY.xattr.trusted.overlay.opaque": "y"}
	null := entry{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}}
	fifo := entry{hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o600}}
	link := symlink("ln", "x")
	link.hdr.Uid, link.hdr.Gid = 7, 8
	root, err := unpackInto(t, true, suid, tmp, xf, null, fifo, link, entry{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o711}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(p string, mode uint32, uid, gid uint32) unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatal(err)
		}
		if mode != 0 && st.Mode != mode {
			t.Errorf("%s: mode %o, want %o", p, st.Mode, mode)
		}
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
		}
		return st
	}
	st := check("bin/tool", unix.S_IFREG|0o4755, 1000, 1001)
	if st.Mtim.Sec != mtime.Unix() {
		t.Errorf("bin/tool mtime %d, want %d", st.Mtim.Sec, mtime.Unix())
	}
	st = check("tmp", unix.S_IFDIR|0o1777, 0, 0)
	if st.Mtim.Sec != mtime.Unix() {
		t.Errorf("tmp mtime %d, want %d", st.Mtim.Sec, mtime.Unix())
	}
	if st := check("dev/null", unix.S_IFCHR|0o666, 0, 0); unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Errorf("dev/null rdev %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	check("fifo", unix.S_IFIFO|0o600, 0, 0)
	check("ln", 0, 7, 8)
	check(".", unix.S_IFDIR|0o711, 0, 0)
	buf := make([]byte, 16)
	if n, err := unix.Lgetxattr(filepath.Join(root, "x"), "user.skiff", buf); err != nil || string(buf[:n]) != "yes" {
		t.Errorf("x: user.skiff = %q, %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(root, "x"), overlayOpaque, buf); err == nil {
		t.Errorf("x: a layer set %s itself", overlayOpaque)
	}
}

func FuzzResolveInRoot(f *testing.F) {
	root := f.TempDir()
	os.Symlink("/", filepath.Join(root, "abs"))
	os.Symlink("../../..", filepath.Join(root, "up"))
	os.Symlink("loop", filepath.Join(root, "loop"))
	os.MkdirAll(filepath.Join(root, "a/b"), 0o755)
	for _, seed := range []string{"", "a/b", "../x", "abs/etc", "up/up/x", "loop/x", "a/../../..", "./a//b/./../c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		got, err := resolveInRoot(root, rel)
		if err != nil {
			return
		}
		if got != root && !strings.HasPrefix(got, root+"/") {
			t.Fatalf("resolveInRoot(%q) = %s, outside %s", rel, got, root)
		}
	})
}

func FuzzCleanName(f *testing.F) {
	for _, seed := range []string{"a", "./a", "../a", "/a", "a/../..", "a/./b/", "."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, n string) {
		c, err := cleanName(n)
		if err != nil {
			return
		}
		if strings.HasPrefix(c, "/") || c == ".." || strings.HasPrefix(c, "../") {
			t.Fatalf("cleanName(%q) = %q escapes", n, c)
		}
	})
}
