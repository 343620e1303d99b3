package podnet

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
)

// nftHook maps our hook names to the library's.
var nftHook = map[chainHook]*nftables.ChainHook{
	hookForward:     nftables.ChainHookForward,
	hookPostrouting: nftables.ChainHookPostrouting,
}

// applyTable programs spec in one netlink batch, which the kernel applies as one
// transaction: create the table and its chains if missing, flush every rule of the table,
// and add spec's rules. Packets see either the old rules or the new ones, never a mix, and
// calling it twice leaves one copy of each rule.
func applyTable(conn *nftables.Conn, spec tableSpec) error {
	table := conn.AddTable(&nftables.Table{Name: spec.Name, Family: nftables.TableFamilyINet})
	conn.FlushTable(table)
	for _, c := range spec.Chains {
		policy := nftables.ChainPolicyAccept
		prio := nftables.ChainPriority(c.Priority)
		chain := conn.AddChain(&nftables.Chain{
			Name: c.Name, Table: table, Type: c.Type,
			Hooknum: nftHook[c.Hook], Priority: &prio, Policy: &policy,
		})
		for _, r := range c.Rules {
			conn.AddRule(&nftables.Rule{
				Table: table, Chain: chain, Exprs: r.exprs(),
				UserData: userdata.AppendString(nil, userdata.TypeComment, r.Comment),
			})
		}
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: program table inet %s: %w", spec.Name, err)
	}
	return nil
}
