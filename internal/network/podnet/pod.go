package podnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Setup connects the pod podUID, whose network namespace is pinned at netnsPath, to the node's
// bridge, and returns its IPs, one per podCIDR, IPv4 first. EnsureNode must have run.
//
// Setup is idempotent: for a pod that has addresses it returns the same ones, and it repairs
// rather than duplicates what an earlier call made. It allocates one address per podCIDR
// (ErrPodCIDRExhausted when none is left), creates a veth pair whose host end (named from a
// hash of the node name and pod UID, 15 characters) is a port of the bridge with hairpin
// mode on and whose other end is eth0 in the pod's namespace, sets the MTU on both ends,
// puts the addresses on eth0 with the podCIDRs' prefix lengths, brings lo and eth0 up, and
// adds the default routes via the gateways. If it fails, it releases the addresses it
// allocated and deletes the veth pair if it made it.
func (n *Network) Setup(ctx context.Context, podUID string, netnsPath string) ([]string, error) {
	if podUID == "" {
		return nil, errors.New("pod network: setup: empty pod UID")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("pod network: pod %s: open network namespace %s: %w", podUID, netnsPath, err)
	}
	defer ns.Close()

	addrs, fresh, err := n.allocate(podUID)
	if err != nil {
		return nil, fmt.Errorf("pod network: pod %s: %w", podUID, err)
	}
	hostName := hostVethName(n.cfg.node, podUID)
	created, err := n.wire(ctx, ns, hostName, addrs)
	if err != nil {
		if created {
			if l, lerr := n.host.LinkByName(hostName); lerr == nil {
				_ = n.host.LinkDel(l)
			}
		}
		n.releaseFresh(podUID, fresh)
		return nil, fmt.Errorf("pod network: pod %s: %w", podUID, err)
	}
	ips := make([]string, len(addrs))
	for i, a := range addrs {
		ips[i] = a.Addr().String()
	}
	n.log.Debug("pod connected", "pod", podUID, "veth", hostName, "ips", ips)
	return ips, nil
}

// allocate returns podUID's address in each podCIDR, with the podCIDR's prefix length, and
// which of them are new. On error it releases the new ones.
func (n *Network) allocate(podUID string) (addrs []netip.Prefix, fresh []netip.Addr, err error) {
	for _, r := range n.cfg.ranges {
		a, isNew, err := n.store.allocate(r, podUID)
		if err != nil {
			n.releaseFresh(podUID, fresh)
			return nil, nil, err
		}
		if isNew {
			fresh = append(fresh, a)
		}
		addrs = append(addrs, netip.PrefixFrom(a, r.Prefix.Bits()))
	}
	return addrs, fresh, nil
}

// releaseFresh releases addresses that this call allocated for podUID.
func (n *Network) releaseFresh(podUID string, fresh []netip.Addr) {
	if len(fresh) == 0 {
		return
	}
	_, err := n.store.releaseIf(func(a netip.Addr, uid string) bool {
		return uid == podUID && slices.Contains(fresh, a)
	})
	if err != nil {
		n.log.Error("release addresses after a failed setup", "pod", podUID, "err", err)
	}
}

// wire makes the veth pair and configures both ends; created reports whether it made the
// pair (rather than finding it from an earlier call).
func (n *Network) wire(ctx context.Context, ns netns.NsHandle, hostName string, addrs []netip.Prefix) (created bool, err error) {
	bridge, err := n.host.LinkByName(n.cfg.bridge)
	if err != nil {
		return false, fmt.Errorf("bridge %s (has EnsureNode run?): %w", n.cfg.bridge, err)
	}
	pod, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false, fmt.Errorf("netlink in the pod's namespace: %w", err)
	}
	defer pod.Close()
	host, peer, created, err := n.ensureVeth(pod, ns, hostName)
	if err != nil {
		return created, err
	}
	if err := ctx.Err(); err != nil {
		return created, err
	}
	if err := n.configureHostEnd(host, bridge); err != nil {
		return created, fmt.Errorf("veth %s: %w", hostName, err)
	}
	if err := n.configurePodEnd(pod, peer, addrs); err != nil {
		return created, fmt.Errorf("%s in the pod: %w", podIface, err)
	}
	return created, nil
}

// ensureVeth returns the veth pair of hostName and eth0 in the pod's namespace, making it
// (created) unless it exists already. Whatever stands in the way (a host end whose peer is not the
// pod's eth0, an eth0 whose peer is not the host end) is deleted first.
func (n *Network) ensureVeth(pod *netlink.Handle, ns netns.NsHandle, hostName string) (host, peer netlink.Link, created bool, err error) {
	host, herr := n.host.LinkByName(hostName)
	peer, perr := pod.LinkByName(podIface)
	if herr == nil && perr == nil && vethPeers(host, peer) {
		return host, peer, false, nil
	}
	if herr == nil {
		if err := n.host.LinkDel(host); err != nil && !isNotFound(err) {
			return nil, nil, false, fmt.Errorf("delete stale veth %s: %w", hostName, err)
		}
	} else if !isNotFound(herr) {
		return nil, nil, false, fmt.Errorf("veth %s: %w", hostName, herr)
	}
	if peer, err := pod.LinkByName(podIface); err == nil {
		if err := pod.LinkDel(peer); err != nil && !isNotFound(err) {
			return nil, nil, false, fmt.Errorf("delete stale %s in the pod: %w", podIface, err)
		}
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = hostName, n.mtu
	veth := &netlink.Veth{
		LinkAttrs: attrs, PeerName: podIface, PeerNamespace: netlink.NsFd(int(ns)),
		PeerMTU: uint32(n.mtu), PeerTxQLen: -1,
	}
	if err := n.host.LinkAdd(veth); err != nil {
		return nil, nil, false, fmt.Errorf("create veth %s with peer %s in the pod: %w", hostName, podIface, err)
	}
	if host, err = n.host.LinkByName(hostName); err != nil {
		return nil, nil, true, fmt.Errorf("veth %s: %w", hostName, err)
	}
	if peer, err = pod.LinkByName(podIface); err != nil {
		return nil, nil, true, fmt.Errorf("%s in the pod: %w", podIface, err)
	}
	return host, peer, true, nil
}

// vethPeers reports whether host and peer are the two ends of one veth pair. Each end's
// IFLA_LINK is the other's index in the other's namespace.
func vethPeers(host, peer netlink.Link) bool {
	_, hv := host.(*netlink.Veth)
	_, pv := peer.(*netlink.Veth)
	return hv && pv && host.Attrs().ParentIndex == peer.Attrs().Index && peer.Attrs().ParentIndex == host.Attrs().Index
}

// configureHostEnd makes the host end a port of the bridge with hairpin mode, the MTU, and up.
func (n *Network) configureHostEnd(host, bridge netlink.Link) error {
	if host.Attrs().MasterIndex != bridge.Attrs().Index {
		if err := n.host.LinkSetMaster(host, bridge); err != nil {
			return fmt.Errorf("attach to bridge %s: %w", n.cfg.bridge, err)
		}
	}
	// Hairpin mode sends a frame back out of the port it came in by, so that a pod can reach
	// itself through a service address that the proxy translates to the pod's own.
	if err := n.host.LinkSetHairpin(host, true); err != nil {
		return fmt.Errorf("hairpin mode: %w", err)
	}
	if host.Attrs().MTU != n.mtu {
		if err := n.host.LinkSetMTU(host, n.mtu); err != nil {
			return fmt.Errorf("MTU %d: %w", n.mtu, err)
		}
	}
	if err := n.host.LinkSetUp(host); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	return nil
}

// configurePodEnd configures the pod's side: lo up, eth0 with the MTU, the addresses and up,
// and a default route via the gateway of each podCIDR.
func (n *Network) configurePodEnd(pod *netlink.Handle, eth0 netlink.Link, addrs []netip.Prefix) error {
	lo, err := pod.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := pod.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	if eth0.Attrs().MTU != n.mtu {
		if err := pod.LinkSetMTU(eth0, n.mtu); err != nil {
			return fmt.Errorf("MTU %d: %w", n.mtu, err)
		}
	}
	if err := syncAddrs(pod, eth0, addrs); err != nil {
		return err
	}
	if err := pod.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	for i, r := range n.cfg.ranges {
		route := &netlink.Route{
			LinkIndex: eth0.Attrs().Index,
			Dst:       defaultDst(addrs[i].Addr()),
			Gw:        net.IP(r.Gateway.AsSlice()),
		}
		if err := pod.RouteReplace(route); err != nil {
			return fmt.Errorf("default route via %s: %w", r.Gateway, err)
		}
	}
	return nil
}

// defaultDst returns the default destination of a's family.
func defaultDst(a netip.Addr) *net.IPNet {
	if a.Is4() {
		return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
}

// syncAddrs makes want the global addresses of link: it adds what is missing (IPv6 without
// duplicate address detection, which would leave the address unusable for a second or so
// on a link where nobody else may hold it) and deletes the rest. Link-local addresses are
// left alone.
func syncAddrs(h *netlink.Handle, link netlink.Link, want []netip.Prefix) error {
	have, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range have {
		p, ok := prefixOf(a.IPNet)
		if !ok || p.Addr().IsLinkLocalUnicast() || slices.Contains(want, p) {
			continue
		}
		if err := h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("delete address %s: %w", p, err)
		}
	}
	for _, p := range want {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("add address %s: %w", p, err)
		}
	}
	return nil
}

// prefixOf converts an address with its mask.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// Teardown disconnects the pod podUID: it deletes the pod's veth pair, removes its hostPorts
// and releases its addresses. It is idempotent, and a pod it does not know is no error. The pair is found by
// the host end's name, so netnsPath is not opened and may already be gone (with the
// namespace, the kernel has deleted the pair already).
func (n *Network) Teardown(ctx context.Context, podUID string, netnsPath string) error {
	if podUID == "" {
		return errors.New("pod network: teardown: empty pod UID")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	hostName := hostVethName(n.cfg.node, podUID)
	host, err := n.host.LinkByName(hostName)
	switch {
	case err == nil:
		if err := n.host.LinkDel(host); err != nil && !isNotFound(err) {
			return fmt.Errorf("pod network: pod %s: delete veth %s: %w", podUID, hostName, err)
		}
	case !isNotFound(err):
		return fmt.Errorf("pod network: pod %s: veth %s: %w", podUID, hostName, err)
	}
	if err := n.removeHostPorts(func(uid string) bool { return uid == podUID }); err != nil {
		return fmt.Errorf("pod network: pod %s: %w", podUID, err)
	}
	released, err := n.store.releasePod(podUID)
	if err != nil {
		return fmt.Errorf("pod network: pod %s: %w", podUID, err)
	}
	n.log.Debug("pod disconnected", "pod", podUID, "netns", netnsPath, "released", released)
	return nil
}
