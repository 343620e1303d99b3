// Package e2e runs what a user does: a real `skiff server` process and the real kubectl from
// PATH (with a fresh --cache-dir, since kubectl caches discovery).
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-project/skiff/internal/testreexec"
)

// skiffBin is the binary under test: $SKIFF_BIN (with skiff-shim beside it), or one built
// from this repository with its shim.
var skiffBin string

func TestMain(m *testing.M) {
	skiffBin = os.Getenv("SKIFF_BIN")
	var cleanup func()
	if skiffBin == "" {
		dir, err := os.MkdirTemp("", "skiff-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cleanup = func() { os.RemoveAll(dir) }
		skiffBin = filepath.Join(dir, "skiff")
		build := exec.Command("go", "build", "-o", dir+"/", "github.com/skiff-project/skiff/cmd/skiff", "github.com/skiff-project/skiff/cmd/skiff-shim")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build skiff and skiff-shim:", err)
			os.Exit(1)
		}
	}
	if os.Getenv(isolatedEnv) != "" {
		if err := testreexec.PrepareMachine(e2eNodeIP); err != nil {
			fmt.Fprintln(os.Stderr, "e2e isolation:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if cleanup != nil {
		cleanup()
	}
	os.Exit(code)
}

// server is a `skiff server` process.
type server struct {
	t       *testing.T
	dataDir string
	port    int
	cmd     *exec.Cmd
	log     *syncBuffer
	cache   string
	args    []string
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts `skiff server` without a node agent (--disable-agent) on a free port
// with a new data dir, and stops it when the test ends.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	return startServerArgs(t, append([]string{"--disable-agent"}, extraArgs...))
}

func startServerArgs(t *testing.T, extraArgs []string) *server {
	t.Helper()
	s := &server{t: t, dataDir: filepath.Join(t.TempDir(), "data"), port: freePort(t), cache: t.TempDir(), args: extraArgs}
	s.start()
	t.Cleanup(func() {
		if s.cmd != nil && s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			_ = s.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.log = &syncBuffer{}
	s.cmd = exec.Command(skiffBin, "server", "--data-dir", s.dataDir, "--port", strconv.Itoa(s.port),
		"--bind-address", "127.0.0.1", "--unsafe-no-fsync")
	s.cmd.Args = append(s.cmd.Args, s.args...)
	// client-go's cache mutation detector: the server's scheduler and controllers share its
	// watch cache's objects, and a change to one of them ends the server with a panic.
	s.cmd.Env = append(os.Environ(), "KUBE_CACHE_MUTATION_DETECTOR=true")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", s.port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if _, err := os.Stat(s.kubeconfig()); err == nil {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server not ready after 30s:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the server with sig and waits for it to exit.
func (s *server) stop(sig syscall.Signal) {
	s.t.Helper()
	_ = s.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.t.Fatalf("server did not exit on %v", sig)
	}
}

func (s *server) kubeconfig() string { return filepath.Join(s.dataDir, "admin.kubeconfig") }

// kubectl runs kubectl against the server and returns stdout, stderr and the exit code.
func (s *server) kubectl(args ...string) (string, string, int) {
	s.t.Helper()
	return s.kubectlStdin("", args...)
}

// kubectlStdin is kubectl with stdin as its standard input.
func (s *server) kubectlStdin(stdin string, args ...string) (string, string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", s.kubeconfig(), "--cache-dir", s.cache}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("kubectl %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ok runs kubectl and fails the test unless it succeeds.
func (s *server) ok(args ...string) string {
	s.t.Helper()
	out, errOut, code := s.kubectl(args...)
	if code != 0 {
		s.t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs kubectl and fails the test unless it fails with stderr containing want.
func (s *server) fails(want string, args ...string) {
	s.t.Helper()
	out, errOut, code := s.kubectl(args...)
	if code == 0 || !strings.Contains(errOut, want) {
		s.t.Fatalf("kubectl %s: exit %d, want failure with %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errOut)
	}
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s: missing %q in:\n%s", what, w, got)
		}
	}
}

func init() {
	if _, err := exec.LookPath("kubectl"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e tests need kubectl on PATH")
	}
}

// eventually polls cond every 100 ms until it returns "" or d passes, then fails with its last
// answer.
func (s *server) eventually(d time.Duration, cond func() string) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not within %s: %s", d, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// background starts kubectl with args and returns its combined output so far; it is stopped
// when the test ends.
func (s *server) background(args ...string) *syncBuffer {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", s.kubeconfig(), "--cache-dir", s.cache}, args...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		s.t.Fatalf("kubectl %v: %v", args, err)
	}
	s.t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	return out
}

// syncBuffer is a bytes.Buffer safe for a writing process and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
