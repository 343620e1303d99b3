package podnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/internal/pinnedns"
)

// The tests in this file need root. Each node is a network namespace of its own, joined to
// the others by a veth into a bridge in the test's namespace (the L2 segment between the
// nodes, 192.168.77.0/24); each Network is made and used on a thread in its node's namespace.

// testNode is a node of an overlay test: its namespace and its pod network.
type testNode struct {
	name string
	ns   string // pinned network namespace
	ip   string // its address on the segment
	net  *Network
	logs *logBuffer
}

// newSegment makes the bridge that stands for the network between the nodes.
func newSegment(t *testing.T) string {
	t.Helper()
	name := "skt-seg"
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	mustNoErr(t, netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}))
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(name); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	mustNoErr(t, netlink.LinkSetUp(l))
	return name
}

// newOverlayNode makes a node namespace with address 192.168.77.<host>/24 on eth0, plugged
// into the segment, and its Network (New and EnsureNode run in the namespace).
func newOverlayNode(t *testing.T, segment string, host int, cfg Config) *testNode {
	t.Helper()
	nd := &testNode{name: cfg.NodeName, ns: newNetNS(t), ip: fmt.Sprintf("192.168.77.%d", host)}
	ns, err := netns.GetFromPath(nd.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	port := fmt.Sprintf("skt-n%d-%d", host, nodeSeq.Add(1))
	attrs := netlink.NewLinkAttrs()
	attrs.Name = port
	mustNoErr(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns)), PeerTxQLen: -1}))
	seg, _ := netlink.LinkByName(segment)
	p, _ := netlink.LinkByName(port)
	mustNoErr(t, netlink.LinkSetMaster(p, seg))
	mustNoErr(t, netlink.LinkSetUp(p))
	h := nsHandle(t, nd.ns)
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	mustNoErr(t, h.AddrAdd(eth0, mustAddr(nd.ip+"/24")))
	mustNoErr(t, h.LinkSetUp(eth0))
	lo, _ := h.LinkByName("lo")
	mustNoErr(t, h.LinkSetUp(lo))
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	cfg.NodeIP = nd.ip
	nd.restart(t, cfg)
	return nd
}

// restart makes the node's Network anew from cfg (the agent after a restart, or with another
// configuration) and runs EnsureNode.
func (nd *testNode) restart(t *testing.T, cfg Config) {
	t.Helper()
	nd.logs = &logBuffer{t: t}
	cfg.Log = newLogger(nd.logs)
	if cfg.StateDir == "" {
		cfg.StateDir = nd.net.store.dir
	}
	cfg.NodeIP = nd.ip
	nd.in(t, func() error {
		var err error
		if nd.net, err = New(cfg); err != nil {
			return err
		}
		return nd.net.EnsureNode(context.Background())
	})
}

// in runs fn in the node's namespace and fails the test if it fails.
func (nd *testNode) in(t *testing.T, fn func() error) {
	t.Helper()
	if err := pinnedns.Do(nd.ns, fn); err != nil {
		t.Fatalf("node %s: %v", nd.name, err)
	}
}

// peer returns the node as its peers see it.
func (nd *testNode) peer() Peer {
	var cidrs []string
	for _, r := range nd.net.cfg.ranges {
		cidrs = append(cidrs, r.Prefix.String())
	}
	return Peer{Name: nd.name, PodCIDRs: cidrs, Annotations: nd.net.NodeAnnotations()}
}

func (nd *testNode) setPeers(t *testing.T, peers ...*testNode) {
	t.Helper()
	var ps []Peer
	for _, p := range peers {
		ps = append(ps, p.peer())
	}
	nd.in(t, func() error { return nd.net.SetPeers(context.Background(), ps) })
}

// pod makes a pod namespace and connects it to the node.
func (nd *testNode) pod(t *testing.T, uid string) (string, string) {
	t.Helper()
	podNS := newNetNS(t)
	var ips []string
	nd.in(t, func() error {
		var err error
		ips, err = nd.net.Setup(context.Background(), uid, podNS)
		return err
	})
	return podNS, ips[0]
}

// handle returns a netlink handle in the node's namespace.
func (nd *testNode) handle(t *testing.T) *netlink.Handle { return nsHandle(t, nd.ns) }

func overlayConfig(name, cidr, backend string) Config {
	return Config{NodeName: name, PodCIDRs: []string{cidr}, ClusterCIDRs: []string{"10.42.0.0/16"},
		ServiceCIDRs: []string{"10.43.0.0/16"}, Backend: backend}
}

// crossNode checks that a pod on from reaches a pod on to and is seen with its own address.
func crossNode(t *testing.T, fromPod, fromIP, toPod, toIP string) {
	t.Helper()
	addr, peers := echoServer(t, toPod, net.JoinHostPort(toIP, "0"))
	if err := dialEcho(fromPod, addr); err != nil {
		t.Fatalf("pod %s to pod %s: %v", fromIP, addr, err)
	}
	if got := <-peers; got.String() != fromIP {
		t.Fatalf("pod %s saw the connection come from %s, want the sending pod's %s (no masquerade between pods)", toIP, got, fromIP)
	}
}

func TestOverlayVXLAN(t *testing.T) {
	requireRoot(t)
	seg := newSegment(t)
	a := newOverlayNode(t, seg, 1, overlayConfig("node-a", "10.42.20.0/24", BackendVXLAN))
	b := newOverlayNode(t, seg, 2, overlayConfig("node-b", "10.42.21.0/24", BackendVXLAN))
	// The node's own entry in the list is ignored.
	a.setPeers(t, a, b)
	b.setPeers(t, a, b)

	// The device: VNI 1, port 8472, local address the node IP, learning off, MTU 1500 - 50,
	// the podCIDR's network address, up; the pods' MTU is the device's.
	h := a.handle(t)
	link, err := h.LinkByName(a.net.VXLANName())
	if err != nil {
		t.Fatal(err)
	}
	vx, ok := link.(*netlink.Vxlan)
	if !ok || vx.VxlanId != 1 || vx.Port != 8472 || vx.SrcAddr.String() != a.ip || vx.Learning || vx.MTU != 1450 ||
		vx.Flags&net.FlagUp == 0 || vx.HardwareAddr.String() != vtepMAC("node-a").String() {
		t.Fatalf("VXLAN device %+v", link)
	}
	if a.net.MTU() != 1450 {
		t.Fatalf("pod MTU %d, want 1450", a.net.MTU())
	}
	addrs, _ := h.AddrList(link, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.42.20.0/32" {
		t.Fatalf("VXLAN device addresses %v, want 10.42.20.0/32", addrs)
	}

	podA, ipA := a.pod(t, "pod-a")
	podB, ipB := b.pod(t, "pod-b")
	crossNode(t, podA, ipA, podB, ipB)
	crossNode(t, podB, ipB, podA, ipA)

	// The node itself reaches the other node's pods, from its VXLAN address.
	addr, peers := echoServer(t, podB, net.JoinHostPort(ipB, "0"))
	a.in(t, func() error { return dialEcho("", addr) })
	if got := <-peers; got.String() != "10.42.20.0" {
		t.Fatalf("pod b saw node a as %s, want 10.42.20.0", got)
	}

	// Stale entries (an earlier agent's, a peer gone) are removed; the peers' are kept.
	mac, _ := net.ParseMAC("02:11:22:33:44:55")
	mustNoErr(t, h.NeighSet(&netlink.Neigh{LinkIndex: link.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT,
		Flags: netlink.NTF_SELF, IP: net.ParseIP("192.168.77.99"), HardwareAddr: mac}))
	mustNoErr(t, h.NeighSet(&netlink.Neigh{LinkIndex: link.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP("10.42.99.0"), HardwareAddr: mac}))
	mustNoErr(t, h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: mustCIDR("10.42.99.0/24"), Gw: net.ParseIP("10.42.99.0"),
		Flags: int(netlink.FLAG_ONLINK), Protocol: routeProtocol}))
	a.setPeers(t, b)
	have := overlayState(t, a)
	if want := "routes [10.42.21.0/24 via 10.42.21.0 onlink] neighbours [10.42.21.0 lladdr " + vtepMAC("node-b").String() +
		"] fdb [" + vtepMAC("node-b").String() + " dst 192.168.77.2]"; have != want {
		t.Fatalf("node a's overlay:\n%s\nwant\n%s", have, want)
	}
	crossNode(t, podA, ipA, podB, ipB)

	// A deleted device is made again, with its entries, by the next SetPeers.
	mustNoErr(t, h.LinkDel(link))
	if err := dialEcho(podA, echoAddr(t, podB, ipB)); err == nil {
		t.Fatal("pod a reaches pod b without the VXLAN device")
	}
	a.setPeers(t, a, b)
	crossNode(t, podA, ipA, podB, ipB)

	// A restarted agent adopts the device and its entries: connectivity holds before and
	// after it sets its peers again, and nothing is re-created.
	a.restart(t, overlayConfig("node-a", "10.42.20.0/24", BackendVXLAN))
	crossNode(t, podA, ipA, podB, ipB)
	a.setPeers(t, a, b)
	for _, l := range a.logs.take() {
		if strings.Contains(l, "created VXLAN device") || strings.Contains(l, "overlay: set") || strings.Contains(l, "overlay: removed") {
			t.Errorf("restart changed the overlay: %s", l)
		}
	}
	crossNode(t, podB, ipB, podA, ipA)

	// A peer that goes away takes its entries with it.
	a.setPeers(t, a)
	if have := overlayState(t, a); have != "routes [] neighbours [] fdb []" {
		t.Fatalf("node a's overlay without peers: %s", have)
	}
	if err := dialEcho(podA, echoAddr(t, podB, ipB)); err == nil {
		t.Fatal("pod a reaches pod b without a route")
	}
}

// echoAddr starts an echo server in the pod and returns its address.
func echoAddr(t *testing.T, podNS, ip string) string {
	addr, _ := echoServer(t, podNS, net.JoinHostPort(ip, "0"))
	return addr
}

// overlayState describes the overlay entries of a node's kernel.
func overlayState(t *testing.T, nd *testNode) string {
	t.Helper()
	var have overlayPlan
	nd.in(t, func() error {
		vx := 0
		if l, err := netlink.LinkByName(nd.net.VXLANName()); err == nil {
			vx = l.Attrs().Index
		}
		var err error
		have, err = nd.net.overlayEntries(vx)
		return err
	})
	str := func(v []string) string { slices.Sort(v); return "[" + strings.Join(v, " ") + "]" }
	var r, nb, f []string
	for _, e := range have.Routes {
		r = append(r, e.String())
	}
	for _, e := range have.Neighs {
		nb = append(nb, e.String())
	}
	for _, e := range have.FDB {
		f = append(f, e.String())
	}
	return fmt.Sprintf("routes %s neighbours %s fdb %s", str(r), str(nb), str(f))
}

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// TestOverlayHostGW runs two nodes with host-gw, after they ran vxlan: the switch deletes the
// VXLAN device and its routes, and the routes via the peers' addresses take over.
func TestOverlayHostGW(t *testing.T) {
	requireRoot(t)
	seg := newSegment(t)
	a := newOverlayNode(t, seg, 1, overlayConfig("node-c", "10.42.22.0/24", BackendVXLAN))
	b := newOverlayNode(t, seg, 2, overlayConfig("node-d", "10.42.23.0/24", BackendVXLAN))
	a.setPeers(t, b)
	b.setPeers(t, a)
	podA, ipA := a.pod(t, "pod-a")
	podB, ipB := b.pod(t, "pod-b")
	crossNode(t, podA, ipA, podB, ipB)

	a.restart(t, overlayConfig("node-c", "10.42.22.0/24", BackendHostGW))
	b.restart(t, overlayConfig("node-d", "10.42.23.0/24", BackendHostGW))
	if a.net.MTU() != 1500 {
		t.Errorf("host-gw MTU %d, want the segment's 1500", a.net.MTU())
	}
	if _, err := a.handle(t).LinkByName(a.net.VXLANName()); !isNotFound(err) {
		t.Fatalf("the VXLAN device is still there with host-gw: %v", err)
	}
	a.setPeers(t, a, b)
	b.setPeers(t, a, b)
	if have := overlayState(t, a); have != "routes [10.42.23.0/24 via 192.168.77.2] neighbours [] fdb []" {
		t.Fatalf("node c's overlay: %s", have)
	}
	crossNode(t, podA, ipA, podB, ipB)
	crossNode(t, podB, ipB, podA, ipA)

	// A peer of the other backend is left out, with a reason logged once.
	other := overlayConfig("node-e", "10.42.24.0/24", BackendVXLAN)
	p, err := parseConfig(Config{NodeName: other.NodeName, StateDir: "/x", PodCIDRs: other.PodCIDRs, NodeIP: "192.168.77.3"})
	if err != nil {
		t.Fatal(err)
	}
	peers := []Peer{b.peer(), {Name: "node-e", PodCIDRs: other.PodCIDRs, Annotations: nodeAnnotations(p)}}
	a.in(t, func() error { return a.net.SetPeers(context.Background(), peers) })
	a.in(t, func() error { return a.net.SetPeers(context.Background(), peers) })
	var leftOut []string
	for _, l := range a.logs.take() {
		if strings.Contains(l, "peer left out") {
			leftOut = append(leftOut, l)
		}
	}
	if len(leftOut) != 1 || !strings.Contains(leftOut[0], `peer=node-e reason="runs network backend \"vxlan\", this node \"host-gw\""`) {
		t.Fatalf("logged %q, want node-e left out once", leftOut)
	}
}

func TestHostPorts(t *testing.T) {
	requireRoot(t)
	world := newWorld(t, 1500)
	cfg := standardConfig("10.42.30.0/24")
	cfg.NodeIP = "198.51.100.2"
	n, _ := newTestNetwork(t, cfg)
	ensureNode(t, n)
	ctx := context.Background()
	nsA, ipsA := setupPod(t, n, "pod-a")
	nsB, ipsB := setupPod(t, n, "pod-b")
	_, peersA := echoServer(t, nsA, net.JoinHostPort(ipsA[0], "8080"))
	_, peersB := echoServer(t, nsB, net.JoinHostPort(ipsB[0], "9090"))
	mustNoErr(t, n.SetHostPorts(ctx, "pod-a", []HostPortMapping{{HostPort: 18080, ContainerPort: 8080}}))
	mustNoErr(t, n.SetHostPorts(ctx, "pod-b", []HostPortMapping{{Protocol: "TCP", HostIP: "198.51.100.2", HostPort: 18081, ContainerPort: 9090}}))
	rules, err := n.hostPortRules()
	if err != nil || len(rules) != 2 {
		t.Fatalf("hostPortRules = %v, %v", rules, err)
	}
	checkTable(t, buildTable(n.cfg, rules))

	expect := func(what, fromNS, addr string, peers <-chan netip.Addr, want string) {
		t.Helper()
		if err := dialEcho(fromNS, addr); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := <-peers; got.String() != want {
			t.Fatalf("%s: the pod saw the connection come from %s, want %s", what, got, want)
		}
	}
	expect("from the world to the node's address", world, "198.51.100.2:18080", peersA, "198.51.100.1")
	expect("from the node to its own address", "", "198.51.100.2:18080", peersA, "198.51.100.2")
	expect("from the node to 127.0.0.1", "", "127.0.0.1:18080", peersA, "10.42.30.1")
	expect("from another pod", nsB, "198.51.100.2:18080", peersA, ipsB[0])
	expect("from the pod to itself", nsA, "198.51.100.2:18080", peersA, "10.42.30.1")
	expect("hostIP: from the world", world, "198.51.100.2:18081", peersB, "198.51.100.1")
	if err := dialEcho("", "127.0.0.1:18081"); err == nil {
		t.Fatal("a hostPort with hostIP 198.51.100.2 answers on 127.0.0.1")
	}

	// After a restart the hostPorts are programmed again from the records.
	cfg.NodeName, cfg.StateDir = n.cfg.node, n.store.dir
	n2, _ := newTestNetwork(t, cfg)
	ensureNode(t, n2)
	checkTable(t, buildTable(n2.cfg, rules))
	expect("after a restart", world, "198.51.100.2:18080", peersA, "198.51.100.1")

	// Teardown removes a pod's hostPorts; GC those of pods gone.
	mustNoErr(t, n2.Teardown(ctx, "pod-a", nsA))
	if err := dialEcho(world, "198.51.100.2:18080"); err == nil {
		t.Fatal("the hostPort of a pod torn down still answers")
	}
	mustNoErr(t, n2.GC(ctx, map[string]bool{}))
	if rules, _ := n2.hostPortRules(); len(rules) != 0 {
		t.Fatalf("after GC: %v", rules)
	}
	checkTable(t, buildTable(n2.cfg, nil))
}
