package podnet

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// tableSpec describes the node's nftables table (family inet): what buildTable decides and
// applyTable programs. Its String is the table as `nft list table` prints it.
type tableSpec struct {
	Name   string
	Chains []chainSpec
}

// chainSpec is one base chain with policy accept.
type chainSpec struct {
	Name     string
	Type     nftables.ChainType
	Hook     chainHook
	Priority int32
	Rules    []ruleSpec
}

// chainHook names a netfilter hook.
type chainHook string

const (
	hookForward     chainHook = "forward"
	hookPostrouting chainHook = "postrouting"
)

// ruleSpec is one rule: every match must hold for the verdict to apply.
type ruleSpec struct {
	Matches []match
	Verdict verdict
	Comment string
}

// matchField is what a match compares.
type matchField int

const (
	fieldSaddr   matchField = iota // ip saddr / ip6 saddr, against Prefix
	fieldDaddr                     // ip daddr / ip6 daddr, against Prefix
	fieldIifname                   // iifname, against Name
	fieldOifname                   // oifname, against Name
)

// match is one comparison of a rule.
type match struct {
	Field  matchField
	Prefix netip.Prefix
	Name   string
}

// verdict is what a rule does with a packet that matches.
type verdict string

const (
	verdictAccept     verdict = "accept"
	verdictReturn     verdict = "return"
	verdictMasquerade verdict = "masquerade"
)

// buildTable decides the node's table from its configuration:
//
//   - chain forward (filter, hook forward): accept what enters or leaves through the bridge,
//     so that pods reach each other and the world even where forwarding is otherwise filtered
//     by this table's policy;
//   - chain postrouting (nat, hook postrouting): traffic from a podCIDR to a destination
//     within the cluster (the podCIDRs, cluster CIDRs and service CIDRs) keeps its source;
//     the rest of the traffic from a podCIDR is masqueraded to the address of the interface
//     it leaves by.
func buildTable(p parsedConfig) tableSpec {
	forward := chainSpec{
		Name: "forward", Type: nftables.ChainTypeFilter, Hook: hookForward, Priority: 0,
		Rules: []ruleSpec{
			{Matches: []match{{Field: fieldIifname, Name: p.bridge}}, Verdict: verdictAccept, Comment: "from pods"},
			{Matches: []match{{Field: fieldOifname, Name: p.bridge}}, Verdict: verdictAccept, Comment: "to pods"},
		},
	}
	post := chainSpec{Name: "postrouting", Type: nftables.ChainTypeNAT, Hook: hookPostrouting, Priority: 100}
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
	return tableSpec{Name: p.table, Chains: []chainSpec{forward, post}}
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
		fmt.Fprintf(&b, "\t\ttype %s hook %s priority %s; policy accept;\n", c.Type, c.Hook, priorityName(c.Priority))
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s\n", r)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// priorityName returns the name nft uses for a priority of the inet family.
func priorityName(p int32) string {
	switch p {
	case 0:
		return "filter"
	case 100:
		return "srcnat"
	}
	return fmt.Sprint(p)
}

// String renders the rule in nft's syntax.
func (r ruleSpec) String() string {
	var parts []string
	for _, m := range r.Matches {
		parts = append(parts, m.String())
	}
	parts = append(parts, string(r.Verdict))
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
		return fmt.Sprintf("%s %s %s", proto, dir, m.Prefix)
	case fieldIifname:
		return fmt.Sprintf("iifname %q", m.Name)
	case fieldOifname:
		return fmt.Sprintf("oifname %q", m.Name)
	}
	return fmt.Sprintf("<field %d>", m.Field)
}

// exprs translates the rule into nftables expressions, using register 1 throughout. An
// address match is preceded once per rule by the check of the packet's family that nft adds
// as a dependency in an inet table.
func (r ruleSpec) exprs() []expr.Any {
	var out []expr.Any
	protoChecked := false
	for _, m := range r.Matches {
		switch m.Field {
		case fieldSaddr, fieldDaddr:
			if !protoChecked {
				proto := byte(unix.NFPROTO_IPV4)
				if m.Prefix.Addr().Is6() {
					proto = unix.NFPROTO_IPV6
				}
				out = append(out,
					&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}})
				protoChecked = true
			}
			out = append(out, prefixExprs(m.Field, m.Prefix)...)
		case fieldIifname, fieldOifname:
			key := expr.MetaKeyIIFNAME
			if m.Field == fieldOifname {
				key = expr.MetaKeyOIFNAME
			}
			out = append(out,
				&expr.Meta{Key: key, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(m.Name)})
		}
	}
	switch r.Verdict {
	case verdictAccept:
		out = append(out, &expr.Verdict{Kind: expr.VerdictAccept})
	case verdictReturn:
		out = append(out, &expr.Verdict{Kind: expr.VerdictReturn})
	case verdictMasquerade:
		out = append(out, &expr.Masq{})
	}
	return out
}

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
