package podnet

// Helpers for the tests that need root. When run as root, the test binary re-executes itself
// in a new network namespace and a new mount namespace (TestMain), which stands for the node:
// the sysctls, bridges, nftables tables and routes the tests make never touch the machine's
// own namespace, and the namespaces the tests pin by bind mounts are private to the test
// process. Each test still cleans up everything it creates, as it would have to in a shared
// namespace.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/skiff-project/skiff/internal/pinnedns"
	"github.com/skiff-project/skiff/internal/testreexec"
)

// isolatedEnv is set in the re-executed test binary.
const isolatedEnv = "SKIFF_PODNET_TEST_ISOLATED"

// noIsolation says why the root tests cannot run in a namespace of their own, if they cannot.
var noIsolation string

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		// Run this test binary again, with the same arguments, in new network and mount
		// namespaces, and exit with its code.
		if err := testreexec.Exit(testreexec.Config{
			Env:  []string{isolatedEnv + "=1"},
			Attr: testreexec.NetMountNamespaces(),
			Name: "podnet tests",
		}); err != nil {
			// Root without the right to make namespaces (a restricted container): run the unit
			// tests here and skip the others rather than touch this namespace.
			noIsolation = "cannot run in new network and mount namespaces: " + err.Error()
		}
	}
	if os.Getenv(isolatedEnv) != "" {
		if err := testreexec.PrepareMachine(""); err != nil {
			fmt.Fprintln(os.Stderr, "podnet tests:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates bridges, veths, network namespaces and nftables tables")
	}
	if noIsolation != "" {
		t.Skip(noIsolation)
	}
}

// newNetNS creates a network namespace pinned by a bind mount, as the runtime pins a pod's,
// and removes the pin when the test ends. lo is left down, as in a fresh namespace.
func newNetNS(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netns")
	if err := pinnedns.Create(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pinnedns.Remove(path) })
	return path
}

// nsHandle returns a netlink handle in the namespace pinned at path.
func nsHandle(t testing.TB, path string) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

var nodeSeq atomic.Int64

// uniqueNode returns a node name no other test in this process uses.
func uniqueNode(t testing.TB) string {
	name := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	return fmt.Sprintf("%s-%d", name, nodeSeq.Add(1))
}

// logBuffer collects log output for tests that check what was logged.
type logBuffer struct {
	t     testing.TB
	lines atomic.Pointer[[]string]
}

func (b *logBuffer) Write(p []byte) (int, error) {
	for {
		old := b.lines.Load()
		var next []string
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, strings.TrimRight(string(p), "\n"))
		if b.lines.CompareAndSwap(old, &next) {
			break
		}
	}
	b.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// take returns the lines logged since the last take and forgets them.
func (b *logBuffer) take() []string {
	if p := b.lines.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// newTestNetwork returns a Network for a node named for the test, with its state in a
// temporary directory unless cfg says otherwise, and removes the node's bridge, veths and
// nftables table when the test ends, whether it passed or not.
func newTestNetwork(t testing.TB, cfg Config) (*Network, *logBuffer) {
	t.Helper()
	if cfg.NodeName == "" {
		cfg.NodeName = uniqueNode(t)
	}
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	logs := &logBuffer{t: t}
	var w io.Writer = logs
	if _, isB := t.(*testing.B); isB {
		w = io.Discard
	}
	cfg.Log = newLogger(w)
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNode(t, n) })
	return n, logs
}

// newLogger returns a logger of every level writing text to w.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// removeNode deletes what EnsureNode and Setup made on the host for n: the veths on its
// bridge, the bridge and the nftables table.
func removeNode(t testing.TB, n *Network) {
	if bridge, err := netlink.LinkByName(n.cfg.bridge); err == nil {
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Attrs().MasterIndex == bridge.Attrs().Index {
				_ = netlink.LinkDel(l)
			}
		}
		if err := netlink.LinkDel(bridge); err != nil {
			t.Errorf("cleanup: delete bridge %s: %v", n.cfg.bridge, err)
		}
	}
	conn, err := nftables.New()
	if err == nil {
		err = deleteTable(conn, n.cfg.table)
	}
	if err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// deleteTable removes the inet table named name, if it exists.
func deleteTable(conn *nftables.Conn, name string) error {
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("nftables: list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == name {
			conn.DelTable(t)
			if err := conn.Flush(); err != nil {
				return fmt.Errorf("nftables: delete table inet %s: %w", name, err)
			}
		}
	}
	return nil
}

// newWorld makes a namespace that stands for the world outside the node, joined to the test's
// namespace by a veth pair (node end skt-up, 198.51.100.2/24; world end 198.51.100.1/24,
// both with the given MTU) through which the node's default route goes. It returns the
// world's pinned namespace.
func newWorld(t testing.TB, mtu int) string {
	t.Helper()
	world := newNetNS(t)
	ns, err := netns.GetFromPath(world)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = "skt-up", mtu
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns)), PeerTxQLen: -1}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName("skt-up"); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	up, err := netlink.LinkByName("skt-up")
	if err != nil {
		t.Fatal(err)
	}
	mustNoErr(t, netlink.AddrAdd(up, mustAddr("198.51.100.2/24")))
	mustNoErr(t, netlink.LinkSetUp(up))
	mustNoErr(t, netlink.RouteAdd(&netlink.Route{LinkIndex: up.Attrs().Index, Gw: net.ParseIP("198.51.100.1")}))

	h := nsHandle(t, world)
	peer, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	mustNoErr(t, h.AddrAdd(peer, mustAddr("198.51.100.1/24")))
	mustNoErr(t, h.LinkSetUp(peer))
	lo, _ := h.LinkByName("lo")
	mustNoErr(t, h.LinkSetUp(lo))
	return world
}

func mustAddr(s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

func mustNoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// echoServer listens on addr (an "ip:0" form) in the namespace pinned at nsPath ("" for the
// test's own), answers each connection by echoing one line, and reports each peer's address.
// It stops when the test ends.
func echoServer(t testing.TB, nsPath, addr string) (listenAddr string, peers <-chan netip.Addr) {
	t.Helper()
	var ln net.Listener
	listen := func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	}
	var err error
	if nsPath == "" {
		err = listen()
	} else {
		err = pinnedns.Do(nsPath, listen)
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	out := make(chan netip.Addr, 16)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
			select {
			case out <- ap.Addr().Unmap():
			case <-ctx.Done():
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			_, _ = c.Write(buf[:n])
			c.Close()
		}
	}()
	return ln.Addr().String(), out
}

// dialEcho connects from the namespace pinned at nsPath ("" for the calling thread's) to addr, sends a line and checks that
// it comes back.
func dialEcho(nsPath, addr string) error {
	var c net.Conn
	dial := func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	}
	var err error
	if nsPath == "" {
		err = dial() // in the calling thread's namespace
	} else {
		err = pinnedns.Do(nsPath, dial)
	}
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return fmt.Errorf("write to %s: %w", addr, err)
	}
	buf := make([]byte, 16)
	n, err := io.ReadFull(c, buf[:5])
	if err != nil || string(buf[:n]) != "ping\n" {
		return fmt.Errorf("read from %s: %q, %v", addr, buf[:n], err)
	}
	return nil
}
