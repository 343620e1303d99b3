package podnet

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// The Node annotations through which nodes tell each other how to reach their pods. Each
// node's agent sets them on its own Node (NodeAnnotations) and reads them from the others
// (Peer.Annotations).
const (
	// AnnotationBackend is the node's backend: "vxlan", "host-gw" or "none". Nodes connect
	// only to nodes of their own backend.
	AnnotationBackend = "network.skiff.dev/backend"
	// AnnotationPublicIP is the node's address on the network between the nodes: where VXLAN
	// packets for it go (vxlan), or the gateway of its podCIDRs (host-gw).
	AnnotationPublicIP = "network.skiff.dev/public-ip"
	// AnnotationVTEPMAC is the MAC address of the node's VXLAN device (vxlan only).
	AnnotationVTEPMAC = "network.skiff.dev/vxlan-vtep-mac"
)

// Peer is another node of the cluster, as the overlay needs to know it.
type Peer struct {
	// Name is the Node's name.
	Name string
	// PodCIDRs is the Node's spec.podCIDRs.
	PodCIDRs []string
	// Annotations are the Node's annotations; those of this package (AnnotationBackend,
	// AnnotationPublicIP, AnnotationVTEPMAC) say how to reach it, the others are ignored.
	Annotations map[string]string
}

// overlayRoute is a route to another node's podCIDR.
type overlayRoute struct {
	Dst netip.Prefix
	Gw  netip.Addr
	// OnLink is true for a route through the VXLAN device, whose gateway is the peer's
	// podCIDR network address (not on any local subnet); false for a host-gw route via the
	// peer's public IP, through whichever interface reaches it.
	OnLink bool
}

func (r overlayRoute) String() string {
	if r.OnLink {
		return fmt.Sprintf("%s via %s onlink", r.Dst, r.Gw)
	}
	return fmt.Sprintf("%s via %s", r.Dst, r.Gw)
}

// overlayNeigh is a permanent neighbour entry on the VXLAN device: a peer's podCIDR network
// address (the gateway of the route to it) and the peer's VTEP MAC.
type overlayNeigh struct {
	IP  netip.Addr
	MAC string
}

func (e overlayNeigh) String() string { return fmt.Sprintf("%s lladdr %s", e.IP, e.MAC) }

// overlayFDB is a forwarding entry of the VXLAN device: frames for a peer's VTEP MAC are sent
// to the peer's public IP.
type overlayFDB struct {
	MAC string
	Dst netip.Addr
}

func (e overlayFDB) String() string { return fmt.Sprintf("%s dst %s", e.MAC, e.Dst) }

// skippedPeer is a peer (or one podCIDR of it) left out of the overlay, and why.
type skippedPeer struct {
	Name   string
	Reason string
	// NotYet is true for a peer that has not announced itself yet (no podCIDR, no
	// annotations): the normal state of a joining node, or of a simulated one, which is
	// counted rather than logged one by one.
	NotYet bool
}

// overlayPlan is what the kernel should hold for the node's peers.
type overlayPlan struct {
	Routes  []overlayRoute // sorted by Dst
	Neighs  []overlayNeigh // vxlan only; sorted by IP
	FDB     []overlayFDB   // vxlan only; sorted by MAC
	Skipped []skippedPeer  // sorted by name, then reason
}

// planOverlay decides the routes, neighbour entries and forwarding entries through which the
// node p reaches the pods of peers. A peer is left out (with a reason) when it is the node
// itself, has no podCIDRs, has not published its backend, runs another backend, or its
// published addresses do not parse; one podCIDR of a peer is left out when it overlaps the
// node's own podCIDRs or one that a peer earlier in name order claims.
//
// With BackendVXLAN, each podCIDR C of a peer gets a route to C via C's network address on
// link through the VXLAN device, a permanent neighbour entry mapping that address to the
// peer's VTEP MAC, and the peer one forwarding entry sending that MAC to its public IP.
// With BackendHostGW, each podCIDR gets a route via the peer's public IP (podCIDRs of the
// other family than that IP are left out). With BackendNone the plan is empty.
func planOverlay(p parsedConfig, peers []Peer) overlayPlan {
	var plan overlayPlan
	if p.backend == BackendNone {
		return plan
	}
	sorted := slices.Clone(peers)
	slices.SortFunc(sorted, func(a, b Peer) int { return strings.Compare(a.Name, b.Name) })
	claimed := map[netip.Prefix]string{} // podCIDR -> the peer that has it
	macs := map[string]string{}          // VTEP MAC -> the peer that has it
	skip := func(name, format string, args ...any) {
		plan.Skipped = append(plan.Skipped, skippedPeer{Name: name, Reason: fmt.Sprintf(format, args...)})
	}
	for _, peer := range sorted {
		if peer.Name == p.node {
			continue
		}
		if len(peer.PodCIDRs) == 0 {
			plan.Skipped = append(plan.Skipped, skippedPeer{Name: peer.Name, Reason: "no podCIDR yet", NotYet: true})
			continue
		}
		backend := peer.Annotations[AnnotationBackend]
		if backend == "" {
			plan.Skipped = append(plan.Skipped, skippedPeer{Name: peer.Name, NotYet: true,
				Reason: fmt.Sprintf("has not published its network (annotation %s)", AnnotationBackend)})
			continue
		}
		if backend != p.backend {
			skip(peer.Name, "runs network backend %q, this node %q", backend, p.backend)
			continue
		}
		public, err := netip.ParseAddr(peer.Annotations[AnnotationPublicIP])
		if err != nil || !public.IsGlobalUnicast() || public.Zone() != "" {
			skip(peer.Name, "annotation %s: %q is not a unicast IP address", AnnotationPublicIP, peer.Annotations[AnnotationPublicIP])
			continue
		}
		if public == p.nodeIP {
			skip(peer.Name, "publishes this node's own IP %s", public)
			continue
		}
		var mac net.HardwareAddr
		if p.backend == BackendVXLAN {
			s := peer.Annotations[AnnotationVTEPMAC]
			mac, err = net.ParseMAC(s)
			if err != nil || len(mac) != 6 || mac[0]&1 != 0 {
				skip(peer.Name, "annotation %s: %q is not a unicast MAC address", AnnotationVTEPMAC, s)
				continue
			}
			if other, dup := macs[mac.String()]; dup {
				skip(peer.Name, "VTEP MAC %s is node %s's too", mac, other)
				continue
			}
			if mac.String() == vtepMAC(p.node).String() {
				skip(peer.Name, "VTEP MAC %s is this node's own", mac)
				continue
			}
		}
		routed := false
		for _, s := range peer.PodCIDRs {
			c, ok := peerCIDR(p, peer.Name, s, claimed, skip)
			if !ok {
				continue
			}
			switch p.backend {
			case BackendVXLAN:
				plan.Routes = append(plan.Routes, overlayRoute{Dst: c, Gw: c.Addr(), OnLink: true})
				plan.Neighs = append(plan.Neighs, overlayNeigh{IP: c.Addr(), MAC: mac.String()})
			case BackendHostGW:
				if c.Addr().Is4() != public.Is4() {
					skip(peer.Name, "podCIDR %s: host-gw needs a node address of its family (the node's is %s)", c, public)
					continue
				}
				plan.Routes = append(plan.Routes, overlayRoute{Dst: c, Gw: public})
			}
			claimed[c] = peer.Name
			routed = true
		}
		if routed && p.backend == BackendVXLAN {
			macs[mac.String()] = peer.Name
			plan.FDB = append(plan.FDB, overlayFDB{MAC: mac.String(), Dst: public})
		}
	}
	slices.SortFunc(plan.Routes, func(a, b overlayRoute) int { return comparePrefix(a.Dst, b.Dst) })
	slices.SortFunc(plan.Neighs, func(a, b overlayNeigh) int { return a.IP.Compare(b.IP) })
	slices.SortFunc(plan.FDB, func(a, b overlayFDB) int { return strings.Compare(a.MAC, b.MAC) })
	return plan
}

// peerCIDR parses one podCIDR of a peer and checks it against the node's own and those
// claimed already.
func peerCIDR(p parsedConfig, peer, s string, claimed map[netip.Prefix]string, skip func(string, string, ...any)) (netip.Prefix, bool) {
	c, err := parseCIDR(s)
	if err != nil {
		skip(peer, "podCIDR: %v", err)
		return c, false
	}
	for _, r := range p.ranges {
		if r.Prefix.Overlaps(c) {
			skip(peer, "podCIDR %s overlaps this node's %s", c, r.Prefix)
			return c, false
		}
	}
	for other, owner := range claimed {
		if other.Overlaps(c) {
			skip(peer, "podCIDR %s overlaps %s of node %s", c, other, owner)
			return c, false
		}
	}
	return c, true
}

// comparePrefix orders prefixes by address, then by length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// vxlanAddrs returns the addresses of the node's VXLAN device: the network address of each
// of its podCIDRs, as a host prefix (flannel's choice). Traffic from the node itself to other
// nodes' pods takes it as source, and the replies come back to it through the overlay.
func vxlanAddrs(p parsedConfig) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range p.ranges {
		out = append(out, netip.PrefixFrom(r.Prefix.Addr(), r.Prefix.Addr().BitLen()))
	}
	return out
}

// nodeAnnotations returns the annotations the node publishes on its Node for its peers.
func nodeAnnotations(p parsedConfig) map[string]string {
	a := map[string]string{AnnotationBackend: p.backend}
	if p.nodeIP.IsValid() {
		a[AnnotationPublicIP] = p.nodeIP.String()
	}
	if p.backend == BackendVXLAN {
		a[AnnotationVTEPMAC] = vtepMAC(p.node).String()
	}
	return a
}

// diffByKey compares what the kernel has with what is wanted, entries being identified by
// key: upsert lists the wanted entries that are missing or differ, remove the entries had
// whose key is not wanted. Both keep the order of their input.
func diffByKey[T comparable, K comparable](have, want []T, key func(T) K) (upsert, remove []T) {
	haveByKey := make(map[K]T, len(have))
	for _, h := range have {
		haveByKey[key(h)] = h
	}
	wantKeys := make(map[K]bool, len(want))
	for _, w := range want {
		wantKeys[key(w)] = true
		if h, ok := haveByKey[key(w)]; !ok || h != w {
			upsert = append(upsert, w)
		}
	}
	for _, h := range have {
		if !wantKeys[key(h)] {
			remove = append(remove, h)
		}
	}
	return upsert, remove
}
