package proxy

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// UDP has no connection to end: a client that keeps sending to a service IP keeps its
// conntrack entry, and with it the endpoint (or the lack of one) its first packet was sent
// to, after the rules changed. As kube-proxy does, the entries of UDP flows whose endpoint
// went away are deleted after the sync that removed it, and so are the entries for a
// service IP and port that had no endpoints before the sync (their packets were rejected,
// and the entry would keep them from ever being translated). TCP needs nothing: a removed
// endpoint's connections fail and the client reconnects.

// flowFilter selects UDP conntrack entries: those sent to Dst (any, if invalid) and port
// DstPort, and answered by ReplySrc (any, if invalid).
type flowFilter struct {
	Dst      netip.Addr
	DstPort  uint16
	ReplySrc netip.Addr
}

func (f flowFilter) String() string {
	dst, src := "*", "*"
	if f.Dst.IsValid() {
		dst = f.Dst.String()
	}
	if f.ReplySrc.IsValid() {
		src = f.ReplySrc.String()
	}
	return fmt.Sprintf("udp dst %s:%d reply-src %s", dst, f.DstPort, src)
}

// staleFlows returns the filters of the UDP conntrack entries a sync from old to new makes
// stale (either may be nil).
func staleFlows(old, new *serviceRules) []flowFilter {
	var out []flowFilter
	var oldT, newT map[string]udpTarget
	if old != nil {
		oldT = old.udp
	}
	if new != nil {
		newT = new.udp
	}
	for name, o := range oldT {
		n := newT[name]
		for _, ep := range o.endpoints {
			if slices.Contains(n.endpoints, ep) {
				continue
			}
			for _, vip := range o.vips {
				out = append(out, flowFilter{Dst: vip, DstPort: o.port, ReplySrc: ep})
			}
			if o.nodePort != 0 {
				out = append(out, flowFilter{DstPort: o.nodePort, ReplySrc: ep})
			}
		}
	}
	for name, n := range newT {
		if len(n.endpoints) == 0 || len(oldT[name].endpoints) > 0 {
			continue
		}
		for _, vip := range n.vips {
			out = append(out, flowFilter{Dst: vip, DstPort: n.port})
		}
		if n.nodePort != 0 {
			out = append(out, flowFilter{DstPort: n.nodePort})
		}
	}
	slices.SortFunc(out, func(a, b flowFilter) int {
		return cmp.Or(a.Dst.Compare(b.Dst), cmp.Compare(a.DstPort, b.DstPort), a.ReplySrc.Compare(b.ReplySrc))
	})
	return slices.Compact(out)
}

// flowDeleter deletes conntrack entries; netlinkFlows is the real one.
type flowDeleter interface {
	deleteFlows(filters []flowFilter) (uint, error)
}

// netlinkFlows deletes conntrack entries through netlink, in the caller's network
// namespace.
type netlinkFlows struct{}

func (netlinkFlows) deleteFlows(filters []flowFilter) (uint, error) {
	byFamily := map[netlink.InetFamily][]netlink.CustomConntrackFilter{}
	for _, f := range filters {
		cf := &netlink.ConntrackFilter{}
		if err := cf.AddProtocol(unix.IPPROTO_UDP); err != nil {
			return 0, err
		}
		fam := netlink.InetFamily(unix.AF_INET)
		if f.Dst.IsValid() {
			if err := cf.AddIP(netlink.ConntrackOrigDstIP, net.IP(f.Dst.AsSlice())); err != nil {
				return 0, err
			}
			if f.Dst.Is6() {
				fam = unix.AF_INET6
			}
		}
		if err := cf.AddPort(netlink.ConntrackOrigDstPort, f.DstPort); err != nil {
			return 0, err
		}
		if f.ReplySrc.IsValid() {
			if err := cf.AddIP(netlink.ConntrackReplySrcIP, net.IP(f.ReplySrc.AsSlice())); err != nil {
				return 0, err
			}
			if f.ReplySrc.Is6() {
				fam = unix.AF_INET6
			}
		}
		byFamily[fam] = append(byFamily[fam], cf)
	}
	var total uint
	for fam, fs := range byFamily {
		n, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, fam, fs...)
		total += n
		if err != nil {
			return total, fmt.Errorf("conntrack: delete stale UDP entries: %w", err)
		}
	}
	return total, nil
}
