package podnet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/internal/pinnedns"
)

// The tests in this file need root (see netns_test.go for where they run).

func standardConfig(podCIDRs ...string) Config {
	return Config{
		PodCIDRs:     podCIDRs,
		ClusterCIDRs: []string{"10.42.0.0/16", "fd00:42::/56"},
		ServiceCIDRs: []string{"10.43.0.0/16", "fd00:43::/112"},
		MTU:          1400,
		Backend:      BackendNone,
	}
}

// setupPod makes a pod namespace and connects it.
func setupPod(t *testing.T, n *Network, uid string) (nsPath string, ips []string) {
	t.Helper()
	nsPath = newNetNS(t)
	ips, err := n.Setup(context.Background(), uid, nsPath)
	if err != nil {
		t.Fatalf("Setup(%s): %v", uid, err)
	}
	return nsPath, ips
}

func ensureNode(t *testing.T, n *Network) {
	t.Helper()
	if err := n.EnsureNode(context.Background()); err != nil {
		t.Fatalf("EnsureNode: %v", err)
	}
}

func linkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

func TestPodsReachEachOther(t *testing.T) {
	requireRoot(t)
	n, _ := newTestNetwork(t, standardConfig("10.42.1.0/24"))
	ensureNode(t, n)
	nsA, ipsA := setupPod(t, n, "pod-a")
	nsB, ipsB := setupPod(t, n, "pod-b")

	pod := netip.MustParsePrefix("10.42.1.0/24")
	a, b := netip.MustParseAddr(ipsA[0]), netip.MustParseAddr(ipsB[0])
	if len(ipsA) != 1 || len(ipsB) != 1 || a == b || !pod.Contains(a) || !pod.Contains(b) {
		t.Fatalf("IPs %v and %v: want one distinct address each in %s", ipsA, ipsB, pod)
	}
	addr, peers := echoServer(t, nsA, net.JoinHostPort(ipsA[0], "0"))
	if err := dialEcho(nsB, addr); err != nil {
		t.Fatalf("pod b to pod a: %v", err)
	}
	if got := <-peers; got != b {
		t.Fatalf("pod a saw the connection come from %s, want pod b's %s (no NAT within the cluster)", got, b)
	}
	if got, want := n.Allocated(), map[string]string{ipsA[0]: "pod-a", ipsB[0]: "pod-b"}; !maps.Equal(got, want) {
		t.Fatalf("Allocated = %v, want %v", got, want)
	}
}

func TestPodRouteMTUAndGateway(t *testing.T) {
	requireRoot(t)
	n, _ := newTestNetwork(t, standardConfig("10.42.2.0/24"))
	ensureNode(t, n)
	nsA, ips := setupPod(t, n, "pod-a")
	gw := netip.MustParseAddr("10.42.2.1")

	h := nsHandle(t, nsA)
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if eth0.Attrs().MTU != 1400 || eth0.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("eth0: MTU %d, flags %v; want 1400 and up", eth0.Attrs().MTU, eth0.Attrs().Flags)
	}
	if lo, _ := h.LinkByName("lo"); lo == nil || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo is not up in the pod")
	}
	addrs, _ := h.AddrList(eth0, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != ips[0]+"/24" {
		t.Errorf("eth0 addresses %v, want %s/24 alone", addrs, ips[0])
	}
	routes, _ := h.RouteList(eth0, netlink.FAMILY_V4)
	var defaults []string
	for _, r := range routes {
		if idx, ok := defaultRouteLink([]netlink.Route{r}); ok && idx == eth0.Attrs().Index {
			defaults = append(defaults, r.Gw.String())
		}
	}
	if !slices.Equal(defaults, []string{gw.String()}) {
		t.Errorf("default routes via %v, want via %s only (routes: %v)", defaults, gw, routes)
	}

	host, err := netlink.LinkByName(hostVethName(n.cfg.node, "pod-a"))
	if err != nil {
		t.Fatal(err)
	}
	bridge, _ := netlink.LinkByName(n.cfg.bridge)
	if host.Attrs().MasterIndex != bridge.Attrs().Index || host.Attrs().MTU != 1400 {
		t.Errorf("host end: master %d (bridge %d), MTU %d", host.Attrs().MasterIndex, bridge.Attrs().Index, host.Attrs().MTU)
	}
	if info, err := netlink.LinkGetProtinfo(host); err != nil || !info.Hairpin {
		t.Errorf("host end: hairpin %v, %v; want on", info.Hairpin, err)
	}
	if bridge.Attrs().MTU != 1400 {
		t.Errorf("bridge MTU %d, want 1400", bridge.Attrs().MTU)
	}

	// The pod reaches a server on the node at the gateway address, keeping its source.
	addr, peers := echoServer(t, "", net.JoinHostPort(gw.String(), "0"))
	if err := dialEcho(nsA, addr); err != nil {
		t.Fatalf("pod to gateway: %v", err)
	}
	if got := <-peers; got.String() != ips[0] {
		t.Fatalf("gateway saw %s, want the pod's %s", got, ips[0])
	}
}

func TestSetupIdempotentAndTeardown(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	n, _ := newTestNetwork(t, standardConfig("10.42.3.0/24"))
	ensureNode(t, n)
	nsA, first := setupPod(t, n, "pod-a")
	again, err := n.Setup(ctx, "pod-a", nsA)
	if err != nil || !slices.Equal(first, again) {
		t.Fatalf("second Setup = %v, %v; want %v", again, err, first)
	}
	h := nsHandle(t, nsA)
	eth0, _ := h.LinkByName("eth0")
	if addrs, _ := h.AddrList(eth0, netlink.FAMILY_V4); len(addrs) != 1 {
		t.Fatalf("after two Setups eth0 has %v, want one address", addrs)
	}
	if got := portsOf(t, n); len(got) != 1 {
		t.Fatalf("after two Setups the bridge has ports %v, want one", got)
	}
	if err := dialEcho(nsA, gatewayEcho(t, "10.42.3.1")); err != nil {
		t.Fatalf("after two Setups: %v", err)
	}

	hostName := hostVethName(n.cfg.node, "pod-a")
	if err := n.Teardown(ctx, "pod-a", nsA); err != nil {
		t.Fatal(err)
	}
	if linkExists(hostName) {
		t.Fatalf("veth %s still exists after Teardown", hostName)
	}
	if got := n.Allocated(); len(got) != 0 {
		t.Fatalf("Allocated after Teardown = %v, want none", got)
	}
	if err := n.Teardown(ctx, "pod-a", nsA); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
	if err := n.Teardown(ctx, "never-seen", "/nonexistent/netns"); err != nil {
		t.Fatalf("Teardown of an unknown pod: %v", err)
	}

	// The released address is not handed out again at once.
	_, next := setupPod(t, n, "pod-b")
	if next[0] == first[0] {
		t.Fatalf("pod-b got %s, the address pod-a just released", next[0])
	}

	// Teardown works after the pod's namespace is gone.
	nsC, _ := setupPod(t, n, "pod-c")
	pinnedns.Remove(nsC)
	if err := n.Teardown(ctx, "pod-c", nsC); err != nil {
		t.Fatalf("Teardown after the namespace is gone: %v", err)
	}
	if linkExists(hostVethName(n.cfg.node, "pod-c")) {
		t.Fatal("pod-c's veth exists after Teardown")
	}
	if got := n.Allocated(); len(got) != 1 || got[next[0]] != "pod-b" {
		t.Fatalf("Allocated = %v, want only pod-b's %s", got, next[0])
	}

	// Setup into a new namespace for the same pod (a new sandbox) moves the pod there.
	nsB2 := newNetNS(t)
	moved, err := n.Setup(ctx, "pod-b", nsB2)
	if err != nil || !slices.Equal(moved, next) {
		t.Fatalf("Setup of pod-b in a new namespace = %v, %v; want %v", moved, err, next)
	}
	if err := dialEcho(nsB2, gatewayEcho(t, "10.42.3.1")); err != nil {
		t.Fatalf("pod-b in its new namespace: %v", err)
	}

	if _, err := n.Setup(ctx, "pod-d", "/nonexistent/netns"); err == nil {
		t.Fatal("Setup with a missing namespace succeeded")
	}
	if got := n.Allocated(); len(got) != 1 || got[next[0]] != "pod-b" {
		t.Fatalf("a failed Setup changed the allocations: %v", got)
	}
}

// gatewayEcho starts an echo server on the node at the gateway and returns its address.
func gatewayEcho(t *testing.T, gw string) string {
	addr, _ := echoServer(t, "", net.JoinHostPort(gw, "0"))
	return addr
}

// portsOf returns the names of the bridge's ports.
func portsOf(t *testing.T, n *Network) []string {
	t.Helper()
	bridge, err := netlink.LinkByName(n.cfg.bridge)
	if err != nil {
		t.Fatal(err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		if l.Attrs().MasterIndex == bridge.Attrs().Index {
			out = append(out, l.Attrs().Name)
		}
	}
	return out
}

func TestPodCIDRExhausted(t *testing.T) {
	requireRoot(t)
	n, _ := newTestNetwork(t, standardConfig("10.42.9.0/29"))
	ensureNode(t, n)
	var got []string
	for i := range 5 {
		_, ips := setupPod(t, n, fmt.Sprintf("pod-%d", i))
		got = append(got, ips[0])
	}
	if want := "10.42.9.2 10.42.9.3 10.42.9.4 10.42.9.5 10.42.9.6"; strings.Join(got, " ") != want {
		t.Fatalf("pods got %v, want %s", got, want)
	}
	_, err := n.Setup(context.Background(), "pod-5", newNetNS(t))
	if !errors.Is(err, ErrPodCIDRExhausted) || !strings.Contains(err.Error(), "10.42.9.0/29") {
		t.Fatalf("sixth pod: err = %v, want ErrPodCIDRExhausted naming 10.42.9.0/29", err)
	}
	if linkExists(hostVethName(n.cfg.node, "pod-5")) {
		t.Fatal("the failed Setup left a veth")
	}
	if len(n.Allocated()) != 5 {
		t.Fatalf("Allocated = %v, want the 5 pods", n.Allocated())
	}
	// Releasing one makes room for exactly one more.
	if err := n.Teardown(context.Background(), "pod-2", ""); err != nil {
		t.Fatal(err)
	}
	if _, ips := setupPod(t, n, "pod-5"); ips[0] != "10.42.9.4" {
		t.Fatalf("after releasing 10.42.9.4 the next pod got %v", ips)
	}
}

func TestRestartAdoptsAndGC(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	cfg := standardConfig("10.42.5.0/24")
	n1, _ := newTestNetwork(t, cfg)
	ensureNode(t, n1)
	nsA, ipsA := setupPod(t, n1, "pod-a")
	nsB, _ := setupPod(t, n1, "pod-b")
	bridgeBefore, _ := netlink.LinkByName(n1.cfg.bridge)

	// A new Network over the same state dir: the agent after a restart.
	cfg.NodeName, cfg.StateDir = n1.cfg.node, n1.store.dir
	n2, logs := newTestNetwork(t, cfg)
	if got, want := n2.Allocated(), n1.Allocated(); !maps.Equal(got, want) || len(got) != 2 {
		t.Fatalf("after restart Allocated = %v, want %v", got, want)
	}
	ensureNode(t, n2)
	bridgeAfter, _ := netlink.LinkByName(n2.cfg.bridge)
	if bridgeAfter.Attrs().Index != bridgeBefore.Attrs().Index {
		t.Fatal("EnsureNode after restart replaced the bridge instead of adopting it")
	}
	for _, l := range logs.take() {
		if strings.Contains(l, "created bridge") {
			t.Errorf("EnsureNode after restart logged %q", l)
		}
	}
	addr, _ := echoServer(t, nsA, net.JoinHostPort(ipsA[0], "0"))
	if err := dialEcho(nsB, addr); err != nil {
		t.Fatalf("pods after restart: %v", err)
	}
	if again, err := n2.Setup(ctx, "pod-a", nsA); err != nil || !slices.Equal(again, ipsA) {
		t.Fatalf("Setup after restart = %v, %v; want %v", again, err, ipsA)
	}

	// pod-b went away while the agent was down.
	if err := n2.GC(ctx, map[string]bool{"pod-a": true}); err != nil {
		t.Fatal(err)
	}
	if got := n2.Allocated(); len(got) != 1 || got[ipsA[0]] != "pod-a" {
		t.Fatalf("after GC Allocated = %v, want only pod-a", got)
	}
	if linkExists(hostVethName(n2.cfg.node, "pod-b")) {
		t.Fatal("GC left pod-b's veth")
	}
	if !linkExists(hostVethName(n2.cfg.node, "pod-a")) {
		t.Fatal("GC deleted pod-a's veth")
	}
	if err := dialEcho(nsA, gatewayEcho(t, "10.42.5.1")); err != nil {
		t.Fatalf("pod-a after GC: %v", err)
	}
}

func TestNodeTableAndSysctls(t *testing.T) {
	requireRoot(t)
	n, logs := newTestNetwork(t, standardConfig("10.42.6.0/24"))
	for _, s := range nodeSysctls(false) {
		if err := os.WriteFile(s.path(procSys), []byte("0"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ensureNode(t, n)
	changed := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.Contains(l, "changed sysctl") {
				out = append(out, l)
			}
		}
		return out
	}
	if got := changed(logs.take()); len(got) != 3 ||
		!strings.Contains(got[0], "name=net.ipv4.ip_forward from=0 to=1") ||
		!strings.Contains(got[1], "name=net.bridge.bridge-nf-call-iptables from=0 to=1") ||
		!strings.Contains(got[2], "name=net.ipv4.conf."+n.cfg.bridge+".route_localnet from=0 to=1") {
		t.Errorf("first EnsureNode logged sysctl changes %q, want ip_forward, bridge-nf-call-iptables and the bridge's route_localnet 0 -> 1", got)
	}
	for _, s := range append(nodeSysctls(false), bridgeSysctls(n.cfg.bridge)...) {
		if b, _ := os.ReadFile(s.path(procSys)); strings.TrimSpace(string(b)) != s.Value {
			t.Errorf("%s = %q, want %s", s.Name, b, s.Value)
		}
	}
	want := buildTable(n.cfg, nil)
	checkTable(t, want)

	ensureNode(t, n)
	if got := changed(logs.take()); len(got) != 0 {
		t.Errorf("second EnsureNode logged sysctl changes %q, want none", got)
	}
	checkTable(t, want)
}

// checkTable lists the node's table through netlink and checks it holds exactly the chains
// and rules of want, each rule once, with the expressions that want's rules translate to.
func checkTable(t *testing.T, want tableSpec) {
	t.Helper()
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	table, err := conn.ListTableOfFamily(want.Name, nftables.TableFamilyINet)
	if err != nil {
		t.Fatalf("table inet %s: %v", want.Name, err)
	}
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range chains {
		if c.Table.Name != want.Name {
			continue
		}
		names = append(names, c.Name)
		var spec *chainSpec
		for i := range want.Chains {
			if want.Chains[i].Name == c.Name {
				spec = &want.Chains[i]
			}
		}
		if spec == nil {
			t.Errorf("unexpected chain %s", c.Name)
			continue
		}
		if spec.Hook == "" {
			if c.Hooknum != nil {
				t.Errorf("chain %s is a base chain, want a regular one", c.Name)
			}
		} else if c.Type != spec.Type || c.Hooknum == nil || *c.Hooknum != *nftHook[spec.Hook] || c.Priority == nil || int32(*c.Priority) != spec.Priority {
			t.Errorf("chain %s: type %s hook %v priority %v; want %s %s %d", c.Name, c.Type, c.Hooknum, c.Priority, spec.Type, spec.Hook, spec.Priority)
		}
		rules, err := conn.GetRules(table, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) != len(spec.Rules) {
			t.Errorf("chain %s has %d rules, want %d", c.Name, len(rules), len(spec.Rules))
			continue
		}
		for i, r := range rules {
			comment, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			if comment != spec.Rules[i].Comment {
				t.Errorf("chain %s rule %d: comment %q, want %q", c.Name, i, comment, spec.Rules[i].Comment)
			}
			if !reflect.DeepEqual(r.Exprs, spec.Rules[i].exprs()) {
				t.Errorf("chain %s rule %d (%s): the kernel holds\n%s\nwant\n%s", c.Name, i, spec.Rules[i], exprsString(r.Exprs), exprsString(spec.Rules[i].exprs()))
			}
		}
	}
	var wantNames []string
	for _, c := range want.Chains {
		wantNames = append(wantNames, c.Name)
	}
	slices.Sort(names)
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("chains %v, want %v", names, wantNames)
	}
}

func exprsString(es []expr.Any) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  [ %s ]\n", exprString(e))
	}
	return b.String()
}

func TestMasqueradeLeavingTheCluster(t *testing.T) {
	requireRoot(t)
	world := newWorld(t, 1450)
	cfg := standardConfig("10.42.7.0/24")
	cfg.MTU = 0 // from the default route: the world's link
	n, _ := newTestNetwork(t, cfg)
	if n.MTU() != 1450 {
		t.Fatalf("MTU = %d, want 1450 from the default route's interface", n.MTU())
	}
	ensureNode(t, n)
	nsA, ips := setupPod(t, n, "pod-a")
	h := nsHandle(t, nsA)
	if eth0, _ := h.LinkByName("eth0"); eth0 == nil || eth0.Attrs().MTU != 1450 {
		t.Fatalf("pod eth0 MTU is not 1450")
	}

	addr, peers := echoServer(t, world, "198.51.100.1:0")
	if err := dialEcho(nsA, addr); err != nil {
		t.Fatalf("pod to the world: %v", err)
	}
	if got := <-peers; got.String() != "198.51.100.2" {
		t.Fatalf("the world saw the pod as %s, want the node's 198.51.100.2 (pod IP %s)", got, ips[0])
	}
}

func TestDualStack(t *testing.T) {
	requireRoot(t)
	n, _ := newTestNetwork(t, standardConfig("fd00:42:0:8::/64", "10.42.8.0/24"))
	ensureNode(t, n)
	nsA, ipsA := setupPod(t, n, "pod-a")
	nsB, ipsB := setupPod(t, n, "pod-b")
	if len(ipsA) != 2 || !netip.MustParseAddr(ipsA[0]).Is4() || !netip.MustParseAddr(ipsA[1]).Is6() {
		t.Fatalf("pod-a IPs %v, want IPv4 then IPv6", ipsA)
	}
	addr, peers := echoServer(t, nsA, net.JoinHostPort(ipsA[1], "0"))
	if err := dialEcho(nsB, addr); err != nil {
		t.Fatalf("pod b to pod a over IPv6: %v", err)
	}
	if got := <-peers; got.String() != ipsB[1] {
		t.Fatalf("pod a saw %s, want %s", got, ipsB[1])
	}
	h := nsHandle(t, nsA)
	eth0, _ := h.LinkByName("eth0")
	routes, _ := h.RouteList(eth0, netlink.FAMILY_V6)
	found := false
	for _, r := range routes {
		if _, ok := defaultRouteLink([]netlink.Route{r}); ok && r.Gw.String() == "fd00:42:0:8::1" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no IPv6 default route via fd00:42:0:8::1 in %v", routes)
	}
	if b, _ := os.ReadFile("/proc/sys/net/ipv6/conf/all/forwarding"); strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("IPv6 forwarding is %q", b)
	}
}

func TestTwoNetworksOneKernel(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	n1, _ := newTestNetwork(t, standardConfig("10.42.10.0/24"))
	n2, _ := newTestNetwork(t, standardConfig("10.42.11.0/24"))
	if n1.cfg.bridge == n2.cfg.bridge || n1.cfg.table == n2.cfg.table {
		t.Fatalf("nodes %s and %s share names: %s/%s", n1.cfg.node, n2.cfg.node, n1.cfg.bridge, n1.cfg.table)
	}
	ensureNode(t, n1)
	ensureNode(t, n2)
	checkTable(t, buildTable(n1.cfg, nil))
	checkTable(t, buildTable(n2.cfg, nil))

	// The same pod UID on both (which real UIDs never are) still gets two veths.
	ns1, ips1 := setupPod(t, n1, "same-uid")
	ns2, ips2 := setupPod(t, n2, "same-uid")
	if ips1[0] != "10.42.10.2" || ips2[0] != "10.42.11.2" {
		t.Fatalf("IPs %v and %v", ips1, ips2)
	}
	if err := dialEcho(ns1, gatewayEcho(t, "10.42.10.1")); err != nil {
		t.Fatal(err)
	}
	if err := dialEcho(ns2, gatewayEcho(t, "10.42.11.1")); err != nil {
		t.Fatal(err)
	}
	if err := n1.Teardown(ctx, "same-uid", ns1); err != nil {
		t.Fatal(err)
	}
	if !linkExists(hostVethName(n2.cfg.node, "same-uid")) || len(n2.Allocated()) != 1 {
		t.Fatal("tearing down a pod of one node touched the other node's pod")
	}
	if err := n1.GC(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !linkExists(hostVethName(n2.cfg.node, "same-uid")) {
		t.Fatal("GC of one node deleted the other node's veth")
	}
	if err := dialEcho(ns2, gatewayEcho(t, "10.42.11.1")); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureNodeRepairs(t *testing.T) {
	requireRoot(t)
	n, _ := newTestNetwork(t, standardConfig("10.42.12.0/24"))
	ensureNode(t, n)
	bridge, _ := netlink.LinkByName(n.cfg.bridge)
	// Someone takes the bridge down, adds a stray address and flushes the table.
	mustNoErr(t, netlink.LinkSetDown(bridge))
	mustNoErr(t, netlink.AddrAdd(bridge, mustAddr("192.168.77.1/24")))
	conn, _ := nftables.New()
	conn.FlushTable(&nftables.Table{Name: n.cfg.table, Family: nftables.TableFamilyINet})
	mustNoErr(t, conn.Flush())

	ensureNode(t, n)
	bridge, _ = netlink.LinkByName(n.cfg.bridge)
	if bridge.Attrs().Flags&net.FlagUp == 0 {
		t.Error("bridge still down")
	}
	addrs, _ := netlink.AddrList(bridge, unix.AF_INET)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.42.12.1/24" {
		t.Errorf("bridge addresses %v, want 10.42.12.1/24 alone", addrs)
	}
	checkTable(t, buildTable(n.cfg, nil))
}

func BenchmarkSetup(b *testing.B) {
	requireRoot(b)
	ctx := context.Background()
	n, _ := newTestNetwork(b, standardConfig("10.42.16.0/20"))
	if err := n.EnsureNode(ctx); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var teardown time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := fmt.Sprintf("%s/ns-%d", dir, i)
		if err := pinnedns.Create(path); err != nil {
			b.Fatal(err)
		}
		uid := fmt.Sprintf("pod-%d", i)
		b.StartTimer()
		if _, err := n.Setup(ctx, uid, path); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		start := time.Now()
		if err := n.Teardown(ctx, uid, path); err != nil {
			b.Fatal(err)
		}
		teardown += time.Since(start)
		pinnedns.Remove(path)
		b.StartTimer()
	}
	b.ReportMetric(float64(teardown)/float64(b.N), "teardown-ns/op")
}

func TestSetupRepairs(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	n, _ := newTestNetwork(t, standardConfig("10.42.13.0/24"))
	ensureNode(t, n)
	nsA, ips := setupPod(t, n, "pod-a")
	h := nsHandle(t, nsA)

	// Something inside the pod breaks its network: eth0 down, a stray address, no route.
	eth0, _ := h.LinkByName("eth0")
	mustNoErr(t, h.LinkSetDown(eth0))
	mustNoErr(t, h.AddrAdd(eth0, mustAddr("10.99.0.5/24")))
	if err := dialEcho(nsA, gatewayEcho(t, "10.42.13.1")); err == nil {
		t.Fatal("the pod reaches the gateway with eth0 down")
	}
	again, err := n.Setup(ctx, "pod-a", nsA)
	if err != nil || !slices.Equal(again, ips) {
		t.Fatalf("Setup to repair = %v, %v; want %v", again, err, ips)
	}
	eth0, _ = h.LinkByName("eth0")
	if addrs, _ := h.AddrList(eth0, netlink.FAMILY_V4); len(addrs) != 1 || addrs[0].IP.String() != ips[0] {
		t.Fatalf("after repair eth0 has %v, want %s alone", addrs, ips[0])
	}
	if err := dialEcho(nsA, gatewayEcho(t, "10.42.13.1")); err != nil {
		t.Fatalf("after repair: %v", err)
	}

	// An eth0 that is not the peer of the pod's host end (here, one end of a pair that lives
	// wholly in the pod) is replaced.
	mustNoErr(t, h.LinkDel(eth0)) // deletes the host end with it
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "eth0"
	mustNoErr(t, h.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "other0", PeerTxQLen: -1}))
	if _, err := n.Setup(ctx, "pod-a", nsA); err != nil {
		t.Fatalf("Setup over a foreign eth0: %v", err)
	}
	if err := dialEcho(nsA, gatewayEcho(t, "10.42.13.1")); err != nil {
		t.Fatalf("after replacing a foreign eth0: %v", err)
	}
	if _, err := h.LinkByName("other0"); err == nil {
		t.Fatal("the foreign pair's other end is still there")
	}
}
