package shim

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"
)

// The test binary is libcontainer's init for the containers its tests create.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
}

// serveTest serves a shim for a pod directory in a temp dir and returns its client.
func serveTest(t *testing.T) (*Server, *Client, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := NewServer(ServerConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, SocketName)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	c := NewClient(sock)
	t.Cleanup(func() {
		c.Shutdown(context.Background())
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("shim did not stop")
		}
		c.Close()
	})
	return s, c, dir
}

func TestProtocolErrors(t *testing.T) {
	_, c, _ := serveTest(t)
	ctx := context.Background()
	info, err := c.Info(ctx)
	if err != nil || info.Pid != os.Getpid() {
		t.Fatalf("info %+v %v", info, err)
	}
	if st, err := c.List(ctx); err != nil || len(st) != 0 {
		t.Errorf("list %v %v", st, err)
	}
	if _, err := c.Get(ctx, "nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("get unknown: %v", err)
	}
	if err := c.Start(ctx, "nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("start unknown: %v", err)
	}
	if _, err := c.Create(ctx, &CreateRequest{ID: "x"}); err == nil || !strings.Contains(err.Error(), "a config, a process and a log path are required") {
		t.Errorf("create without config: %v", err)
	}
	if _, err := c.Exec(ctx, "nope", ExecRequest{Args: []string{"true"}}, ExecIO{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exec in unknown: %v", err)
	}
	if err := c.Remove(ctx, "nope"); err != nil {
		t.Errorf("remove unknown: %v", err)
	}
}

// busyboxRootfs makes a directory root filesystem of the host's static busybox.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs /bin/busybox")
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	b, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(root, "bin/busybox"), b, 0o755)
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range strings.Fields(string(out)) {
		os.Symlink("busybox", filepath.Join(root, "bin", a))
	}
	return root
}

func TestProtocolContainerLifecycle(t *testing.T) {
	root := busyboxRootfs(t)
	_, c, dir := serveTest(t)
	ctx := context.Background()
	spec := specconv.Example()
	spec.Root.Path = root
	spec.Process.Terminal = false
	cgroup := "/skiff-shim-test-" + filepath.Base(dir)
	spec.Linux.CgroupsPath = cgroup + "/c1"
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: "c1", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, sub := range []string{"cpu", "memory", "pids", "devices", "freezer", "blkio", "cpuacct", "cpuset", "systemd", "unified"} {
			unix.Rmdir(filepath.Join("/sys/fs/cgroup", sub, cgroup))
		}
	})

	events := make(chan Event, 16)
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.Events(ectx, func(ev Event) { events <- ev })
	time.Sleep(50 * time.Millisecond) // let the subscription in

	logPath := filepath.Join(dir, "logs", "c1", "0.log")
	st, err := c.Create(ctx, &CreateRequest{
		ID: "c1", Name: "main", Attempt: 0, Config: cfg, LogPath: logPath,
		Process: Process{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 4"}, Env: []string{"PATH=/bin"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusCreated || st.Pid != 0 {
		t.Errorf("created %+v", st)
	}
	if err := c.Start(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	var got State
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err = c.Get(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == StatusExited || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.Status != StatusExited || got.ExitCode != 4 || got.Reason != ReasonError {
		t.Errorf("exited %+v", got)
	}
	seen := map[Status]bool{}
	timeout := time.After(2 * time.Second)
	for !seen[StatusExited] {
		select {
		case ev := <-events:
			seen[ev.Status] = true
		case <-timeout:
			t.Fatalf("events seen: %v", seen)
		}
	}
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), " stdout F out\n") || !strings.Contains(string(b), " stderr F err\n") {
		t.Errorf("log %q", b)
	}
	// The record survives a new server on the same directory.
	s2, err := NewServer(ServerConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if l := s2.List(); len(l) != 1 || l[0].Status != StatusExited || l[0].Name != "main" {
		t.Errorf("a new shim sees %+v", l)
	}
	// A process that cannot be started leaves the container exited: 128, StartError.
	if _, err := c.Create(ctx, &CreateRequest{ID: "c2", Config: cfg, LogPath: logPath + "2",
		Process: Process{Args: []string{"/nope"}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "c2"); err == nil || !strings.Contains(err.Error(), "/nope") {
		t.Errorf("start of /nope: %v", err)
	}
	if st, _ := c.Get(ctx, "c2"); st.Status != StatusExited || st.ExitCode != 128 || st.Reason != ReasonStartError || !strings.Contains(st.Message, "/nope") {
		t.Errorf("after a failed start: %+v", st)
	}
	if err := c.Remove(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.List(ctx); len(l) != 0 {
		t.Errorf("after remove: %+v", l)
	}
}
