package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/internal/testreexec"
	"github.com/skiff-project/skiff/test/images"
)

// Tests that run a node with real containers run in a network and mount namespace of their own,
// standing for the machine, so that the node's bridge, nftables table, sysctls and mounts do not
// touch the machine the tests run on. The test binary re-executes itself for such a test.
const (
	isolatedEnv = "SKIFF_E2E_ISOLATED"
	// e2eNodeIP is the machine's address inside the namespace.
	e2eNodeIP = "172.31.255.1"
)

// isolate re-runs the calling test alone in new network and mount namespaces and reports true
// in the parent, which has nothing more to do; in the child it reports false and the test
// goes on. Without root it skips the test.
func isolate(t *testing.T) bool {
	t.Helper()
	if os.Getenv(isolatedEnv) != "" {
		return false
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs containers")
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("needs kubectl on PATH")
	}
	args := []string{"-test.run=^" + t.Name() + "$", "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	code, err := testreexec.Run(testreexec.Config{
		Env:  []string{isolatedEnv + "=1", "SKIFF_BIN=" + skiffBin},
		Args: args,
		Attr: testreexec.NetMountNamespaces(),
	})
	if err != nil {
		t.Skipf("cannot make network and mount namespaces: %v", err)
	}
	if code != 0 {
		t.Fatalf("%s in its own namespaces failed (exit %d)", t.Name(), code)
	}
	return true
}

// cleanupNode kills what a node left on the machine: its shims (found by the data dir they
// serve) and the processes in its cgroups, removes the cgroups (they are not namespaced), and
// unmounts what is mounted under the data dir (pods' /dev/shm and namespace pins).
func cleanupNode(dataDir, node string) {
	defer unmountUnder(dataDir)
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if strings.Contains(string(b), dataDir+"/") && strings.Contains(string(b), "skiff-shim") {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", "skiff-"+node))
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", "skiff-"+node)); err == nil {
		roots = append(roots, filepath.Join("/sys/fs/cgroup", "skiff-"+node))
	}
	for _, root := range roots {
		var dirs []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			b, _ := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = unix.Kill(pid, unix.SIGKILL)
				}
			}
			for range 50 {
				if err := unix.Rmdir(dirs[i]); err == nil || errors.Is(err, unix.ENOENT) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// TestRealContainers is the quickstart with real containers: `skiff server` runs its local
// node, `kubectl run` starts a pod from a registry, the pod gets an IP from the node's
// podCIDR and answers on it, and `kubectl delete pod` removes it gracefully.
func TestRealContainers(t *testing.T) {
	if isolate(t) {
		return
	}
	if !images.EnsureBusybox(context.Background()) {
		t.Skip("needs /bin/busybox")
	}
	img, err := images.Skiffhost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg := images.StartRegistry(t, "", "")
	ref := reg.Push(t, "skiffhost:v1", img)
	const node = "e2e-node"
	s := startServerArgs(t, []string{"--node-name", node, "--node-ip", e2eNodeIP})
	t.Cleanup(func() { cleanupNode(s.dataDir, node) })
	s.eventually(30*time.Second, func() string {
		out, _, _ := s.kubectl("get", "node", node, "--no-headers")
		if strings.Contains(out, " Ready ") {
			return ""
		}
		return "node: " + out + "\n" + s.log.String()
	})
	s.eventually(30*time.Second, func() string {
		if !strings.Contains(s.log.String(), "skiff agent ready") {
			return "the agent has not said it is ready:\n" + s.log.String()
		}
		return ""
	})
	mustContain(t, "agent start-up log", s.log.String(), "pod network ready", "serving certificate issued", "service proxy ready")

	start := time.Now()
	s.ok("run", "web", "--image="+ref, "--port=8080")
	s.eventually(30*time.Second, func() string {
		out, _, _ := s.kubectl("get", "pod", "web", "-o", "jsonpath={.status.phase}")
		if out == "Running" {
			return ""
		}
		desc, _, _ := s.kubectl("describe", "pod", "web")
		return "phase " + out + "\n" + desc
	})
	t.Logf("kubectl run to Running: %v (image pulled from the registry)", time.Since(start).Round(time.Millisecond))
	wide := s.ok("get", "pod", "web", "-o", "wide")
	ipOut := s.ok("get", "pod", "web", "-o", "jsonpath={.status.podIP}")
	ip, err := netip.ParseAddr(ipOut)
	if err != nil || !netip.MustParsePrefix("10.42.0.0/16").Contains(ip) {
		t.Fatalf("pod IP %q not in the cluster CIDR:\n%s", ipOut, wide)
	}
	mustContain(t, "kubectl get pod -o wide", wide, ipOut, node, "Running")
	client := &http.Client{Timeout: 2 * time.Second}
	var body string
	s.eventually(10*time.Second, func() string {
		resp, err := client.Get("http://" + net.JoinHostPort(ipOut, "8080") + "/hostname")
		if err != nil {
			return err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = strings.TrimSpace(string(b))
		return ""
	})
	if body != "web" {
		t.Errorf("the pod answered %q, want its hostname web", body)
	}

	// logs, exec and port-forward go through the API server to the node's streaming server.
	s.eventually(10*time.Second, func() string {
		if out, errOut, code := s.kubectl("logs", "web"); code != 0 || out == "" {
			return fmt.Sprintf("kubectl logs: exit %d %q %s", code, out, errOut)
		}
		return ""
	})
	if out := strings.TrimSpace(s.ok("exec", "web", "--", "/skiffhost", "cat", "/etc/hostname")); out != "web" {
		t.Errorf("kubectl exec cat /etc/hostname: %q, want web", out)
	}
	if _, _, code := s.kubectl("exec", "web", "--", "/skiffhost", "exit", "3"); code != 3 {
		t.Errorf("kubectl exec exit 3: exit code %d", code)
	}
	s.ok("exec", "web", "--", "/skiffhost", "cat", "/etc/hostname") // WebSocket, then once more
	pf := s.background("port-forward", "pod/web", "18080:8080")
	s.eventually(15*time.Second, func() string {
		resp, err := client.Get("http://127.0.0.1:18080/hostname")
		if err != nil {
			return err.Error() + "\n" + pf.String()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(b)) != "web" {
			return "port-forward answered " + string(b)
		}
		return ""
	})

	start = time.Now()
	s.ok("delete", "pod", "web")
	t.Logf("kubectl delete pod (graceful): %v", time.Since(start).Round(time.Millisecond))
	s.fails("NotFound", "get", "pod", "web")
	if _, err := client.Get("http://" + net.JoinHostPort(ipOut, "8080") + "/hostname"); err == nil {
		t.Errorf("the deleted pod's IP still answers")
	}
}
