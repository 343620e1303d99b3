package images

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// filesOf returns the entries of img's flattened filesystem: name -> header.
func filesOf(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]*tar.Header{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(hdr.Name, "/")] = hdr
	}
}

func TestSkiffhostImage(t *testing.T) {
	img, err := Skiffhost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/skiffhost"}) || !slices.Equal(cf.Config.Cmd, []string{"serve"}) || cf.OS != "linux" {
		t.Errorf("config = %+v", cf)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Errorf("%d layers, want 1", len(layers))
	}
	files := filesOf(t, img)
	if h := files["skiffhost"]; h == nil || h.Mode&0o111 == 0 {
		t.Fatalf("/skiffhost missing or not executable: %+v", h)
	}
	if h := files["tmp"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("/tmp: %+v", h)
	}
	if size, _ := layers[0].Size(); size > 8<<20 {
		t.Errorf("layer is %d bytes: keep the image small", size)
	}
	again, _ := Skiffhost(context.Background())
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two calls gave different images: %s %s", d1, d2)
	}
	nonRoot, err := NonRoot(img, 65534)
	if err != nil {
		t.Fatal(err)
	}
	if cf, _ := nonRoot.ConfigFile(); cf.Config.User != "65534" || !slices.Equal(cf.Config.Entrypoint, []string{"/skiffhost"}) {
		t.Errorf("NonRoot config = %+v", cf.Config)
	}
}

func TestBusyboxImage(t *testing.T) {
	img, err := Busybox(context.Background())
	if _, statErr := os.Stat(BusyboxPath); statErr != nil {
		if err == nil || !strings.Contains(err.Error(), "apt-get install busybox-static") {
			t.Fatalf("without busybox: err = %v, want the install hint", err)
		}
		t.Skip("no busybox on this machine")
	}
	if err != nil {
		t.Fatal(err)
	}
	files := filesOf(t, img)
	for _, applet := range []string{"sh", "tar", "cat", "ls", "echo", "sleep", "wget", "ps", "id", "hostname", "timeout"} {
		h := files["bin/"+applet]
		if h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("/bin/%s: %+v", applet, h)
		}
	}
	for _, f := range []string{"bin/busybox", "etc/passwd", "etc/group"} {
		if files[f] == nil {
			t.Errorf("/%s missing", f)
		}
	}
	if cf, _ := img.ConfigFile(); !slices.Equal(cf.Config.Cmd, []string{"sh"}) {
		t.Errorf("Cmd = %v", cf.Config.Cmd)
	}
}

func TestRegistryAuthAndTarball(t *testing.T) {
	img, err := Image(v1.Config{Cmd: []string{"/x"}}, mustLayer(t, File{Name: "x", Mode: 0o755, Data: []byte("x")}))
	if err != nil {
		t.Fatal(err)
	}
	reg := StartRegistry(t, "bob", "pw")
	ref := reg.Push(t, "team/x:v1", img)
	if ref != reg.Host+"/team/x:v1" {
		t.Errorf("ref = %s", ref)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	if _, err := remote.Image(r); err == nil {
		t.Error("anonymous pull accepted")
	}
	if _, err := remote.Image(r, remote.WithAuth(&authn.Basic{Username: "bob", Password: "nope"})); err == nil {
		t.Error("wrong password accepted")
	}
	got, err := remote.Image(r, remote.WithAuth(&authn.Basic{Username: "bob", Password: "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}
	if reg.Count(http.MethodGet, "/manifests/v1") == 0 || len(reg.Requests()) == 0 {
		t.Error("requests not recorded")
	}

	p := filepath.Join(t.TempDir(), "x.tar")
	if err := WriteTarball(p, "example.com/x:v1", img); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("example.com/x:v1")
	back, err := tarball.ImageFromPath(p, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := back.Digest(); d != want {
		t.Errorf("tarball holds %s, want %s", d, want)
	}
}

func mustLayer(t *testing.T, files ...File) v1.Layer {
	t.Helper()
	l, err := Layer(files...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// skiffhostBin writes the skiffhost binary to a temporary file and returns its path.
func skiffhostBin(t *testing.T) string {
	t.Helper()
	bin, err := skiffhostBinary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "skiffhost")
	if err := os.WriteFile(p, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestSkiffhostCommands(t *testing.T) {
	bin := skiffhostBin(t)
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, []byte("content\n"), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"exit", "3"}, 3, "exiting 3\n"},
		{[]string{"exit", "0", "--after", "1ms"}, 0, "exiting 0\n"},
		{[]string{"exit", "300"}, 2, ""},
		{[]string{"sleep", "1ms"}, 0, ""},
		{[]string{"cat", file}, 0, "content\n"},
		{[]string{"cat", "/nonexistent"}, 1, ""},
		{[]string{"tcp-connect", ln.Addr().String()}, 0, "connected to " + ln.Addr().String() + "\n"},
		{[]string{"dns-lookup", "localhost"}, 0, ""},
		{[]string{"stress", "--mem-mib", "4", "--duration", "1ms"}, 0, "allocated 4 MiB\ndone\n"},
		{[]string{"stress", "--cpu", "1", "--duration", "1ms"}, 0, ""},
		{[]string{"no-such-command"}, 2, ""},
		{nil, 2, ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := exec.Command(bin, tc.args...).Output()
			if code := exitCode(err); code != tc.wantCode {
				t.Fatalf("exit code %d, want %d (%v)", code, tc.wantCode, err)
			}
			if tc.wantOut != "" && string(out) != tc.wantOut {
				t.Errorf("stdout %q, want %q", out, tc.wantOut)
			}
		})
	}
}

func TestSkiffhostServe(t *testing.T) {
	bin := skiffhostBin(t)
	cmd := exec.Command(bin, "serve", "--port", "0")
	cmd.Env = append(os.Environ(), "SKIFF_TEST=yes")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatal("no output")
	}
	line := sc.Text() // "serving on [::]:PORT"
	_, port, _ := strings.Cut(line[strings.LastIndex(line, "]"):], ":")
	base := "http://127.0.0.1:" + port
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	host, _ := os.Hostname()
	for path, want := range map[string]string{"/": host + "\n", "/hostname": host + "\n", "/echo?msg=hi%20there": "hi there\n", "/healthz": "ok\n",
		"/clientip": "127.0.0.1\n"} {
		if code, body := get(path); code != 200 || body != want {
			t.Errorf("GET %s = %d %q, want %q", path, code, body, want)
		}
	}
	if _, body := get("/env"); !strings.Contains(body, "SKIFF_TEST=yes") {
		t.Errorf("/env lacks SKIFF_TEST: %q", body)
	}
	if code, body := get("/file?path=/etc/hostname"); code != 200 || body == "" {
		t.Errorf("/file = %d %q", code, body)
	}
	if code, _ := get("/file?path=/nonexistent"); code != 404 {
		t.Errorf("/file of a missing file = %d", code)
	}
	out, err := exec.Command(bin, "get", base+"/echo?msg=got").CombinedOutput()
	if err != nil || string(out) != "got\n" {
		t.Errorf("skiffhost get: %q, %v", out, err)
	}
	if out, err := exec.Command(bin, "get", base+"/nonexistent").CombinedOutput(); exitCode(err) != 1 || !strings.Contains(string(out), "404") {
		t.Errorf("skiffhost get of a 404: exit %d, %q", exitCode(err), out)
	}
	if code, body := get("/exit?code=7"); code != 200 || body != "exiting 7\n" {
		t.Errorf("/exit = %d %q", code, body)
	}
	err = cmd.Wait()
	if code := exitCode(err); code != 7 {
		t.Errorf("exit code after /exit?code=7: %d (%v)", code, err)
	}
}

func TestSkiffhostLogSignals(t *testing.T) {
	bin := skiffhostBin(t)
	for _, ignore := range []bool{false, true} {
		args := []string{"log-signals"}
		if ignore {
			args = append(args, "--ignore-term")
		}
		cmd := exec.Command(bin, args...)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		expect := func(want string) {
			t.Helper()
			if !sc.Scan() || sc.Text() != want {
				t.Fatalf("got %q, want %q", sc.Text(), want)
			}
		}
		expect("ready")
		cmd.Process.Signal(syscall.SIGHUP)
		expect("SIGHUP")
		cmd.Process.Signal(syscall.SIGUSR1)
		expect("SIGUSR1")
		cmd.Process.Signal(syscall.SIGTERM)
		expect("SIGTERM")
		if ignore {
			cmd.Process.Signal(syscall.SIGINT)
			expect("SIGINT")
			cmd.Process.Kill()
			cmd.Wait()
			continue
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("exit after SIGTERM: %v, want 0", err)
		}
	}
}
