package proxy

// Helpers for the tests that need root. When run as root, the test binary re-executes itself
// in a new network namespace and a new mount namespace (TestMain), which stands for the node:
// the tables, links and sysctls the tests make never touch the machine's own namespace.
// (The same scheme as internal/network/podnet's tests.)

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/skiff-project/skiff/internal/pinnedns"
	"github.com/skiff-project/skiff/internal/testreexec"
)

const isolatedEnv = "SKIFF_PROXY_TEST_ISOLATED"

var noIsolation string

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 {
		if err := testreexec.Exit(testreexec.Config{
			Env:  []string{isolatedEnv + "=1"},
			Attr: testreexec.NetMountNamespaces(),
			Name: "proxy tests",
		}); err != nil {
			noIsolation = "cannot run in new network and mount namespaces: " + err.Error()
		}
	}
	if os.Getenv(isolatedEnv) != "" {
		if err := testreexec.PrepareMachine(""); err != nil {
			fmt.Fprintln(os.Stderr, "proxy tests:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, veths, a bridge and nftables tables")
	}
	if noIsolation != "" {
		t.Skip(noIsolation)
	}
}

// newNetNS creates a network namespace pinned by a bind mount, with lo up, and removes the
// pin when the test ends.
func newNetNS(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netns")
	if err := pinnedns.Create(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pinnedns.Remove(path) })
	err := pinnedns.Do(path, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	if err != nil {
		t.Fatal(err)
	}
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

// vethInto makes a veth pair whose node end (nodeName) is in the test's namespace and whose
// other end is eth0 in the namespace pinned at nsPath, with address addr there and a
// default route via gw. It returns the node end.
func vethInto(t testing.TB, nodeName, nsPath, addr, gw string) netlink.Link {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = nodeName
	mustNoErr(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns))}))
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(nodeName); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	h := nsHandle(t, nsPath)
	peer, err := h.LinkByName("eth0")
	mustNoErr(t, err)
	mustNoErr(t, h.AddrAdd(peer, mustAddr(addr)))
	mustNoErr(t, h.LinkSetUp(peer))
	gwAddr := mustAddr(gw + "/32").IP
	mustNoErr(t, h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: gwAddr}))
	link, err := netlink.LinkByName(nodeName)
	mustNoErr(t, err)
	mustNoErr(t, netlink.LinkSetUp(link))
	return link
}
