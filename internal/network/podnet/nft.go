package podnet

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
)

// nftHook maps our hook names to the library's.
var nftHook = map[chainHook]*nftables.ChainHook{
	hookPrerouting:  nftables.ChainHookPrerouting,
	hookInput:       nftables.ChainHookInput,
	hookForward:     nftables.ChainHookForward,
	hookOutput:      nftables.ChainHookOutput,
	hookPostrouting: nftables.ChainHookPostrouting,
}

// applyTable programs spec in one netlink batch, which the kernel applies as one
// transaction: create the table and its chains if missing, flush every rule of the table,
// and add spec's rules. Packets see either the old rules or the new ones, never a mix, and
// calling it twice leaves one copy of each rule. Every chain is added before any rule, so
// that a rule may jump to a chain listed after its own.
func applyTable(conn *nftables.Conn, spec tableSpec) error {
	table := conn.AddTable(&nftables.Table{Name: spec.Name, Family: nftables.TableFamilyINet})
	conn.FlushTable(table)
	chains := make([]*nftables.Chain, len(spec.Chains))
	for i, c := range spec.Chains {
		chain := &nftables.Chain{Name: c.Name, Table: table}
		if c.Hook != "" {
			policy := nftables.ChainPolicyAccept
			prio := nftables.ChainPriority(c.Priority)
			chain.Type, chain.Hooknum, chain.Priority, chain.Policy = c.Type, nftHook[c.Hook], &prio, &policy
		}
		chains[i] = conn.AddChain(chain)
	}
	for i, c := range spec.Chains {
		for _, r := range c.Rules {
			conn.AddRule(&nftables.Rule{
				Table: table, Chain: chains[i], Exprs: r.exprs(),
				UserData: userdata.AppendString(nil, userdata.TypeComment, r.Comment),
			})
		}
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: program table inet %s: %w", spec.Name, err)
	}
	return nil
}
