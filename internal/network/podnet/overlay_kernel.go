package podnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routeProtocol marks the routes the overlay makes (`ip route show proto 77`), so that it
// finds and removes its own stale routes and no one else's.
const routeProtocol = netlink.RouteProtocol(77)

// VXLAN encapsulation overhead: outer IP header, UDP header, VXLAN header and inner Ethernet
// header.
const (
	vxlanOverhead4 = 20 + 8 + 8 + 14
	vxlanOverhead6 = 40 + 8 + 8 + 14
)

// NodeAnnotations returns the annotations the node must carry on its Node object so that
// the other nodes reach its pods (AnnotationBackend, AnnotationPublicIP and, with vxlan,
// AnnotationVTEPMAC). They do not change while the Config does not.
func (n *Network) NodeAnnotations() map[string]string { return nodeAnnotations(n.cfg) }

// Backend returns the node's backend: BackendVXLAN, BackendHostGW or BackendNone.
func (n *Network) Backend() string { return n.cfg.backend }

// VXLANName returns the name of the node's VXLAN device (which exists only with BackendVXLAN).
func (n *Network) VXLANName() string { return n.cfg.vxlan }

// SetPeers makes the node's routes to other nodes' pods those that peers call for (and, with
// vxlan, repairs the VXLAN device first, as EnsureNode makes it): peers is the
// whole set of nodes (the node itself among them or not), and SetPeers adds, changes and
// removes routes, neighbour entries and forwarding entries to match, removing the overlay's
// entries that belong to no peer (left by an earlier agent, or by a peer that went away). It
// logs each change, and each peer it leaves out with the reason, once. EnsureNode must have
// run; a later EnsureNode applies the last peers again (after it re-created the VXLAN device,
// for example). An error says which entries could not be made; the others are made.
func (n *Network) SetPeers(ctx context.Context, peers []Peer) error {
	n.node.Lock()
	defer n.node.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	n.peers = slices.Clone(peers)
	n.peersSet = true
	if n.cfg.backend == BackendVXLAN {
		// Repairs the device if someone deleted or changed it since EnsureNode.
		if err := n.ensureVXLAN(); err != nil {
			return fmt.Errorf("pod network: overlay: %w", err)
		}
	}
	if err := n.syncPeers(); err != nil {
		return fmt.Errorf("pod network: overlay: %w", err)
	}
	return nil
}

// ensureOverlay makes the node's VXLAN device what the Config says (BackendVXLAN), or deletes
// it (the other backends), then applies the last peers if SetPeers has run.
func (n *Network) ensureOverlay() error {
	if n.cfg.backend == BackendVXLAN {
		if err := n.ensureVXLAN(); err != nil {
			return err
		}
	} else if err := n.deleteVXLAN(); err != nil {
		return err
	}
	if n.peersSet {
		return n.syncPeers()
	}
	return nil
}

// ensureVXLAN creates or adopts the VXLAN device: VNI, UDP port and local address as
// configured, learning off (the agent programs every entry), the derived MAC, the MTU, the
// network address of each podCIDR as a host address, and up. A device whose VNI, port or
// local address differ is replaced.
func (n *Network) ensureVXLAN() error {
	name := n.cfg.vxlan
	underlay := 0
	if l, err := linkWithAddr(n.host, n.cfg.nodeIP); err == nil && l != nil {
		underlay = l.Attrs().Index
	}
	link, err := n.host.LinkByName(name)
	switch {
	case err == nil:
		vx, ok := link.(*netlink.Vxlan)
		if ok && vx.VxlanId == n.cfg.vni && vx.Port == n.cfg.port && n.cfg.nodeIP.Compare(ipAddr(vx.SrcAddr)) == 0 && !vx.Learning {
			break
		}
		n.log.Info("replacing the VXLAN device, whose settings differ", "vxlan", name, "type", link.Type())
		if err := n.host.LinkDel(link); err != nil && !isNotFound(err) {
			return fmt.Errorf("vxlan %s: delete: %w", name, err)
		}
		link = nil
	case !isNotFound(err):
		return fmt.Errorf("vxlan %s: %w", name, err)
	default:
		link = nil
	}
	mac := vtepMAC(n.cfg.node)
	if link == nil {
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.HardwareAddr = name, n.mtu, mac
		vx := &netlink.Vxlan{
			LinkAttrs: attrs, VxlanId: n.cfg.vni, Port: n.cfg.port, SrcAddr: net.IP(n.cfg.nodeIP.AsSlice()),
			VtepDevIndex: underlay, Learning: false,
		}
		if err := n.host.LinkAdd(vx); err != nil {
			return fmt.Errorf("vxlan %s: create (VNI %d, port %d, local %s): %w", name, n.cfg.vni, n.cfg.port, n.cfg.nodeIP, err)
		}
		n.log.Info("created VXLAN device", "vxlan", name, "vni", n.cfg.vni, "port", n.cfg.port, "local", n.cfg.nodeIP, "mac", mac.String(), "mtu", n.mtu)
		if link, err = n.host.LinkByName(name); err != nil {
			return fmt.Errorf("vxlan %s: %w", name, err)
		}
	}
	if link.Attrs().HardwareAddr.String() != mac.String() {
		if err := n.host.LinkSetHardwareAddr(link, mac); err != nil {
			return fmt.Errorf("vxlan %s: set MAC %s: %w", name, mac, err)
		}
	}
	if link.Attrs().MTU != n.mtu {
		if err := n.host.LinkSetMTU(link, n.mtu); err != nil {
			return fmt.Errorf("vxlan %s: set MTU %d: %w", name, n.mtu, err)
		}
		n.log.Info("set VXLAN device MTU", "vxlan", name, "from", link.Attrs().MTU, "to", n.mtu)
	}
	if err := syncAddrs(n.host, link, vxlanAddrs(n.cfg)); err != nil {
		return fmt.Errorf("vxlan %s: %w", name, err)
	}
	if link.Attrs().Flags&unix.IFF_UP == 0 {
		if err := n.host.LinkSetUp(link); err != nil {
			return fmt.Errorf("vxlan %s: set up: %w", name, err)
		}
	}
	return nil
}

// deleteVXLAN deletes the node's VXLAN device if it exists (the backend changed).
func (n *Network) deleteVXLAN() error {
	link, err := n.host.LinkByName(n.cfg.vxlan)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vxlan %s: %w", n.cfg.vxlan, err)
	}
	if err := n.host.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("vxlan %s: delete: %w", n.cfg.vxlan, err)
	}
	n.log.Info("deleted the VXLAN device: the backend is not vxlan", "vxlan", n.cfg.vxlan, "backend", n.cfg.backend)
	return nil
}

// syncPeers makes the kernel's overlay entries those planOverlay decides for n.peers.
func (n *Network) syncPeers() error {
	plan := planOverlay(n.cfg, n.peers)
	n.logSkipped(plan.Skipped)
	vx := 0
	if n.cfg.backend == BackendVXLAN {
		link, err := n.host.LinkByName(n.cfg.vxlan)
		if err != nil {
			return fmt.Errorf("vxlan %s (has EnsureNode run?): %w", n.cfg.vxlan, err)
		}
		vx = link.Attrs().Index
	}
	have, err := n.overlayEntries(vx)
	if err != nil {
		return err
	}
	routeKey := func(r overlayRoute) netip.Prefix { return r.Dst }
	neighKey := func(e overlayNeigh) netip.Addr { return e.IP }
	fdbKey := func(e overlayFDB) string { return e.MAC }
	addRoutes, delRoutes := diffByKey(have.Routes, plan.Routes, routeKey)
	addNeighs, delNeighs := diffByKey(have.Neighs, plan.Neighs, neighKey)
	addFDB, delFDB := diffByKey(have.FDB, plan.FDB, fdbKey)

	var errs []error
	try := func(err error, what string, entry fmt.Stringer) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", what, entry, err))
			return
		}
		n.log.Info("overlay: "+what, "entry", entry.String())
	}
	// Removals first, routes before what they use; then additions, routes after what they use.
	for _, r := range delRoutes {
		err := n.host.RouteDel(n.netlinkRoute(r, vx))
		try(ignoreGone(err), "removed route", r)
	}
	for _, e := range delNeighs {
		err := n.host.NeighDel(&netlink.Neigh{LinkIndex: vx, Family: family(e.IP), IP: net.IP(e.IP.AsSlice())})
		try(ignoreGone(err), "removed neighbour", e)
	}
	for _, e := range delFDB {
		err := n.host.NeighDel(fdbEntry(e, vx))
		try(ignoreGone(err), "removed forwarding entry", e)
	}
	for _, e := range addFDB {
		try(n.host.NeighSet(fdbEntry(e, vx)), "set forwarding entry", e)
	}
	for _, e := range addNeighs {
		mac, _ := net.ParseMAC(e.MAC)
		err := n.host.NeighSet(&netlink.Neigh{LinkIndex: vx, Family: family(e.IP), State: netlink.NUD_PERMANENT,
			IP: net.IP(e.IP.AsSlice()), HardwareAddr: mac})
		try(err, "set neighbour", e)
	}
	for _, r := range addRoutes {
		try(n.host.RouteReplace(n.netlinkRoute(r, vx)), "set route", r)
	}
	return errors.Join(errs...)
}

// logSkipped logs the peers left out of the overlay whose reasons changed since the last
// time, and how many peers have not announced themselves yet when that number changes.
func (n *Network) logSkipped(skipped []skippedPeer) {
	now := map[string]string{}
	var notYet []string
	for _, s := range skipped {
		if s.NotYet {
			notYet = append(notYet, s.Name)
			continue
		}
		if now[s.Name] != "" {
			now[s.Name] += "; "
		}
		now[s.Name] += s.Reason
	}
	for name, reason := range now {
		if n.skipped[name] != reason {
			n.log.Warn("overlay: peer left out", "peer", name, "reason", reason)
		}
	}
	n.skipped = now
	if len(notYet) != n.notYet {
		n.notYet = len(notYet)
		if len(notYet) > 0 {
			n.log.Info("overlay: peers without a podCIDR or network annotations yet, left out until they have them",
				"count", len(notYet), "first", notYet[:min(len(notYet), 5)])
		}
	}
}

// overlayEntries reads what the kernel holds of the overlay: the routes marked
// routeProtocol in the main table, and (with a VXLAN device, index vx) its permanent
// neighbour entries and its forwarding entries with a destination.
func (n *Network) overlayEntries(vx int) (overlayPlan, error) {
	var have overlayPlan
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return n.host.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: routeProtocol, Table: unix.RT_TABLE_MAIN},
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return have, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		dst, ok := prefixOf(r.Dst)
		if !ok {
			continue
		}
		have.Routes = append(have.Routes, overlayRoute{Dst: dst.Masked(), Gw: ipAddr(r.Gw),
			OnLink: vx != 0 && r.LinkIndex == vx && r.Flags&int(netlink.FLAG_ONLINK) != 0})
	}
	if vx == 0 {
		return have, nil
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		neighs, err := retryDump(func() ([]netlink.Neigh, error) { return n.host.NeighList(vx, fam) })
		if err != nil {
			return have, fmt.Errorf("list neighbours: %w", err)
		}
		for _, e := range neighs {
			if e.State&netlink.NUD_PERMANENT == 0 || e.IP == nil {
				continue
			}
			have.Neighs = append(have.Neighs, overlayNeigh{IP: ipAddr(e.IP), MAC: e.HardwareAddr.String()})
		}
	}
	fdb, err := retryDump(func() ([]netlink.Neigh, error) { return n.host.NeighList(vx, unix.AF_BRIDGE) })
	if err != nil {
		return have, fmt.Errorf("list forwarding entries: %w", err)
	}
	for _, e := range fdb {
		if e.IP == nil || e.LinkIndex != vx {
			continue
		}
		have.FDB = append(have.FDB, overlayFDB{MAC: e.HardwareAddr.String(), Dst: ipAddr(e.IP)})
	}
	return have, nil
}

// netlinkRoute returns the kernel route of r.
func (n *Network) netlinkRoute(r overlayRoute, vx int) *netlink.Route {
	route := &netlink.Route{
		Dst:      &net.IPNet{IP: net.IP(r.Dst.Addr().AsSlice()), Mask: net.CIDRMask(r.Dst.Bits(), r.Dst.Addr().BitLen())},
		Gw:       net.IP(r.Gw.AsSlice()),
		Protocol: routeProtocol,
		Table:    unix.RT_TABLE_MAIN,
	}
	if r.OnLink {
		route.LinkIndex = vx
		route.Flags = int(netlink.FLAG_ONLINK)
	}
	return route
}

// fdbEntry returns the kernel forwarding entry of e on the VXLAN device vx.
func fdbEntry(e overlayFDB, vx int) *netlink.Neigh {
	mac, _ := net.ParseMAC(e.MAC)
	return &netlink.Neigh{LinkIndex: vx, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT, Flags: netlink.NTF_SELF,
		IP: net.IP(e.Dst.AsSlice()), HardwareAddr: mac}
}

// family returns the netlink family of a.
func family(a netip.Addr) int {
	if a.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// ipAddr converts an IP (nil gives the zero Addr).
func ipAddr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// ignoreGone drops the error of deleting what is already gone.
func ignoreGone(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	return err
}

// linkWithAddr returns the interface that holds a, or nil if none does.
func linkWithAddr(h *netlink.Handle, a netip.Addr) (netlink.Link, error) {
	if !a.IsValid() {
		return nil, nil
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(nil, family(a)) })
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, ad := range addrs {
		if p, ok := prefixOf(ad.IPNet); ok && p.Addr() == a {
			return h.LinkByIndex(ad.LinkIndex)
		}
	}
	return nil, nil
}
