package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	mdnetlink "github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// syncPlan is what one sync changes in the table, decided by planFull or planIncremental
// and applied by applyPlan in one transaction, in this order: create sets, create chains,
// rewrite chains, delete and add elements of the static sets, flush and delete stale
// chains, delete stale sets. Every reference an object had is gone before it is deleted.
type syncPlan struct {
	full        bool
	recreate    bool      // delete the table first (a full sync after one that failed)
	sets        []setSpec // sets and maps to create if missing (all of them on a full sync)
	flushSets   []string  // sets to empty before adding elements (full sync)
	writeChains []chainSpec
	newChains   map[string]bool      // chains of writeChains the kernel does not have yet: no flush
	delElems    map[string][]element // by set
	addElems    map[string][]element // by set
	delChains   []string
	delSets     []string
}

// touched returns the numbers of chains and elements the plan writes or deletes.
func (p syncPlan) touched() (chains, elems int) {
	for _, es := range p.delElems {
		elems += len(es)
	}
	for _, es := range p.addElems {
		elems += len(es)
	}
	return len(p.writeChains) + len(p.delChains), elems
}

// planFull rewrites everything: every set and chain of want is created if missing, every
// chain flushed and written, every static set emptied and filled, and what the kernel has
// (existingChains, existingSets) that want lacks is deleted.
func planFull(want tableSpec, existingChains, existingSets []string) syncPlan {
	p := syncPlan{full: true, sets: want.Sets, writeChains: want.Chains, addElems: map[string][]element{}, newChains: map[string]bool{}}
	have := map[string]bool{}
	for _, c := range existingChains {
		have[c] = true
	}
	for _, c := range want.Chains {
		if !have[c.Name] {
			p.newChains[c.Name] = true
		}
	}
	wantSet := map[string]bool{}
	for _, s := range want.Sets {
		wantSet[s.Name] = true
		if s.Timeout == 0 {
			p.flushSets = append(p.flushSets, s.Name)
		}
		if len(s.Elems) > 0 {
			p.addElems[s.Name] = s.Elems
		}
	}
	wantChain := map[string]bool{}
	for _, c := range want.Chains {
		wantChain[c.Name] = true
	}
	for _, c := range existingChains {
		if !wantChain[c] {
			p.delChains = append(p.delChains, c)
		}
	}
	for _, s := range existingSets {
		if !wantSet[s] {
			p.delSets = append(p.delSets, s)
		}
	}
	return p
}

// planIncremental changes only what differs for the Services in changed: their chains and
// affinity sets as old and new have them (nil: the Service has none), and the elements of
// the static sets, which are compared whole (oldElems is what the kernel has).
func planIncremental(changed []string, old, new map[string]*serviceRules, oldElems, newElems elementsBySet) syncPlan {
	p := syncPlan{delElems: map[string][]element{}, addElems: map[string][]element{}, newChains: map[string]bool{}}
	for _, key := range changed {
		o, n := old[key], new[key]
		oldChains := map[string]string{}
		oldSets := map[string]setSpec{}
		if o != nil {
			for _, c := range o.chains {
				oldChains[c.Name] = c.String()
			}
			for _, s := range o.sets {
				oldSets[s.Name] = s
			}
		}
		newChains := map[string]bool{}
		newSets := map[string]bool{}
		if n != nil {
			recreated := false
			for _, s := range n.sets {
				newSets[s.Name] = true
				if os, ok := oldSets[s.Name]; !ok || os.Timeout != s.Timeout {
					if ok {
						// The timeout changed: the set is deleted and created again, and
						// every chain of the Service rewritten, since rules refer to it.
						p.delSets = append(p.delSets, s.Name)
						recreated = true
					}
					p.sets = append(p.sets, s)
				}
			}
			for _, c := range n.chains {
				newChains[c.Name] = true
				if text, ok := oldChains[c.Name]; recreated || !ok || text != c.String() {
					p.writeChains = append(p.writeChains, c)
					if !ok {
						p.newChains[c.Name] = true
					}
				}
			}
		}
		if o != nil {
			for _, c := range o.chains {
				if !newChains[c.Name] {
					p.delChains = append(p.delChains, c.Name)
				}
			}
			for _, s := range o.sets {
				if !newSets[s.Name] {
					p.delSets = append(p.delSets, s.Name)
				}
			}
		}
	}
	for _, set := range slices.Sorted(maps.Keys(unionKeys(oldElems, newElems))) {
		o, n := oldElems[set], newElems[set]
		for k, e := range o {
			if ne, ok := n[k]; !ok || ne != e {
				p.delElems[set] = append(p.delElems[set], e)
			}
		}
		for k, e := range n {
			if oe, ok := o[k]; !ok || oe != e {
				p.addElems[set] = append(p.addElems[set], e)
			}
		}
		slices.SortFunc(p.delElems[set], func(a, b element) int { return compareKeys(a.Key, b.Key) })
		slices.SortFunc(p.addElems[set], func(a, b element) int { return compareKeys(a.Key, b.Key) })
	}
	return p
}

func unionKeys(a, b elementsBySet) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// elemsPerMessage keeps a message's element list well under 64 KiB: an element of a map
// of IPv6 address . protocol . port to a verdict with a long chain name takes some 350
// bytes.
const elemsPerMessage = 128

// nftSet returns the library's description of a set, for creating it and for changing its
// elements.
func nftSet(table *nftables.Table, s setSpec) *nftables.Set {
	types := s.Key.setTypes(s.Fam)
	key := types[0]
	if len(types) > 1 {
		key = nftables.MustConcatSetType(types...)
	}
	set := &nftables.Set{Table: table, Name: s.Name, KeyType: key, Concatenation: len(types) > 1, Comment: s.Comment}
	if s.Map {
		set.IsMap, set.DataType = true, nftables.TypeVerdict
	}
	if s.Timeout > 0 {
		set.HasTimeout, set.Dynamic, set.Timeout = true, true, s.Timeout
	}
	return set
}

// keyBytes encodes an element's key as the kernel compares it: each part of a
// concatenation padded to 4 bytes, ports in network byte order.
func keyBytes(k lookupKey, e elemKey) []byte {
	var b []byte
	if k == keyAddr || k == keyAddrProtoPort {
		b = append(b, e.Addr.AsSlice()...)
	}
	if k == keyAddrProtoPort || k == keyProtoPort {
		b = append(b, e.Proto, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, e.Port)
		b = append(b, 0, 0)
	}
	return b
}

func nftElems(s setSpec, elems []element) []nftables.SetElement {
	out := make([]nftables.SetElement, len(elems))
	for i, e := range elems {
		out[i] = nftables.SetElement{Key: keyBytes(s.Key, e.Key)}
		if s.Map {
			out[i].VerdictData = e.Verdict.expr()
		}
	}
	return out
}

// applyPlan queues p on conn for the table named name and sends it as one transaction.
// sets describes every set p may touch the elements of, by name.
func applyPlan(conn *nftables.Conn, name string, p syncPlan, sets map[string]setSpec) error {
	table := &nftables.Table{Name: name, Family: nftables.TableFamilyINet}
	conn.AddTable(table)
	if p.recreate {
		conn.DelTable(table)
		conn.AddTable(table)
	}
	recreate := func(set string) bool {
		return slices.ContainsFunc(p.sets, func(n setSpec) bool { return n.Name == set })
	}
	if slices.ContainsFunc(p.delSets, recreate) {
		// A set whose timeout changed is deleted before it is created again. The rules
		// that refer to it are in chains this plan rewrites: flush those first.
		for _, c := range p.writeChains {
			conn.FlushChain(&nftables.Chain{Name: c.Name, Table: table})
		}
		for _, s := range p.delSets {
			if recreate(s) {
				conn.DelSet(&nftables.Set{Table: table, Name: s})
			}
		}
	}
	for _, s := range p.sets {
		if err := conn.AddSet(nftSet(table, s), nil); err != nil {
			return fmt.Errorf("nftables: set %s: %w", s.Name, err)
		}
	}
	for _, s := range p.flushSets {
		conn.FlushSet(&nftables.Set{Table: table, Name: s})
	}
	chains := make([]*nftables.Chain, len(p.writeChains))
	for i, c := range p.writeChains {
		chains[i] = conn.AddChain(nftChain(table, c))
	}
	for i, c := range p.writeChains {
		if !p.newChains[c.Name] {
			conn.FlushChain(chains[i])
		}
		for _, r := range c.Rules {
			anonMap := func(elems []nftables.SetElement) *nftables.Set {
				s := &nftables.Set{Table: table, Anonymous: true, Constant: true, IsMap: true,
					KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict}
				if err := conn.AddSet(s, elems); err != nil {
					panic(fmt.Sprintf("anonymous map: %v", err)) // only fails for a non-constant anonymous set
				}
				return s
			}
			rule := &nftables.Rule{Table: table, Chain: chains[i], Exprs: r.exprs(anonMap)}
			if r.Comment != "" {
				rule.UserData = userdata.AppendString(nil, userdata.TypeComment, r.Comment)
			}
			conn.AddRule(rule)
		}
	}
	// Elements go in messages of at most elemsPerMessage: a message's element list is one
	// netlink attribute, whose length cannot pass 64 KiB.
	for _, set := range slices.Sorted(maps.Keys(p.delElems)) {
		for chunk := range slices.Chunk(p.delElems[set], elemsPerMessage) {
			if err := conn.SetDeleteElements(nftSet(table, sets[set]), nftElems(sets[set], chunk)); err != nil {
				return fmt.Errorf("nftables: set %s: %w", set, err)
			}
		}
	}
	for _, set := range slices.Sorted(maps.Keys(p.addElems)) {
		for chunk := range slices.Chunk(p.addElems[set], elemsPerMessage) {
			if err := conn.SetAddElements(nftSet(table, sets[set]), nftElems(sets[set], chunk)); err != nil {
				return fmt.Errorf("nftables: set %s: %w", set, err)
			}
		}
	}
	for _, c := range p.delChains {
		conn.FlushChain(&nftables.Chain{Name: c, Table: table})
	}
	for _, c := range p.delChains {
		conn.DelChain(&nftables.Chain{Name: c, Table: table})
	}
	for _, s := range p.delSets {
		if !recreate(s) {
			conn.DelSet(&nftables.Set{Table: table, Name: s})
		}
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: program table inet %s: %w", name, err)
	}
	return nil
}

func nftChain(table *nftables.Table, c chainSpec) *nftables.Chain {
	ch := &nftables.Chain{Name: c.Name, Table: table}
	if c.Base != nil {
		policy := nftables.ChainPolicyAccept
		prio := nftables.ChainPriority(c.Base.Priority)
		ch.Type, ch.Hooknum, ch.Priority, ch.Policy = c.Base.Type, nftHook[c.Base.Hook], &prio, &policy
	}
	return ch
}

// existing returns the names of the chains and sets the table has in the kernel; none if
// it does not exist.
func existing(conn *nftables.Conn, name string) (chains, sets []string, err error) {
	table, err := conn.ListTableOfFamily(name, nftables.TableFamilyINet)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("nftables: table inet %s: %w", name, err)
	}
	all, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, nil, fmt.Errorf("nftables: list chains: %w", err)
	}
	for _, c := range all {
		if c.Table.Name == name {
			chains = append(chains, c.Name)
		}
	}
	ss, err := conn.GetSets(table)
	if err != nil {
		return nil, nil, fmt.Errorf("nftables: sets of table inet %s: %w", name, err)
	}
	for _, s := range ss {
		if !s.Anonymous {
			sets = append(sets, s.Name)
		}
	}
	return chains, sets, nil
}

// deleteTable removes the inet table named name, if it exists.
func deleteTable(conn *nftables.Conn, name string) error {
	if _, err := conn.ListTableOfFamily(name, nftables.TableFamilyINet); errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return fmt.Errorf("nftables: table inet %s: %w", name, err)
	}
	conn.DelTable(&nftables.Table{Name: name, Family: nftables.TableFamilyINet})
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete table inet %s: %w", name, err)
	}
	return nil
}

// bigBuffers lets one transaction carry a whole table: the batch is sent in one message and
// the kernel acknowledges each part of it, so both socket buffers must hold a full sync of
// thousands of Services (nft does the same). Forcing needs CAP_NET_ADMIN, which
// programming nftables needs anyway.
func bigBuffers(c *mdnetlink.Conn) error {
	const size = 256 << 20
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size); e != nil {
			serr = fmt.Errorf("SO_SNDBUFFORCE: %w", e)
			return
		}
		if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); e != nil {
			serr = fmt.Errorf("SO_RCVBUFFORCE: %w", e)
		}
	})
	return errors.Join(err, serr)
}
