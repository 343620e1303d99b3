package proxy

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A stmt is one part of a rule: a match, or what the rule does. Its String is nft's syntax;
// exprs is what the kernel runs.
type stmt interface {
	String() string
	exprs(c *compiler) []expr.Any
}

// compiler turns the statements of one rule into expressions. anonMap creates the anonymous
// verdict map a numgen statement looks up, in the batch that adds the rule.
type compiler struct {
	checked map[family]bool // families whose meta nfproto check the rule already has
	anonMap func(elems []nftables.SetElement) *nftables.Set
}

// exprs compiles a whole rule.
func (r ruleSpec) exprs(anonMap func([]nftables.SetElement) *nftables.Set) []expr.Any {
	c := &compiler{checked: map[family]bool{}, anonMap: anonMap}
	var out []expr.Any
	for _, s := range r.Stmts {
		out = append(out, s.exprs(c)...)
	}
	return out
}

// familyCheck returns the meta nfproto match nft adds before an address match in an inet
// table, once per rule and family.
func (c *compiler) familyCheck(f family) []expr.Any {
	if c.checked[f] {
		return nil
	}
	c.checked[f] = true
	proto := byte(unix.NFPROTO_IPV4)
	if f == ipv6 {
		proto = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// addrDir says which address of the packet a match loads.
type addrDir bool

const (
	saddr addrDir = false
	daddr addrDir = true
)

func (d addrDir) String() string {
	if d == daddr {
		return "daddr"
	}
	return "saddr"
}

// loadAddr loads the packet's source or destination address of family f into register reg.
func loadAddr(f family, d addrDir, reg uint32) expr.Any {
	var offset, size uint32 = 12, 4
	if f == ipv6 {
		offset, size = 8, 16
	}
	if d == daddr {
		offset += size
	}
	return &expr.Payload{OperationType: expr.PayloadLoad, DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size}
}

// matchAddr is "ip daddr 10.43.0.1" or "ip saddr != 10.42.0.0/16".
type matchAddr struct {
	Dir    addrDir
	Prefix netip.Prefix
	Not    bool
}

func (m matchAddr) fam() family { return familyOf(m.Prefix.Addr()) }

func (m matchAddr) String() string {
	v := m.Prefix.String()
	if m.Prefix.IsSingleIP() {
		v = m.Prefix.Addr().String()
	}
	op := ""
	if m.Not {
		op = "!= "
	}
	return fmt.Sprintf("%s %s %s%s", m.fam(), m.Dir, op, v)
}

func (m matchAddr) exprs(c *compiler) []expr.Any {
	out := append(c.familyCheck(m.fam()), loadAddr(m.fam(), m.Dir, 1))
	size := uint32(m.Prefix.Addr().BitLen() / 8)
	if !m.Prefix.IsSingleIP() {
		mask := make([]byte, size)
		for i := 0; i < m.Prefix.Bits(); i++ {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: size, Mask: mask, Xor: make([]byte, size)})
	}
	op := expr.CmpOpEq
	if m.Not {
		op = expr.CmpOpNeq
	}
	return append(out, &expr.Cmp{Op: op, Register: 1, Data: m.Prefix.Masked().Addr().AsSlice()})
}

// matchNFProto is "meta nfproto ipv4".
type matchNFProto struct{ Fam family }

func (m matchNFProto) String() string {
	if m.Fam == ipv6 {
		return "meta nfproto ipv6"
	}
	return "meta nfproto ipv4"
}

func (m matchNFProto) exprs(c *compiler) []expr.Any { return c.familyCheck(m.Fam) }

// matchL4Proto is "meta l4proto tcp".
type matchL4Proto struct{ Proto uint8 }

func (m matchL4Proto) String() string { return "meta l4proto " + protoName(m.Proto) }

func (m matchL4Proto) exprs(*compiler) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{m.Proto}},
	}
}

// matchFibLocal is "fib daddr type local" (or saddr): the address is one of the node's.
type matchFibLocal struct{ Dir addrDir }

func (m matchFibLocal) String() string { return fmt.Sprintf("fib %s type local", m.Dir) }

func (m matchFibLocal) exprs(*compiler) []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, ResultADDRTYPE: true, FlagDADDR: m.Dir == daddr, FlagSADDR: m.Dir == saddr},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// matchCtNew is "ct state new".
type matchCtNew struct{}

func (matchCtNew) String() string { return "ct state new" }

func (matchCtNew) exprs(*compiler) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// masqueradeMark is the packet mark bit that asks the masquerading chain to masquerade, as
// kube-proxy uses it.
const masqueradeMark = 0x4000

// matchMarkClear is "meta mark & 0x00004000 == 0".
type matchMarkClear struct{}

func (matchMarkClear) String() string { return fmt.Sprintf("meta mark & 0x%08x == 0", masqueradeMark) }

func (matchMarkClear) exprs(*compiler) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(masqueradeMark), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: make([]byte, 4)},
	}
}

// setMark is "meta mark set meta mark or 0x00004000" (Xor false) or "... xor ..." (Xor true).
type setMark struct{ Xor bool }

func (s setMark) String() string {
	op := "or"
	if s.Xor {
		op = "xor"
	}
	return fmt.Sprintf("meta mark set meta mark %s 0x%08x", op, masqueradeMark)
}

func (s setMark) exprs(*compiler) []expr.Any {
	mask, xor := uint32(^uint32(masqueradeMark)), uint32(masqueradeMark) // or: (m & ~b) ^ b
	if s.Xor {
		mask = 0xffffffff // xor: (m & ~0) ^ b
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(mask), Xor: binaryutil.NativeEndian.PutUint32(xor)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// lookupKey says what a set or map lookup concatenates.
type lookupKey int

const (
	keyAddr          lookupKey = iota // ip daddr (or saddr)
	keyAddrProtoPort                  // ip daddr . meta l4proto . th dport
	keyProtoPort                      // meta l4proto . th dport
)

// setTypes returns the data types of a set's key.
func (k lookupKey) setTypes(f family) []nftables.SetDatatype {
	addr := nftables.TypeIPAddr
	if f == ipv6 {
		addr = nftables.TypeIP6Addr
	}
	switch k {
	case keyAddrProtoPort:
		return []nftables.SetDatatype{addr, nftables.TypeInetProto, nftables.TypeInetService}
	case keyProtoPort:
		return []nftables.SetDatatype{nftables.TypeInetProto, nftables.TypeInetService}
	}
	return []nftables.SetDatatype{addr}
}

// lookup is "ip daddr @cluster-ips-v4" (a set; Verdict false) or
// "ip daddr . meta l4proto . th dport vmap @service-ips-v4" (a verdict map).
type lookup struct {
	Fam     family
	Dir     addrDir
	Key     lookupKey
	Set     string
	Verdict bool
}

func (l lookup) String() string {
	var k string
	switch l.Key {
	case keyAddr:
		k = fmt.Sprintf("%s %s", l.Fam, l.Dir)
	case keyAddrProtoPort:
		k = fmt.Sprintf("%s %s . meta l4proto . th dport", l.Fam, l.Dir)
	case keyProtoPort:
		k = "meta l4proto . th dport"
	}
	if l.Verdict {
		return fmt.Sprintf("%s vmap @%s", k, l.Set)
	}
	return fmt.Sprintf("%s @%s", k, l.Set)
}

// loadKey loads a lookup key into consecutive 32-bit registers from register 1 on, as nft
// does for a concatenation: each part padded to 4 bytes.
func loadKey(c *compiler, f family, d addrDir, k lookupKey) []expr.Any {
	var out []expr.Any
	next := uint32(unix.NFT_REG32_00)
	if k == keyAddr || k == keyAddrProtoPort {
		out = append(out, c.familyCheck(f)...)
		out = append(out, loadAddr(f, d, 1))
		next += 1
		if f == ipv6 {
			next += 3
		}
	} else {
		out = append(out, c.familyCheck(f)...)
	}
	if k == keyAddrProtoPort || k == keyProtoPort {
		protoReg := next
		if k == keyProtoPort {
			protoReg = 1 // the first part goes to register 1, as nft writes it
		}
		out = append(out,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: protoReg},
			&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: next + 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
	}
	return out
}

func (l lookup) exprs(c *compiler) []expr.Any {
	out := loadKey(c, l.Fam, l.Dir, l.Key)
	return append(out, &expr.Lookup{SourceRegister: 1, SetName: l.Set, IsDestRegSet: l.Verdict})
}

// numgenVmap is "numgen random mod 3 vmap { 0 : goto a, 1 : goto b, 2 : goto c }".
type numgenVmap struct{ Chains []string }

func (n numgenVmap) String() string {
	parts := make([]string, len(n.Chains))
	for i, c := range n.Chains {
		parts[i] = fmt.Sprintf("%d : goto %s", i, c)
	}
	return fmt.Sprintf("numgen random mod %d vmap { %s }", len(n.Chains), strings.Join(parts, ", "))
}

func (n numgenVmap) exprs(c *compiler) []expr.Any {
	elems := make([]nftables.SetElement, len(n.Chains))
	for i, ch := range n.Chains {
		elems[i] = nftables.SetElement{
			Key:         binaryutil.NativeEndian.PutUint32(uint32(i)),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: ch},
		}
	}
	set := c.anonMap(elems)
	return []expr.Any{
		&expr.Numgen{Register: 1, Modulus: uint32(len(n.Chains)), Type: unix.NFT_NG_RANDOM},
		&expr.Lookup{SourceRegister: 1, IsDestRegSet: true, SetName: set.Name, SetID: set.ID},
	}
}

// updateSet is "update @affinity-... { ip saddr }": add or refresh the client's address.
type updateSet struct {
	Fam family
	Set string
}

func (u updateSet) String() string { return fmt.Sprintf("update @%s { %s saddr }", u.Set, u.Fam) }

func (u updateSet) exprs(c *compiler) []expr.Any {
	return append(c.familyCheck(u.Fam), loadAddr(u.Fam, saddr, 1),
		&expr.Dynset{SrcRegKey: 1, SetName: u.Set, Operation: unix.NFT_DYNSET_OP_UPDATE})
}

// dnat is "dnat ip to 10.42.0.2:80".
type dnat struct{ To netip.AddrPort }

func (d dnat) String() string {
	return fmt.Sprintf("dnat %s to %s", familyOf(d.To.Addr()), d.To)
}

func (d dnat) exprs(c *compiler) []expr.Any {
	f := familyOf(d.To.Addr())
	natFam := uint32(unix.NFPROTO_IPV4)
	if f == ipv6 {
		natFam = unix.NFPROTO_IPV6
	}
	return append(c.familyCheck(f),
		&expr.Immediate{Register: 1, Data: d.To.Addr().AsSlice()},
		&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, d.To.Port())},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: natFam, RegAddrMin: 1, RegProtoMin: 2, Specified: true})
}

// masquerade is "masquerade fully-random".
type masquerade struct{}

func (masquerade) String() string { return "masquerade fully-random" }

func (masquerade) exprs(*compiler) []expr.Any {
	return []expr.Any{&expr.Masq{FullyRandom: true}}
}

// reject is "reject with tcp reset" (TCPReset) or "reject" (ICMP port unreachable).
type reject struct{ TCPReset bool }

func (r reject) String() string {
	if r.TCPReset {
		return "reject with tcp reset"
	}
	return "reject"
}

func (r reject) exprs(*compiler) []expr.Any {
	if r.TCPReset {
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}
	}
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}}
}

// verdictKind is what a verdict does.
type verdictKind string

const (
	verdictAccept verdictKind = "accept"
	verdictDrop   verdictKind = "drop"
	verdictReturn verdictKind = "return"
	verdictJump   verdictKind = "jump"
	verdictGoto   verdictKind = "goto"
)

// verdict ends a rule, or is the data of a verdict map's element: "goto service-...".
type verdict struct {
	Kind  verdictKind
	Chain string
}

func goTo(chain string) verdict { return verdict{Kind: verdictGoto, Chain: chain} }
func jump(chain string) verdict { return verdict{Kind: verdictJump, Chain: chain} }

func (v verdict) String() string {
	if v.Chain != "" {
		return fmt.Sprintf("%s %s", v.Kind, v.Chain)
	}
	return string(v.Kind)
}

func (v verdict) expr() *expr.Verdict {
	switch v.Kind {
	case verdictAccept:
		return &expr.Verdict{Kind: expr.VerdictAccept}
	case verdictDrop:
		return &expr.Verdict{Kind: expr.VerdictDrop}
	case verdictReturn:
		return &expr.Verdict{Kind: expr.VerdictReturn}
	case verdictJump:
		return &expr.Verdict{Kind: expr.VerdictJump, Chain: v.Chain}
	}
	return &expr.Verdict{Kind: expr.VerdictGoto, Chain: v.Chain}
}

func (v verdict) exprs(*compiler) []expr.Any { return []expr.Any{v.expr()} }

// timeoutString renders a set timeout as nft does: "3h", "10m30s".
func timeoutString(d time.Duration) string {
	secs := int64(d / time.Second)
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		unit string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if secs >= u.n {
			fmt.Fprintf(&b, "%d%s", secs/u.n, u.unit)
			secs %= u.n
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}
