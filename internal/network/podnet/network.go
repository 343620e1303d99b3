package podnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// procSys is where the kernel's settings are.
const procSys = "/proc/sys"

// defaultMTU is the MTU used when Config.MTU is 0 and no default route says otherwise.
const defaultMTU = 1500

// Network is the pod network of one node. Its methods act in the network namespace of the
// calling goroutine's thread, which is the process's unless the caller has locked its
// thread into another one. All methods are safe for concurrent use.
type Network struct {
	cfg   parsedConfig
	log   *slog.Logger
	mtu   int
	store *ipamStore
	host  *netlink.Handle // the zero Handle: a socket per request, in the caller's namespace

	// node serialises EnsureNode, SetPeers, SetHostPorts and the table's programming, and
	// guards what follows.
	node     sync.Mutex
	peers    []Peer            // the last SetPeers
	peersSet bool              // whether SetPeers has run
	skipped  map[string]string // peers left out of the overlay, and why, as last logged
	notYet   int               // peers not announced yet, as last logged
}

// New checks cfg and returns the node's network. It opens the IPAM records in cfg.StateDir
// (creating the directory if missing), keeping those already there, and changes nothing in
// the kernel, so it is safe to call after a restart: EnsureNode then adopts the bridge,
// addresses, table and VXLAN device that already exist. With cfg.MTU 0 it reads the MTU of
// the interface that holds cfg.NodeIP (else of the one that holds the default route) and, with
// the vxlan backend, subtracts the VXLAN overhead.
func New(cfg Config) (*Network, error) {
	p, err := parseConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("pod network: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	store, err := openIPAMStore(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("pod network: node %s: %w", cfg.NodeName, err)
	}
	n := &Network{cfg: p, log: log.With("bridge", p.bridge), mtu: cfg.MTU, store: store, host: &netlink.Handle{}}
	if n.mtu == 0 {
		if n.mtu, err = n.underlayMTU(); err != nil {
			return nil, fmt.Errorf("pod network: node %s: MTU: %w", cfg.NodeName, err)
		}
		if p.backend == BackendVXLAN {
			overhead := vxlanOverhead4
			if p.nodeIP.Is6() {
				overhead = vxlanOverhead6
			}
			n.mtu -= overhead
			n.log.Debug("MTU less the VXLAN overhead", "mtu", n.mtu, "overhead", overhead)
		}
	}
	return n, nil
}

// underlayMTU returns the MTU of the interface that holds the node IP, else of the one that
// holds the default route, else defaultMTU.
func (n *Network) underlayMTU() (int, error) {
	link, err := linkWithAddr(n.host, n.cfg.nodeIP)
	if err != nil {
		return 0, err
	}
	if link != nil {
		n.log.Debug("MTU from the node IP's interface", "mtu", link.Attrs().MTU, "interface", link.Attrs().Name)
		return link.Attrs().MTU, nil
	}
	mtu, dev, err := defaultRouteMTU()
	switch {
	case err != nil:
		return 0, err
	case dev == "":
		n.log.Info("no default route; using the default MTU", "mtu", defaultMTU)
		return defaultMTU, nil
	}
	n.log.Debug("MTU from the default route's interface", "mtu", mtu, "interface", dev)
	return mtu, nil
}

// MTU returns the MTU of the bridge and the pods' interfaces.
func (n *Network) MTU() int { return n.mtu }

// BridgeName returns the name of the node's bridge.
func (n *Network) BridgeName() string { return n.cfg.bridge }

// TableName returns the name of the node's nftables table (family inet).
func (n *Network) TableName() string { return n.cfg.table }

// EnsureNode makes the node's side of the pod network what the Config says, and may be called
// any number of times (at every agent start, and again to repair):
//
//   - the bridge exists, is up, has the MTU and holds the gateway address of each podCIDR
//     (its first host address) and no other global address;
//   - net.ipv4.ip_forward and net.bridge.bridge-nf-call-iptables are 1, loading br_netfilter
//     if needed (with an IPv6 podCIDR, also net.ipv6.conf.all.forwarding and
//     bridge-nf-call-ip6tables); each setting it changes is logged;
//   - with the vxlan backend, the VXLAN device (named from the node name: "skx" and 8 hex
//     characters) exists with the VNI, port, local address NodeIP, learning off, a MAC
//     derived from the node name, the MTU and the network address of each podCIDR; with
//     another backend it does not exist; the peers of the last SetPeers are applied again;
//   - the node's nftables table (inet skiff-podnet-<hash>) holds exactly the rules that
//     buildTable decides: masquerade for pod traffic leaving the cluster, forward accept
//     for the bridge, and the DNAT of the hostPorts recorded by SetHostPorts. It is replaced
//     in one transaction.
func (n *Network) EnsureNode(ctx context.Context) error {
	n.node.Lock()
	defer n.node.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.ensureBridge(); err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.ensureSysctls(); err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.ensureOverlay(); err != nil {
		return fmt.Errorf("pod network: overlay: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.programTable(); err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	return nil
}

// programTable replaces the node's nftables table with what buildTable decides from the
// configuration and the recorded hostPorts. The caller holds n.node.
func (n *Network) programTable() error {
	hp, err := n.hostPortRules()
	if err != nil {
		return err
	}
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return applyTable(conn, buildTable(n.cfg, hp))
}

// ensureBridge creates or adopts the bridge.
func (n *Network) ensureBridge() error {
	link, err := n.host.LinkByName(n.cfg.bridge)
	if isNotFound(err) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.HardwareAddr = n.cfg.bridge, n.mtu, bridgeMAC(n.cfg.bridge)
		if err := n.host.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", n.cfg.bridge, err)
		}
		n.log.Info("created bridge", "mtu", n.mtu)
		link, err = n.host.LinkByName(n.cfg.bridge)
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.cfg.bridge, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("%s exists and is a %s, not a bridge", n.cfg.bridge, link.Type())
	}
	if link.Attrs().MTU != n.mtu {
		if err := n.host.LinkSetMTU(link, n.mtu); err != nil {
			return fmt.Errorf("bridge %s: set MTU %d: %w", n.cfg.bridge, n.mtu, err)
		}
		n.log.Info("set bridge MTU", "from", link.Attrs().MTU, "to", n.mtu)
	}
	var want []netip.Prefix
	for _, r := range n.cfg.ranges {
		want = append(want, netip.PrefixFrom(r.Gateway, r.Prefix.Bits()))
	}
	if err := syncAddrs(n.host, link, want); err != nil {
		return fmt.Errorf("bridge %s: %w", n.cfg.bridge, err)
	}
	if link.Attrs().Flags&unix.IFF_UP == 0 {
		if err := n.host.LinkSetUp(link); err != nil {
			return fmt.Errorf("bridge %s: set up: %w", n.cfg.bridge, err)
		}
	}
	return nil
}

// ensureSysctls sets the kernel settings the node needs, loading br_netfilter if its
// settings are missing, and logs each change.
func (n *Network) ensureSysctls() error {
	loaded, err := ensureBrNetfilter(procSys)
	if err != nil {
		return err
	}
	if loaded {
		n.log.Info("loaded kernel module", "module", "br_netfilter")
	}
	for _, s := range append(nodeSysctls(len(n.cfg.ranges) > 1), bridgeSysctls(n.cfg.bridge)...) {
		old, changed, err := ensureSysctl(procSys, s)
		if err != nil {
			return err
		}
		if changed {
			n.log.Info("changed sysctl", "name", s.Name, "from", old, "to", s.Value)
		}
	}
	return nil
}

// Allocated returns every allocated pod address and the UID of the pod it belongs to, as
// the IPAM records in StateDir say. If the records cannot be read it logs why and returns
// an empty map.
func (n *Network) Allocated() map[string]string {
	recs, err := n.store.records()
	if err != nil {
		n.log.Error("read IPAM records", "err", err)
	}
	out := make(map[string]string, len(recs))
	for a, uid := range recs {
		out[a.String()] = uid
	}
	return out
}

// GC releases the addresses and removes the hostPorts of every pod not in live (keyed by pod
// UID) and deletes the host ends of veth pairs on the bridge that belong to no live pod. Call it after an agent
// restart, once the live pods are known and before Setup runs for new ones: a pod whose Setup
// runs concurrently with GC and is missing from live loses its address.
func (n *Network) GC(ctx context.Context, live map[string]bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	if err := n.removeHostPorts(func(uid string) bool { return !live[uid] }); err != nil {
		errs = append(errs, err)
	}
	released, err := n.store.releaseIf(func(_ netip.Addr, uid string) bool { return !live[uid] })
	if err != nil {
		errs = append(errs, err)
	}
	for _, a := range released {
		n.log.Info("released address of a pod that is gone", "ip", a)
	}
	if err := n.gcVeths(live); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pod network: gc: %w", err)
	}
	return nil
}

// gcVeths deletes the veths on the bridge whose names belong to no live pod.
func (n *Network) gcVeths(live map[string]bool) error {
	bridge, err := n.host.LinkByName(n.cfg.bridge)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.cfg.bridge, err)
	}
	keep := make(map[string]bool, len(live))
	for uid, ok := range live {
		if ok {
			keep[hostVethName(n.cfg.node, uid)] = true
		}
	}
	links, err := retryDump(n.host.LinkList)
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	var errs []error
	for _, l := range links {
		a := l.Attrs()
		if _, isVeth := l.(*netlink.Veth); !isVeth || a.MasterIndex != bridge.Attrs().Index || keep[a.Name] {
			continue
		}
		if err := n.host.LinkDel(l); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("delete veth %s: %w", a.Name, err))
			continue
		}
		n.log.Info("deleted veth of a pod that is gone", "veth", a.Name)
	}
	return errors.Join(errs...)
}

// isNotFound reports whether err says a link does not exist.
func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

// retryDump calls a netlink dump until it is not interrupted by a concurrent change, a few
// times at most.
func retryDump[T any](dump func() (T, error)) (T, error) {
	var v T
	var err error
	for range 5 {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return v, err
}

// defaultRouteMTU returns the MTU and name of the interface that holds the default route (of
// IPv4, else of IPv6), or dev "" if there is none.
func defaultRouteMTU() (mtu int, dev string, err error) {
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := retryDump(func() ([]netlink.Route, error) { return netlink.RouteList(nil, family) })
		if err != nil {
			return 0, "", fmt.Errorf("list routes: %w", err)
		}
		idx, ok := defaultRouteLink(routes)
		if !ok {
			continue
		}
		link, err := netlink.LinkByIndex(idx)
		if err != nil {
			return 0, "", fmt.Errorf("default route's interface %d: %w", idx, err)
		}
		return link.Attrs().MTU, link.Attrs().Name, nil
	}
	return 0, "", nil
}

// defaultRouteLink returns the interface index of the preferred default route among routes
// (the lowest metric; for a multipath route, its first hop).
func defaultRouteLink(routes []netlink.Route) (int, bool) {
	var defaults []netlink.Route
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 {
				continue
			}
		}
		if r.Table != 0 && r.Table != unix.RT_TABLE_MAIN {
			continue
		}
		defaults = append(defaults, r)
	}
	sort.SliceStable(defaults, func(i, j int) bool { return defaults[i].Priority < defaults[j].Priority })
	for _, r := range defaults {
		if r.LinkIndex > 0 {
			return r.LinkIndex, true
		}
		for _, hop := range r.MultiPath {
			if hop.LinkIndex > 0 {
				return hop.LinkIndex, true
			}
		}
	}
	return 0, false
}
