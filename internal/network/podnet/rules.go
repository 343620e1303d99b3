package podnet

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// tableSpec describes the node's nftables table (family inet): what buildTable decides and
// applyTable programs. Its String is the table as `nft list table` prints it.
type tableSpec struct {
	Name   string
	Chains []chainSpec
}

// chainSpec is one chain: a base chain with policy accept, or, with Hook "", a regular chain
// that rules jump to.
type chainSpec struct {
	Name     string
	Type     nftables.ChainType
	Hook     chainHook
	Priority int32
	Rules    []ruleSpec
}

// Chain priorities, as nft names them.
const (
	priorityDstNAT int32 = -100
	priorityFilter int32 = 0
	prioritySrcNAT int32 = 100
)

// chainHook names a netfilter hook.
type chainHook string

const (
	hookPrerouting  chainHook = "prerouting"
	hookInput       chainHook = "input"
	hookForward     chainHook = "forward"
	hookOutput      chainHook = "output"
	hookPostrouting chainHook = "postrouting"
)

// chainHostPorts is the regular chain holding the hostPort DNAT rules.
const chainHostPorts = "hostports"

// ruleSpec is one rule: every match must hold for the verdict to apply.
type ruleSpec struct {
	Matches []match
	Verdict verdict
	Chain   string         // verdictJump: the chain jumped to
	To      netip.AddrPort // verdictDNAT: the new destination
	Comment string
}

// matchField is what a match compares.
type matchField int

const (
	fieldSaddr            matchField = iota // ip saddr / ip6 saddr, against Prefix
	fieldDaddr                              // ip daddr / ip6 daddr, against Prefix
	fieldIifname                            // iifname, against Name
	fieldOifname                            // oifname, against Name
	fieldFibDaddrLocal                      // fib daddr type local: the destination is the node's own
	fieldL4Proto                            // meta l4proto, against Proto
	fieldDport                              // th dport (TCP, UDP, SCTP), against Port
	fieldCtDNAT                             // ct status dnat: the connection's destination was translated
	fieldCtNotEstablished                   // ct state ! established,related: a packet that opens a connection
)

// match is one comparison of a rule.
type match struct {
	Field  matchField
	Prefix netip.Prefix
	Name   string
	Proto  byte
	Port   uint16
}

// verdict is what a rule does with a packet that matches.
type verdict string

const (
	verdictAccept     verdict = "accept"
	verdictDrop       verdict = "drop"
	verdictReturn     verdict = "return"
	verdictJump       verdict = "jump"
	verdictMasquerade verdict = "masquerade"
	verdictDNAT       verdict = "dnat"
)

// loopback4 is IPv4's loopback network.
var loopback4 = netip.MustParsePrefix("127.0.0.0/8")

// buildTable decides the node's table from its configuration and the pods' hostPorts:
//
//   - chains prerouting and output (nat, priority dstnat) send connections to the node's
//     own addresses (fib daddr type local), from elsewhere and from the node itself, to
//     chain hostports;
//   - chain hostports holds, for each pod's hostPort and each of the pod's addresses of a
//     family it may reach, a DNAT to that address and the container port, limited to the
//     hostIP when there is one;
//   - chain input (filter): no connection from the bridge reaches the node's loopback
//     addresses, which route_localnet on the bridge would otherwise let pods open (the
//     replies to the node's connections to 127.0.0.1:<hostPort> pass);
//   - chain forward (filter): accept what enters or leaves through the bridge, so that pods
//     reach each other and the world even where forwarding is otherwise filtered by this
//     table's policy;
//   - chain postrouting (nat, priority srcnat): a pod reaching its own hostPort, and the
//     node reaching a hostPort through 127.0.0.1, are masqueraded (so that the replies come
//     back the way they went); otherwise traffic from a podCIDR to a destination within the
//     cluster (the podCIDRs, cluster CIDRs and service CIDRs) keeps its source, and the rest
//     of the traffic from a podCIDR is masqueraded to the address of the interface it
//     leaves by.
//
// hostPorts must be sorted by UID; buildTable is a pure function of its arguments.
func buildTable(p parsedConfig, hostPorts []podHostPorts) tableSpec {
	local := match{Field: fieldFibDaddrLocal}
	pre := chainSpec{Name: "prerouting", Type: nftables.ChainTypeNAT, Hook: hookPrerouting, Priority: priorityDstNAT,
		Rules: []ruleSpec{{Matches: []match{local}, Verdict: verdictJump, Chain: chainHostPorts, Comment: "hostPorts on the node's addresses"}}}
	out := chainSpec{Name: "output", Type: nftables.ChainTypeNAT, Hook: hookOutput, Priority: priorityDstNAT,
		Rules: []ruleSpec{{Matches: []match{local}, Verdict: verdictJump, Chain: chainHostPorts, Comment: "hostPorts from the node itself"}}}
	hp := chainSpec{Name: chainHostPorts}
	input := chainSpec{Name: "input", Type: nftables.ChainTypeFilter, Hook: hookInput, Priority: priorityFilter,
		Rules: []ruleSpec{{
			Matches: []match{{Field: fieldIifname, Name: p.bridge}, {Field: fieldDaddr, Prefix: loopback4}, {Field: fieldCtNotEstablished}},
			Verdict: verdictDrop, Comment: "pods do not reach the node's loopback",
		}}}
	forward := chainSpec{
		Name: "forward", Type: nftables.ChainTypeFilter, Hook: hookForward, Priority: priorityFilter,
		Rules: []ruleSpec{
			{Matches: []match{{Field: fieldIifname, Name: p.bridge}}, Verdict: verdictAccept, Comment: "from pods"},
			{Matches: []match{{Field: fieldOifname, Name: p.bridge}}, Verdict: verdictAccept, Comment: "to pods"},
		},
	}
	post := chainSpec{Name: "postrouting", Type: nftables.ChainTypeNAT, Hook: hookPostrouting, Priority: prioritySrcNAT}
	for _, pod := range hostPorts {
		ips := firstOfEachFamily(pod.IPs)
		for _, port := range pod.Ports {
			hp.Rules = append(hp.Rules, hostPortRules(pod.UID, port, ips)...)
		}
		for _, ip := range ips {
			self := netip.PrefixFrom(ip, ip.BitLen())
			post.Rules = append(post.Rules, ruleSpec{
				Matches: []match{{Field: fieldSaddr, Prefix: self}, {Field: fieldDaddr, Prefix: self}, {Field: fieldCtDNAT}},
				Verdict: verdictMasquerade, Comment: "pod to its own hostPort",
			})
		}
	}
	post.Rules = append(post.Rules, ruleSpec{
		Matches: []match{{Field: fieldOifname, Name: p.bridge}, {Field: fieldSaddr, Prefix: loopback4}, {Field: fieldCtDNAT}},
		Verdict: verdictMasquerade, Comment: "node's loopback to a hostPort",
	})
	for _, r := range p.ranges {
		src := match{Field: fieldSaddr, Prefix: r.Prefix}
		for _, dst := range p.noMasq {
			if dst.Addr().Is6() != r.Prefix.Addr().Is6() {
				continue
			}
			post.Rules = append(post.Rules, ruleSpec{
				Matches: []match{src, {Field: fieldDaddr, Prefix: dst}},
				Verdict: verdictReturn, Comment: "pod to cluster keeps its source",
			})
		}
		post.Rules = append(post.Rules, ruleSpec{
			Matches: []match{src}, Verdict: verdictMasquerade, Comment: "pod leaving the cluster",
		})
	}
	return tableSpec{Name: p.table, Chains: []chainSpec{pre, out, hp, input, forward, post}}
}

// hostPortRules returns the DNAT rules of one hostPort of a pod with addresses ips (one per
// family): one per address whose family the hostPort reaches.
func hostPortRules(uid string, hp hostPort, ips []netip.Addr) []ruleSpec {
	var out []ruleSpec
	for _, ip := range ips {
		var ms []match
		if hp.HostIP.IsValid() {
			if hp.HostIP.Is4() != ip.Is4() {
				continue
			}
			ms = append(ms, match{Field: fieldDaddr, Prefix: netip.PrefixFrom(hp.HostIP, hp.HostIP.BitLen())})
		}
		ms = append(ms, match{Field: fieldL4Proto, Proto: hp.Proto}, match{Field: fieldDport, Port: hp.HostPort})
		out = append(out, ruleSpec{
			Matches: ms, Verdict: verdictDNAT, To: netip.AddrPortFrom(ip, hp.ContainerPort),
			Comment: "hostPort of pod " + uid,
		})
	}
	return out
}

// firstOfEachFamily returns the first IPv4 and the first IPv6 address of ips, IPv4 first.
func firstOfEachFamily(ips []netip.Addr) []netip.Addr {
	var v4, v6 netip.Addr
	for _, a := range ips {
		switch {
		case a.Is4() && !v4.IsValid():
			v4 = a
		case a.Is6() && !v6.IsValid():
			v6 = a
		}
	}
	var out []netip.Addr
	for _, a := range []netip.Addr{v4, v6} {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// String renders the table as `nft list table inet NAME` prints it.
func (t tableSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", t.Name)
	for i, c := range t.Chains {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
		if c.Hook != "" {
			fmt.Fprintf(&b, "\t\ttype %s hook %s priority %s; policy accept;\n", c.Type, c.Hook, priorityName(c.Hook, c.Priority))
		}
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s\n", r)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// priorityName returns the name nft uses for a priority of a chain on hook h of the inet
// family (dstnat and srcnat only where nft accepts them), else the number.
func priorityName(h chainHook, p int32) string {
	switch {
	case p == priorityDstNAT && h == hookPrerouting:
		return "dstnat"
	case p == priorityFilter:
		return "filter"
	case p == prioritySrcNAT && h == hookPostrouting:
		return "srcnat"
	}
	return fmt.Sprint(p)
}

// isAddrMatch reports whether m compares an address.
func isAddrMatch(m match) bool { return m.Field == fieldSaddr || m.Field == fieldDaddr }

// String renders the rule as `nft list` prints it.
func (r ruleSpec) String() string {
	var parts []string
	if r.Verdict == verdictDNAT && !slices.ContainsFunc(r.Matches, isAddrMatch) {
		// nft shows the family check it added, having no address match to imply it.
		if r.To.Addr().Is6() {
			parts = append(parts, "meta nfproto ipv6")
		} else {
			parts = append(parts, "meta nfproto ipv4")
		}
	}
	for i := 0; i < len(r.Matches); i++ {
		m := r.Matches[i]
		if m.Field == fieldL4Proto && i+1 < len(r.Matches) && r.Matches[i+1].Field == fieldDport {
			// As nft shows a protocol and a port: "tcp dport 80".
			parts = append(parts, fmt.Sprintf("%s dport %d", strings.ToLower(protocolName(m.Proto)), r.Matches[i+1].Port))
			i++
			continue
		}
		parts = append(parts, m.String())
	}
	switch r.Verdict {
	case verdictJump:
		parts = append(parts, "jump "+r.Chain)
	case verdictDNAT:
		proto := "ip"
		if r.To.Addr().Is6() {
			proto = "ip6"
		}
		parts = append(parts, fmt.Sprintf("dnat %s to %s", proto, r.To))
	default:
		parts = append(parts, string(r.Verdict))
	}
	if r.Comment != "" {
		parts = append(parts, fmt.Sprintf("comment %q", r.Comment))
	}
	return strings.Join(parts, " ")
}

// String renders the match in nft's syntax.
func (m match) String() string {
	switch m.Field {
	case fieldSaddr, fieldDaddr:
		proto, dir := "ip", "saddr"
		if m.Prefix.Addr().Is6() {
			proto = "ip6"
		}
		if m.Field == fieldDaddr {
			dir = "daddr"
		}
		if m.Prefix.IsSingleIP() {
			return fmt.Sprintf("%s %s %s", proto, dir, m.Prefix.Addr())
		}
		return fmt.Sprintf("%s %s %s", proto, dir, m.Prefix)
	case fieldIifname:
		return fmt.Sprintf("iifname %q", m.Name)
	case fieldOifname:
		return fmt.Sprintf("oifname %q", m.Name)
	case fieldFibDaddrLocal:
		return "fib daddr type local"
	case fieldL4Proto:
		return "meta l4proto " + strings.ToLower(protocolName(m.Proto))
	case fieldDport:
		return fmt.Sprintf("th dport %d", m.Port)
	case fieldCtDNAT:
		return "ct status dnat"
	case fieldCtNotEstablished:
		return "ct state ! established,related"
	}
	return fmt.Sprintf("<field %d>", m.Field)
}

// exprs translates the rule into nftables expressions, using register 1 for matches. A rule
// with an address match or a DNAT begins with the check of the packet's family that nft adds
// as a dependency in an inet table.
func (r ruleSpec) exprs() []expr.Any {
	var out []expr.Any
	protoChecked := false
	checkProto := func(is6 bool) {
		if protoChecked {
			return
		}
		proto := byte(unix.NFPROTO_IPV4)
		if is6 {
			proto = unix.NFPROTO_IPV6
		}
		out = append(out,
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}})
		protoChecked = true
	}
	// The family check comes first, as nft places it.
	for _, m := range r.Matches {
		if m.Field == fieldSaddr || m.Field == fieldDaddr {
			checkProto(m.Prefix.Addr().Is6())
			break
		}
	}
	if r.Verdict == verdictDNAT {
		checkProto(r.To.Addr().Is6())
	}
	for _, m := range r.Matches {
		switch m.Field {
		case fieldSaddr, fieldDaddr:
			out = append(out, prefixExprs(m.Field, m.Prefix)...)
		case fieldIifname, fieldOifname:
			key := expr.MetaKeyIIFNAME
			if m.Field == fieldOifname {
				key = expr.MetaKeyOIFNAME
			}
			out = append(out,
				&expr.Meta{Key: key, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(m.Name)})
		case fieldFibDaddrLocal:
			out = append(out,
				&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)})
		case fieldL4Proto:
			out = append(out,
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{m.Proto}})
		case fieldDport:
			out = append(out,
				&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(m.Port)})
		case fieldCtDNAT:
			out = append(out,
				&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
					Mask: binaryutil.NativeEndian.PutUint32(ctStatusDstNAT), Xor: make([]byte, 4)},
				&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)})
		case fieldCtNotEstablished:
			out = append(out,
				&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
					Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED), Xor: make([]byte, 4)},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: make([]byte, 4)})
		}
	}
	switch r.Verdict {
	case verdictAccept:
		out = append(out, &expr.Verdict{Kind: expr.VerdictAccept})
	case verdictDrop:
		out = append(out, &expr.Verdict{Kind: expr.VerdictDrop})
	case verdictReturn:
		out = append(out, &expr.Verdict{Kind: expr.VerdictReturn})
	case verdictJump:
		out = append(out, &expr.Verdict{Kind: expr.VerdictJump, Chain: r.Chain})
	case verdictMasquerade:
		out = append(out, &expr.Masq{})
	case verdictDNAT:
		family := uint32(unix.NFPROTO_IPV4)
		if r.To.Addr().Is6() {
			family = unix.NFPROTO_IPV6
		}
		out = append(out,
			&expr.Immediate{Register: 1, Data: r.To.Addr().AsSlice()},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(r.To.Port())},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: family, RegAddrMin: 1, RegAddrMax: 1, RegProtoMin: 2, RegProtoMax: 2, Specified: true})
	}
	return out
}

// ctStatusDstNAT is the conntrack status bit IPS_DST_NAT.
const ctStatusDstNAT = 1 << 5

// prefixExprs loads the packet's source or destination address and compares it with p,
// masking it first unless p is a single address.
func prefixExprs(f matchField, p netip.Prefix) []expr.Any {
	var offset, size uint32 = 12, 4 // IPv4: saddr at 12, daddr at 16
	if p.Addr().Is6() {
		offset, size = 8, 16 // IPv6: saddr at 8, daddr at 24
	}
	if f == fieldDaddr {
		offset += size
	}
	out := []expr.Any{&expr.Payload{
		OperationType: expr.PayloadLoad, DestRegister: 1,
		Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size,
	}}
	if p.Bits() < p.Addr().BitLen() {
		out = append(out, &expr.Bitwise{
			SourceRegister: 1, DestRegister: 1, Len: size,
			Mask: prefixMask(p), Xor: make([]byte, size),
		})
	}
	return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()})
}

// prefixMask returns p's netmask in network byte order.
func prefixMask(p netip.Prefix) []byte {
	mask := make([]byte, p.Addr().BitLen()/8)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return mask
}

// ifname returns name as the kernel compares interface names: NUL-padded to IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}
