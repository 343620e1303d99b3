package podnet

import (
	"fmt"
	"iter"
	"net/netip"
	"slices"
)

// ipRange is the part of a podCIDR that IPAM hands out to pods: every address except the
// network address, the gateway (the first host address, which the bridge holds) and the
// last address (the IPv4 broadcast address; IPv6 has none, but keeping it out too makes the
// two families behave alike).
type ipRange struct {
	Prefix  netip.Prefix // the podCIDR
	Gateway netip.Addr   // the bridge's address and the pods' default gateway
	First   netip.Addr   // the first address handed out
	Last    netip.Addr   // the last address handed out
}

// newIPRange returns the range of p, which must be a network address with room for at least
// one pod (/30 or wider for IPv4, /126 or wider for IPv6).
func newIPRange(p netip.Prefix) (ipRange, error) {
	if !p.IsValid() || p.Masked() != p {
		return ipRange{}, fmt.Errorf("%s is not a network address", p)
	}
	if hostBits := p.Addr().BitLen() - p.Bits(); hostBits < 2 {
		return ipRange{}, fmt.Errorf("%s has no room for a pod: want /%d or wider", p, p.Addr().BitLen()-2)
	}
	gw := p.Addr().Next()
	return ipRange{Prefix: p, Gateway: gw, First: gw.Next(), Last: lastAddr(p).Prev()}, nil
}

// lastAddr returns the last address of p: all host bits set.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	start := 128 - p.Addr().BitLen() // the offset of p's bits within b
	for i := start + p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}

// Contains reports whether IPAM may hand out a.
func (r ipRange) Contains(a netip.Addr) bool {
	return r.Prefix.Contains(a) && a.Compare(r.First) >= 0 && a.Compare(r.Last) <= 0
}

// From yields every address of r once, beginning with start and wrapping around from Last to
// First; a start outside r means First. For a wide IPv6 range the sequence is, for all
// practical purposes, endless: callers stop early.
func (r ipRange) From(start netip.Addr) iter.Seq[netip.Addr] {
	if !r.Contains(start) {
		start = r.First
	}
	return func(yield func(netip.Addr) bool) {
		a := start
		for {
			if !yield(a) {
				return
			}
			if a == r.Last {
				a = r.First
			} else {
				a = a.Next()
			}
			if a == start {
				return
			}
		}
	}
}

// nextFree returns the address IPAM hands out next from r: the first one after last, in the
// order of From, that used does not hold. Handing out addresses round-robin from the last
// one means a released address is reused only after the rest of the range, so that a
// packet meant for a deleted pod does not reach its successor. ok is false when r has no
// free address.
//
// Since used holds len(used) addresses, one of the first len(used)+1 candidates is free
// unless the range is full, so the search is short even in a /64.
func nextFree(r ipRange, last netip.Addr, used map[netip.Addr]string) (a netip.Addr, ok bool) {
	start := r.First
	if r.Contains(last) && last != r.Last {
		start = last.Next()
	}
	tries := 0
	for a := range r.From(start) {
		if _, taken := used[a]; !taken {
			return a, true
		}
		if tries++; tries > len(used) {
			break
		}
	}
	return netip.Addr{}, false
}

// Size returns how many addresses r holds, saturating at the largest uint64.
func (r ipRange) Size() uint64 {
	hostBits := r.Prefix.Addr().BitLen() - r.Prefix.Bits()
	if hostBits >= 64 {
		return ^uint64(0)
	}
	return 1<<hostBits - 3
}

// sortAddrs sorts addresses in ascending order.
func sortAddrs(as []netip.Addr) {
	slices.SortFunc(as, func(a, b netip.Addr) int { return a.Compare(b) })
}
