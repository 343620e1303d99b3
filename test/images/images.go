// Package images builds the container images skiff's tests run, from this repository's
// code and the host's busybox, and serves them from an in-process registry or writes them
// as tarballs, so that no test needs the network.
package images

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxPath is where Debian's busybox-static package installs busybox.
const BusyboxPath = "/bin/busybox"

// DefaultPath is the PATH the test images set.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// epoch is the modification time of every file in the images, so that an image's digest
// depends on its content only.
var epoch = time.Unix(0, 0).UTC()

var skiffhost struct {
	mu  sync.Mutex
	bin []byte
}

// Skiffhost returns the skiffhost test image: test/images/skiffhost built with
// `CGO_ENABLED=0 go build` (once per process), as /skiffhost in a one-layer image with
// /etc/passwd and /etc/group (root, and nobody with uid 65534), /tmp (mode 1777),
// ENTRYPOINT ["/skiffhost"] and CMD ["serve"].
func Skiffhost(ctx context.Context) (v1.Image, error) {
	bin, err := skiffhostBinary(ctx)
	if err != nil {
		return nil, err
	}
	files := baseFiles()
	files = append(files, File{Name: "skiffhost", Mode: 0o755, Data: bin})
	layer, err := Layer(files...)
	if err != nil {
		return nil, err
	}
	return Image(v1.Config{
		Entrypoint: []string{"/skiffhost"},
		Cmd:        []string{"serve"},
		Env:        []string{DefaultPath},
		ExposedPorts: map[string]struct{}{
			"8080/tcp": {},
		},
	}, layer)
}

// skiffhostBinary builds skiffhost into a temporary file, reads it and removes the file:
// `go build` reuses its cache, and nothing is left on disk.
func skiffhostBinary(ctx context.Context) ([]byte, error) {
	skiffhost.mu.Lock()
	defer skiffhost.mu.Unlock()
	if skiffhost.bin != nil {
		return skiffhost.bin, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("skiffhost: cannot locate the package source")
	}
	srcDir := filepath.Join(filepath.Dir(file), "skiffhost")
	tmp, err := os.MkdirTemp("", "skiffhost-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "skiffhost")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if !fileExists(goBin) {
			return nil, fmt.Errorf("build skiffhost: no go command on PATH")
		}
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build skiffhost: %w: %s", err, bytes.TrimSpace(b))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	skiffhost.bin = bin
	return bin, nil
}

var installOnce sync.Once

// EnsureBusybox installs Debian's busybox-static when /bin/busybox is missing and the process
// runs as root, and reports whether /bin/busybox is there.
func EnsureBusybox(ctx context.Context) bool {
	if !fileExists(BusyboxPath) && os.Geteuid() == 0 {
		installBusybox(ctx)
	}
	return fileExists(BusyboxPath)
}

// installBusybox installs Debian's busybox-static, once per process; failures show as the
// missing file afterwards.
func installBusybox(ctx context.Context) {
	installOnce.Do(func() {
		env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		install := func() error {
			cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "busybox-static")
			cmd.Env = env
			return cmd.Run()
		}
		if install() != nil {
			update := exec.CommandContext(ctx, "apt-get", "update")
			update.Env = env
			if update.Run() == nil {
				_ = install()
			}
		}
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Busybox returns an image of the host's static busybox (Debian package busybox-static):
// /bin/busybox with a symbolic link in /bin for each of its applets (sh, tar, cat, ls,
// echo, sleep, wget, ps, id, hostname, ...), /etc/passwd, /etc/group, /tmp, and CMD ["sh"].
// Note: busybox 1.35's wget crashes when given -T; use `timeout N wget -qO- URL`.
//
// When busybox is missing and the process runs as root, Busybox installs Debian's
// busybox-static with apt-get first, so that the tests need no preparation on a fresh machine.
func Busybox(ctx context.Context) (v1.Image, error) {
	if !fileExists(BusyboxPath) && os.Geteuid() == 0 {
		installBusybox(ctx)
	}
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w (install it: apt-get install busybox-static)", err)
	}
	out, err := exec.CommandContext(ctx, BusyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox image: %s --list: %w", BusyboxPath, err)
	}
	files := baseFiles()
	files = append(files, File{Name: "bin/", Mode: 0o755}, File{Name: "bin/busybox", Mode: 0o755, Data: bin})
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		files = append(files, File{Name: "bin/" + applet, Link: "busybox"})
	}
	layer, err := Layer(files...)
	if err != nil {
		return nil, err
	}
	return Image(v1.Config{Cmd: []string{"sh"}, Env: []string{DefaultPath}}, layer)
}

// NonRoot returns img with USER set to uid, for runAsNonRoot tests.
func NonRoot(img v1.Image, uid int) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg := *cf.Config.DeepCopy()
	cfg.User = strconv.Itoa(uid)
	return mutate.Config(img, cfg)
}

// baseFiles are the files every test image has.
func baseFiles() []File {
	return []File{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{Name: "tmp/", Mode: 0o1777},
		{Name: "root/", Mode: 0o700},
	}
}

// File is one entry of a layer built by Layer.
type File struct {
	// Name is the path in the layer, without a leading slash; a trailing slash makes a
	// directory. Whiteouts are written as the OCI spec names them (".wh.name",
	// ".wh..wh..opq").
	Name string
	// Mode is the permission bits (with setuid, setgid and sticky as 0o4000, 0o2000, 0o1000).
	Mode int64
	// Data is a regular file's content.
	Data []byte
	// Link makes a symbolic link to Link; HardLink a hard link to the entry named HardLink.
	Link, HardLink string
	// Uid and Gid own the entry.
	Uid, Gid int
	// Xattrs are extended attributes, e.g. "user.test".
	Xattrs map[string]string
}

// Layer builds an uncompressed-tar layer (gzip-compressed as a blob) from files, in order.
func Layer(files ...File) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Mode: f.Mode, Uid: f.Uid, Gid: f.Gid, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case strings.HasSuffix(f.Name, "/"):
			hdr.Typeflag = tar.TypeDir
		case f.Link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Link
			if hdr.Mode == 0 {
				hdr.Mode = 0o777
			}
		case f.HardLink != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, f.HardLink
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
		}
		if len(f.Xattrs) > 0 {
			hdr.PAXRecords = map[string]string{}
			keys := make([]string, 0, len(f.Xattrs))
			for k := range f.Xattrs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				hdr.PAXRecords["SCHILY.xattr."+k] = f.Xattrs[k]
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", f.Name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// Image returns an image of layers (bottom first) with cfg, for this machine's platform.
func Image(cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = cfg
	cf.Created = v1.Time{Time: epoch}
	return mutate.ConfigFile(img, cf)
}
