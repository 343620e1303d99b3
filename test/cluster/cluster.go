package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
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
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-project/skiff/internal/pinnedns"
	"github.com/skiff-project/skiff/test/images"
)

// References of the test images TestImages returns; pods name them (with the default pull
// policy IfNotPresent, the nodes never pull them).
const (
	SkiffhostImage = "skiff.test/skiffhost:v1"
	BusyboxImage   = "skiff.test/busybox:v1"
)

// Options configure a cluster.
type Options struct {
	// Nodes is how many agents run, each in a network namespace of its own; 0 means 2.
	Nodes int
	// ServerArgs are added to `skiff server`'s flags, e.g. "--node-cidr-mask-size", "30".
	ServerArgs []string
	// AgentArgs are added to every `skiff agent`'s flags, e.g. "--network-backend", "host-gw".
	AgentArgs []string
	// Images are imported into every node's image store (`skiff image import`) before its agent
	// first starts, under the references given as keys. See TestImages.
	Images map[string]v1.Image
	// Binary is the skiff binary, with skiff-shim beside it; "" means $SKIFF_BIN, else both built
	// from this repository once per test process.
	Binary string
	// BeforeAgents, if set, runs once the bridge, the node namespaces and the server exist and
	// before any agent starts (to serve DNS on c.ServerIP for a --resolv-conf, say); the flags
	// it returns are added to every agent's, after AgentArgs.
	BeforeAgents func(c *Cluster) []string
}

// Cluster is a running multi-node cluster.
type Cluster struct {
	// ID names everything the cluster makes (4 hex characters).
	ID string
	// Dir holds the data dirs, logs and namespace pins: /tmp/skiff-cluster/<ID>.
	Dir string
	// Subnet is the network between the machine and the nodes (172.30.N.0/24); Bridge its
	// bridge in the test's namespace, which holds ServerIP (the first address).
	Subnet   netip.Prefix
	Bridge   string
	ServerIP string
	// Server is the `skiff server` process.
	Server *Server
	// Nodes are the agents, in order: node-a-<ID>, node-b-<ID>, ...
	Nodes []*Node
	// Client is a client-go clientset with the admin kubeconfig.
	Client kubernetes.Interface

	t     *testing.T
	bin   string
	opts  Options
	cache string // kubectl's --cache-dir
}

// Server is the cluster's `skiff server`, run with --disable-agent on the test's namespace.
type Server struct {
	DataDir string
	Port    int
	// URL is what the agents join: https://ServerIP:Port.
	URL string
	// Kubeconfig is the admin kubeconfig (https://127.0.0.1:Port).
	Kubeconfig string

	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// Log returns what the server has written.
func (s *Server) Log() string { return s.log.String() }

// Node is one agent and its network namespace.
type Node struct {
	// Name is the Node's name, node-<letter>-<cluster ID>.
	Name string
	// IP is its address (its InternalIP); NetNS the path of its pinned network namespace.
	IP    string
	NetNS string
	// DataDir is the agent's --data-dir; HostLink the host end of its link to the bridge.
	DataDir  string
	HostLink string

	c       *Cluster
	letter  string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	run     *syncBuffer // this run's output
	log     *syncBuffer // every run's output
	logFile *os.File
}

var build struct {
	once sync.Once
	bin  string
	err  error
}

// binary returns the skiff binary to run: opts.Binary, $SKIFF_BIN, or one built once.
func binary(opts Options) (string, error) {
	if opts.Binary != "" {
		return opts.Binary, nil
	}
	if b := os.Getenv("SKIFF_BIN"); b != "" {
		return b, nil
	}
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "skiff-cluster-bin-")
		if err != nil {
			build.err = err
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "github.com/skiff-project/skiff/cmd/skiff", "github.com/skiff-project/skiff/cmd/skiff-shim")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("build skiff and skiff-shim: %v\n%s", err, out)
			return
		}
		build.bin = filepath.Join(dir, "skiff")
	})
	return build.bin, build.err
}

// TestImages returns the skiffhost image (test/images.Skiffhost) as SkiffhostImage and, when
// the host has Debian's busybox-static (installed if missing), the busybox image as
// BusyboxImage, for Options.Images.
func TestImages(ctx context.Context) (map[string]v1.Image, error) {
	sh, err := images.Skiffhost(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]v1.Image{SkiffhostImage: sh}
	if images.EnsureBusybox(ctx) {
		bb, err := images.Busybox(ctx)
		if err != nil {
			return nil, err
		}
		out[BusyboxImage] = bb
	}
	return out, nil
}

// New starts a cluster: the bridge, a network namespace per node, `skiff server` and one
// `skiff agent` per node, and returns once every node is Ready. It skips the test without root
// or kubectl, fails it if the cluster does not come up, and removes the cluster when the test
// ends (see the package documentation).
func New(t *testing.T, opts Options) *Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, bridges, containers")
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("needs kubectl on PATH")
	}
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Nodes > 26 {
		t.Fatalf("cluster: %d nodes: at most 26", opts.Nodes)
	}
	bin, err := binary(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(baseDir, 0o700); err != nil {
		t.Fatal(err)
	}
	removeLeftovers(t.Logf)
	c := &Cluster{t: t, bin: bin, opts: opts}
	c.create()
	start := time.Now()
	c.startServer()
	c.importImages()
	if opts.BeforeAgents != nil {
		c.opts.AgentArgs = append(append([]string(nil), c.opts.AgentArgs...), opts.BeforeAgents(c)...)
	}
	for _, n := range c.Nodes {
		n.start()
	}
	c.WaitNodesReady(90 * time.Second)
	t.Logf("cluster %s: server and %d nodes ready in %v (subnet %s, dir %s)", c.ID, len(c.Nodes), time.Since(start).Round(time.Millisecond), c.Subnet, c.Dir)
	return c
}

// create makes the cluster's directory, bridge and node namespaces, holding the lock that
// keeps runs in one namespace from choosing one subnet, and registers the teardown.
func (c *Cluster) create() {
	t := c.t
	lock, err := os.OpenFile(filepath.Join(baseDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	for {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		c.ID = hex.EncodeToString(b)
		c.Dir = filepath.Join(baseDir, c.ID)
		if err := os.Mkdir(c.Dir, 0o700); err == nil {
			break
		} else if !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	c.Bridge = "skc" + c.ID
	st := state{OwnerPID: os.Getpid(), OwnerStart: processStart(os.Getpid()), Bridge: c.Bridge}
	for i := range c.opts.Nodes {
		st.Nodes = append(st.Nodes, fmt.Sprintf("node-%c-%s", 'a'+i, c.ID))
	}
	if err := writeState(c.Dir, st); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.teardown(st) })

	subnet, err := freeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	c.Subnet = subnet
	c.ServerIP = subnet.Addr().Next().String()
	c.cache = filepath.Join(c.Dir, "kubectl-cache")
	attrs := netlink.NewLinkAttrs()
	attrs.Name = c.Bridge
	must(t, netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}))
	br, err := netlink.LinkByName(c.Bridge)
	must(t, err)
	must(t, netlink.AddrAdd(br, &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(subnet.Addr().Next(), subnet.Bits()))}))
	must(t, netlink.LinkSetUp(br))
	must(t, os.MkdirAll(filepath.Join(c.Dir, "netns"), 0o700))
	for i, name := range st.Nodes {
		letter := string(rune('a' + i))
		ip := subnet.Addr().As4()
		ip[3] = byte(11 + i)
		n := &Node{Name: name, IP: netip.AddrFrom4(ip).String(), NetNS: filepath.Join(c.Dir, "netns", letter),
			DataDir: filepath.Join(c.Dir, "nodes", letter), HostLink: c.Bridge + "-" + letter, c: c, letter: letter, log: &syncBuffer{}}
		c.Nodes = append(c.Nodes, n)
		must(t, os.MkdirAll(n.DataDir, 0o700))
		n.logFile, err = os.Create(filepath.Join(n.DataDir, "agent.log"))
		must(t, err)
		must(t, pinnedns.Create(n.NetNS))
		must(t, c.plug(n, br))
	}
}

// plug gives node n its link to the bridge: a veth whose host end is a port of br and whose
// other end is eth0 in the node's namespace, with the node's address and a default route via
// the server's address; lo is brought up.
func (c *Cluster) plug(n *Node, br netlink.Link) error {
	ns, err := netns.GetFromPath(n.NetNS)
	if err != nil {
		return err
	}
	defer ns.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = n.HostLink
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns)), PeerTxQLen: -1}); err != nil {
		return fmt.Errorf("node %s: veth: %w", n.Name, err)
	}
	host, err := netlink.LinkByName(n.HostLink)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetMaster(host, br); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return err
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		return err
	}
	addr := netip.PrefixFrom(netip.MustParseAddr(n.IP), c.Subnet.Bits())
	if err := h.AddrAdd(eth0, &netlink.Addr{IPNet: prefixNet(addr)}); err != nil {
		return err
	}
	for _, name := range []string{"lo", "eth0"} {
		l, err := h.LinkByName(name)
		if err != nil {
			return err
		}
		if err := h.LinkSetUp(l); err != nil {
			return err
		}
	}
	return h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: net.ParseIP(c.ServerIP)})
}

// freeSubnet returns the first 172.30.N.0/24 that no route and no address of this namespace
// overlaps.
func freeSubnet() (netip.Prefix, error) {
	var used []netip.Prefix
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		// The default route covers everything, and rules out nothing.
		if r.Dst != nil && prefixOf(r.Dst).Bits() > 0 {
			used = append(used, prefixOf(r.Dst))
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		used = append(used, prefixOf(a.IPNet))
	}
	for n := range 256 {
		candidate := netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 30, byte(n), 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(candidate) {
				free = false
				break
			}
		}
		if free {
			return candidate, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free subnet in 172.30.0.0/16")
}

func prefixOf(n *net.IPNet) netip.Prefix {
	a, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones)
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// startServer starts `skiff server --disable-agent` on a free port and waits until it serves
// and has written its kubeconfig and join token.
func (c *Cluster) startServer() {
	t := c.t
	port, err := freePort()
	must(t, err)
	s := &Server{DataDir: filepath.Join(c.Dir, "server"), Port: port, log: &syncBuffer{}, done: make(chan struct{})}
	s.URL = "https://" + net.JoinHostPort(c.ServerIP, strconv.Itoa(port))
	s.Kubeconfig = filepath.Join(s.DataDir, "admin.kubeconfig")
	c.Server = s
	logFile, err := os.Create(filepath.Join(c.Dir, "server.log"))
	must(t, err)
	args := []string{"server", "--data-dir", s.DataDir, "--port", strconv.Itoa(port), "--bind-address", "0.0.0.0",
		"--advertise-address", c.ServerIP, "--tls-san", c.ServerIP, "--disable-agent", "--unsafe-no-fsync"}
	s.cmd = exec.Command(c.bin, append(args, c.opts.ServerArgs...)...)
	// client-go's cache mutation detector: the server's scheduler and controllers share its
	// watch cache's objects, and a change to one of them ends the server with a panic.
	s.cmd.Env = append(os.Environ(), "KUBE_CACHE_MUTATION_DETECTOR=true")
	s.cmd.Stdout = io.MultiWriter(s.log, logFile)
	s.cmd.Stderr = s.cmd.Stdout
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	must(t, s.cmd.Start())
	go func() {
		_ = s.cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			t.Fatalf("cluster: the server exited:\n%s", tail(s.Log(), 40))
		default:
		}
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 && exists(s.Kubeconfig) && exists(filepath.Join(s.DataDir, "token")) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster: server not ready after 60s:\n%s", tail(s.Log(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	must(t, err)
	cfg.WarningHandler = rest.NoWarnings{} // PodSecurity warnings for hostPorts and the like
	c.Client, err = kubernetes.NewForConfig(cfg)
	must(t, err)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// importImages imports Options.Images into every node's image store.
func (c *Cluster) importImages() {
	if len(c.opts.Images) == 0 {
		return
	}
	dir := filepath.Join(c.Dir, "images")
	must(c.t, os.MkdirAll(dir, 0o700))
	var files []string
	i := 0
	for ref, img := range c.opts.Images {
		path := filepath.Join(dir, fmt.Sprintf("%d.tar", i))
		i++
		if err := images.WriteTarball(path, ref, img); err != nil {
			c.t.Fatalf("cluster: image %s: %v", ref, err)
		}
		files = append(files, path)
	}
	for _, n := range c.Nodes {
		out, err := exec.Command(c.bin, append([]string{"image", "import", "--data-dir", n.DataDir}, files...)...).CombinedOutput()
		if err != nil {
			c.t.Fatalf("cluster: skiff image import on %s: %v\n%s", n.Name, err, out)
		}
	}
	_ = os.RemoveAll(dir)
}

// start starts the node's agent in its namespace.
func (n *Node) start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.c.t
	args := []string{"agent", "--server", n.c.Server.URL, "--token-file", filepath.Join(n.c.Server.DataDir, "token"),
		"--data-dir", n.DataDir, "--node-name", n.Name, "--node-ip", n.IP}
	n.cmd = exec.Command(n.c.bin, append(args, n.c.opts.AgentArgs...)...)
	n.run = &syncBuffer{}
	fmt.Fprintf(n.log, "----- agent started %s\n", time.Now().Format(time.RFC3339Nano))
	fmt.Fprintf(n.logFile, "----- agent started %s\n", time.Now().Format(time.RFC3339Nano))
	n.cmd.Stdout = io.MultiWriter(n.run, n.log, n.logFile)
	n.cmd.Stderr = n.cmd.Stdout
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := pinnedns.Do(n.NetNS, n.cmd.Start); err != nil {
		t.Fatalf("cluster: start the agent of %s: %v", n.Name, err)
	}
	done := make(chan struct{})
	n.done = done
	cmd := n.cmd
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
}

// Running reports whether the node's agent runs.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// PID returns the agent's process ID (0 if it does not run): nsenter -t PID -n enters the
// node's network namespace.
func (n *Node) PID() int {
	if !n.Running() {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd.Process.Pid
}

// AgentLog returns what the node's agents have written, every run, each after a line
// "----- agent started <time>".
func (n *Node) AgentLog() string { return n.log.String() }

// stop signals the agent and waits for it to exit.
func (n *Node) stop(sig syscall.Signal) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil || done == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		n.c.t.Errorf("cluster: the agent of %s did not exit on %v within 30s; killed", n.Name, sig)
	}
}

// Node returns the node named name (a node's Name, or its letter: "a", "b", ...); it fails
// the test if there is none.
func (c *Cluster) Node(name string) *Node {
	c.t.Helper()
	for _, n := range c.Nodes {
		if n.Name == name || n.letter == name {
			return n
		}
	}
	c.t.Fatalf("cluster: no node %q", name)
	return nil
}

// KillAgent kills the node's agent with SIGKILL, as a crash would, and waits for it to exit.
// Its pods keep running.
func (c *Cluster) KillAgent(node string) { c.Node(node).stop(syscall.SIGKILL) }

// StopAgent stops the node's agent with SIGTERM and waits for it to exit. Its pods keep
// running.
func (c *Cluster) StopAgent(node string) { c.Node(node).stop(syscall.SIGTERM) }

// StartAgent starts the node's agent again, on the same data dir and namespace, and waits up
// to 60s for it to log that it is ready. The agent must not be running.
func (c *Cluster) StartAgent(node string) {
	c.t.Helper()
	n := c.Node(node)
	if n.Running() {
		c.t.Fatalf("cluster: the agent of %s runs already", n.Name)
	}
	n.start()
	c.Eventually(60*time.Second, func() string {
		if strings.Contains(n.run.String(), "skiff agent ready") {
			return ""
		}
		if !n.Running() {
			c.t.Fatalf("cluster: the agent of %s exited:\n%s", n.Name, tail(n.run.String(), 40))
		}
		return "the agent of " + n.Name + " is not ready:\n" + tail(n.run.String(), 20)
	})
}

// RestartAgent kills the node's agent (SIGKILL) if it runs, then starts it (StartAgent).
func (c *Cluster) RestartAgent(node string) {
	c.t.Helper()
	c.KillAgent(node)
	c.StartAgent(node)
}

// Partition cuts the node off the network: the host end of its link goes down, so that it
// reaches neither the server nor the other nodes (and they not it). Heal undoes it.
func (c *Cluster) Partition(node string) { c.setLink(node, false) }

// Heal reconnects a node cut off by Partition.
func (c *Cluster) Heal(node string) { c.setLink(node, true) }

func (c *Cluster) setLink(node string, up bool) {
	c.t.Helper()
	n := c.Node(node)
	l, err := netlink.LinkByName(n.HostLink)
	must(c.t, err)
	if up {
		must(c.t, netlink.LinkSetUp(l))
	} else {
		must(c.t, netlink.LinkSetDown(l))
	}
}

// Exec runs a command (from the test's file system, e.g. "ip", "bridge", "nft") in the node's
// network namespace and returns its combined output; it gives up after 30s.
func (n *Node) Exec(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := pinnedns.Do(n.NetNS, cmd.Start); err != nil {
		return "", err
	}
	err := cmd.Wait()
	return out.String(), err
}

// Kubectl runs kubectl with the admin kubeconfig (and a --cache-dir of the cluster's own)
// and returns its stdout, stderr and exit code; it gives up after 60s.
func (c *Cluster) Kubectl(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", c.Server.Kubeconfig, "--cache-dir", c.cache}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("kubectl %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// Apply runs `kubectl apply -f -` with manifest (YAML or JSON, several documents allowed) and
// fails the test unless it succeeds; it returns kubectl's output.
func (c *Cluster) Apply(manifest string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", c.Server.Kubeconfig, "--cache-dir", c.cache, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	return string(out)
}

// MustKubectl runs kubectl and fails the test unless it succeeds; it returns stdout.
func (c *Cluster) MustKubectl(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.Kubectl(args...)
	if code != 0 {
		c.t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// Eventually calls cond every 200ms until it returns "", and fails the test with cond's last
// answer if d passes first.
func (c *Cluster) Eventually(d time.Duration, cond func() string) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("not within %v: %s", d, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitNodesReady waits until every node is Ready, at most d.
func (c *Cluster) WaitNodesReady(d time.Duration) {
	c.t.Helper()
	c.Eventually(d, func() string {
		for _, n := range c.Nodes {
			if !n.Running() {
				c.t.Fatalf("cluster: the agent of %s exited:\n%s", n.Name, tail(n.run.String(), 40))
			}
			node, err := c.Client.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
			if err != nil {
				return fmt.Sprintf("node %s: %v", n.Name, err)
			}
			if !nodeReady(node) {
				return fmt.Sprintf("node %s is not Ready; agent log:\n%s", n.Name, tail(n.run.String(), 15))
			}
		}
		return ""
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// teardown removes the cluster (see removeLeftovers for the order), logging the tails of the
// logs if the test failed.
func (c *Cluster) teardown(st state) {
	if c.t.Failed() {
		if c.Server != nil {
			c.t.Logf("cluster %s: server log (last lines; all in %s/server.log, removed now):\n%s", c.ID, c.Dir, tail(c.Server.Log(), 60))
		}
		for _, n := range c.Nodes {
			c.t.Logf("cluster %s: agent log of %s (last lines):\n%s", c.ID, n.Name, tail(n.log.String(), 60))
		}
	}
	for _, n := range c.Nodes {
		n.stop(syscall.SIGKILL)
	}
	if c.Server != nil && c.Server.cmd != nil {
		_ = c.Server.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.Server.done:
		case <-time.After(15 * time.Second):
			_ = c.Server.cmd.Process.Kill()
			<-c.Server.done
		}
	}
	for _, n := range c.Nodes {
		if n.logFile != nil {
			n.logFile.Close()
		}
		if l, err := netlink.LinkByName(n.HostLink); err == nil {
			_ = netlink.LinkDel(l)
		}
	}
	if err := teardown(c.Dir, st); err != nil {
		c.t.Errorf("cluster %s: teardown: %v", c.ID, err)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
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
