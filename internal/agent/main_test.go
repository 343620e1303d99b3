package agent_test

// The tests that run real containers need root. The test binary then re-executes itself in a
// new network namespace and a new mount namespace (TestMain), which stand for the machine:
// the API server, the registry, the agent's bridge, nftables table, pod namespaces and mounts
// never touch the machine's own. Cgroups are not namespaced: every test removes the cgroups,
// processes and files it made.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-project/skiff/internal/agent"
	"github.com/skiff-project/skiff/internal/kubelet/eviction"
	"github.com/skiff-project/skiff/internal/testreexec"
	"github.com/skiff-project/skiff/internal/testserver"
	"github.com/skiff-project/skiff/test/images"
)

const (
	isolatedEnv = "SKIFF_AGENT_TEST_ISOLATED"
	helperEnv   = "SKIFF_AGENT_TEST_HELPER"
	// nodeIP is the test machine's address, on a dummy interface of the test's namespace.
	nodeIP = "172.31.255.1"
)

var noIsolation string

func TestMain(m *testing.M) {
	if cfg := os.Getenv(helperEnv); cfg != "" {
		os.Exit(runHelper(cfg))
	}
	if os.Geteuid() == 0 {
		// Run this test binary again in new network and mount namespaces.
		if err := testreexec.Exit(testreexec.Config{
			Env:  []string{isolatedEnv + "=1"},
			Attr: testreexec.NetMountNamespaces(),
		}); err != nil {
			noIsolation = "cannot run in new network and mount namespaces: " + err.Error()
		}
	}
	if os.Getenv(isolatedEnv) != "" {
		if err := testreexec.PrepareMachine(nodeIP); err != nil {
			fmt.Fprintln(os.Stderr, "agent tests:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
	os.Exit(code)
}

// helperConfig is what the agent subprocess runs with.
type helperConfig struct {
	Server, Token, DataDir, NodeName, NodeIP, ShimPath string
	VolumeResync                                       time.Duration
	// EvictionHard is --eviction-hard; empty means testEvictionHard.
	EvictionHard string
}

// testEvictionHard are the test agents' thresholds: upstream's memory default, without the
// disk ones: the test machine's disk has less than 20% of its blocks available, close to
// upstream's imagefs.available<15%, under which the node would refuse every pod.
const testEvictionHard = "memory.available<100Mi"

// runHelper is the agent subprocess: `skiff agent` in effect, until killed.
func runHelper(cfgJSON string) int {
	var hc helperConfig
	if err := json.Unmarshal([]byte(cfgJSON), &hc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if hc.EvictionHard == "" {
		hc.EvictionHard = testEvictionHard
	}
	thresholds, err := eviction.ParseThresholds(hc.EvictionHard)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	err = agent.Run(ctx, agent.Config{Server: hc.Server, Token: hc.Token, DataDir: hc.DataDir, NodeName: hc.NodeName,
		NodeIP: hc.NodeIP, ShimPath: hc.ShimPath, VolumeResync: hc.VolumeResync, EvictionHard: thresholds, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 1
	}
	return 0
}

// fixtures are built once per test process.
var fixtures struct {
	once     sync.Once
	dir      string
	shim     string
	err      error
	registry *images.Registry
	image    string // the skiffhost image's reference in the registry
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs containers, makes bridges, namespaces and cgroups")
	}
	if noIsolation != "" {
		t.Skip(noIsolation)
	}
	if !images.EnsureBusybox(context.Background()) {
		t.Skip("needs /bin/busybox (apt-get install busybox-static)")
	}
}

func buildShim(t *testing.T) string {
	t.Helper()
	fixtures.once.Do(func() {
		fixtures.dir, fixtures.err = os.MkdirTemp("", "skiff-agent-test-")
		if fixtures.err != nil {
			return
		}
		fixtures.shim = filepath.Join(fixtures.dir, "skiff-shim")
		out, err := exec.Command("go", "build", "-o", fixtures.shim, "github.com/skiff-project/skiff/cmd/skiff-shim").CombinedOutput()
		if err != nil {
			fixtures.err = fmt.Errorf("build shim: %v: %s", err, out)
		}
	})
	if fixtures.err != nil {
		t.Fatal(fixtures.err)
	}
	return fixtures.shim
}

// cluster is a test API server and a node agent running as a subprocess.
type cluster struct {
	t        *testing.T
	srv      *testserver.Server
	client   kubernetes.Interface
	node     string
	dataDir  string
	shim     string
	image    string // skiffhost
	busybox  string
	agent    *exec.Cmd
	agentLog *bytes.Buffer
	exited   chan struct{}
	logMu    sync.Mutex

	// evictionHard is the agent's --eviction-hard (empty: testEvictionHard).
	evictionHard string
}

// startCluster starts a server (scheduler and controllers included), a registry serving
// skiffhost:v1, and an agent.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	needRoot(t)
	shim := buildShim(t)
	srv := testserver.Start(t, testserver.Options{})
	reg := images.StartRegistry(t, "", "")
	img, err := images.Skiffhost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !images.EnsureBusybox(context.Background()) {
		t.Skip("needs /bin/busybox")
	}
	bb, err := images.Busybox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, srv: srv, client: srv.Client, node: "agent-test", dataDir: filepath.Join(t.TempDir(), "agent"),
		shim: shim, image: reg.Push(t, "skiffhost:v1", img), busybox: reg.Push(t, "busybox:v1", bb)}
	t.Cleanup(c.cleanup)
	c.startAgent()
	c.waitNodeReady()
	// The node is Ready once its pod network is; the agent finishes starting (the serving
	// certificate, the service proxy and DNS) after that.
	c.eventually(60*time.Second, "the agent ready", func() string {
		if !strings.Contains(c.log(), "skiff agent ready") {
			return "no ready line in the agent's log yet"
		}
		return ""
	})
	return c
}

// startAgent starts the agent subprocess on the cluster's data dir.
func (c *cluster) startAgent() {
	c.t.Helper()
	cfg, _ := json.Marshal(helperConfig{Server: c.srv.URL, Token: c.srv.Token.String(), DataDir: c.dataDir, NodeName: c.node,
		NodeIP: nodeIP, ShimPath: c.shim, VolumeResync: 2 * time.Second, EvictionHard: c.evictionHard})
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(cfg))
	if bin := os.Getenv("SKIFF_BIN"); bin != "" {
		// The real `skiff agent` (with skiff-shim beside it), for measurements.
		tokenFile := filepath.Join(c.t.TempDir(), "token")
		if err := os.WriteFile(tokenFile, []byte(c.srv.Token.String()), 0o600); err != nil {
			c.t.Fatal(err)
		}
		hard := c.evictionHard
		if hard == "" {
			hard = testEvictionHard
		}
		cmd = exec.Command(bin, "agent", "--server", c.srv.URL, "--token-file", tokenFile, "--data-dir", c.dataDir,
			"--node-name", c.node, "--node-ip", nodeIP, "--eviction-hard", hard)
	}
	c.agentLog = &bytes.Buffer{}
	w := &lockedWriter{mu: &c.logMu, w: c.agentLog}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.agent = cmd
	c.exited = make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(c.exited)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (c *cluster) log() string {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.agentLog.String()
}

// killAgent kills the agent subprocess with sig and waits for it.
func (c *cluster) killAgent(sig syscall.Signal) {
	c.t.Helper()
	if c.agent == nil {
		return
	}
	_ = c.agent.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.t.Fatalf("agent did not exit on %v", sig)
	}
	c.agent = nil
}

func (c *cluster) waitNodeReady() {
	c.t.Helper()
	c.eventually(30*time.Second, "node Ready", func() string {
		n, err := c.client.CoreV1().Nodes().Get(context.Background(), c.node, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return ""
			}
		}
		return fmt.Sprintf("conditions %v", n.Status.Conditions)
	})
}

// eventually polls cond every 50 ms until it returns "" or d passes.
func (c *cluster) eventually(d time.Duration, what string, cond func() string) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		select {
		case <-c.exited:
			c.t.Fatalf("%s: the agent exited:\n%s", what, c.log())
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %v: %s", what, d, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cleanup deletes every pod and waits for the agent to remove them, stops the agent, and
// removes whatever is left of the node on the machine: processes in its cgroups, its shims,
// cgroups and mounts.
func (c *cluster) cleanup() {
	ctx := context.Background()
	if c.agent != nil {
		pods, _ := c.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		for _, p := range pods.Items {
			_ = c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		}
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if left, _ := os.ReadDir(filepath.Join(c.dataDir, "runtime", "pods")); len(left) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.killAgent(syscall.SIGTERM)
	}
	if c.t.Failed() {
		c.t.Logf("agent log:\n%s", c.log())
	}
	killShims(c.dataDir)
	removeCgroups(agent.CgroupParent(c.node))
	unmountUnder(c.dataDir)
}

// killShims kills the shims this test's agents started (found by their --dir).
func killShims(dataDir string) {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if strings.Contains(string(b), dataDir+"/runtime/pods/") {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// removeCgroups kills the processes left in the node's cgroups and removes them, deepest first.
func removeCgroups(parent string) {
	roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", parent))
	if d := filepath.Join("/sys/fs/cgroup", parent); fileExists(d) {
		roots = append(roots, d)
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
			if b, err := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs")); err == nil {
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil {
						_ = unix.Kill(pid, unix.SIGKILL)
					}
				}
			}
		}
		for i := len(dirs) - 1; i >= 0; i-- {
			for range 50 {
				if err := unix.Rmdir(dirs[i]); err == nil || errors.Is(err, unix.ENOENT) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// unmountUnder unmounts everything mounted under dir, deepest first.
func unmountUnder(dir string) {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// httpGet fetches url with a short timeout.
func httpGet(url string) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}
