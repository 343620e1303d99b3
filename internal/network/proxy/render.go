package proxy

import (
	"fmt"
	"strings"

	"github.com/google/nftables"
)

// String renders the table in the syntax of `nft list table inet NAME`: sets and maps
// first, then chains, each element and rule on a line of its own.
func (t tableSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", t.Name)
	first := true
	sep := func() {
		if !first {
			b.WriteString("\n")
		}
		first = false
	}
	for _, s := range t.Sets {
		sep()
		b.WriteString(s.String())
	}
	for _, c := range t.Chains {
		sep()
		b.WriteString(c.String())
	}
	b.WriteString("}\n")
	return b.String()
}

// String renders the set or map.
func (s setSpec) String() string {
	var b strings.Builder
	kind := "set"
	if s.Map {
		kind = "map"
	}
	fmt.Fprintf(&b, "\t%s %s {\n", kind, s.Name)
	types := s.Key.setTypes(s.Fam)
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name
	}
	typ := strings.Join(names, " . ")
	if s.Map {
		typ += " : verdict"
	}
	fmt.Fprintf(&b, "\t\ttype %s\n", typ)
	if s.Timeout > 0 {
		b.WriteString("\t\tflags dynamic,timeout\n")
		fmt.Fprintf(&b, "\t\ttimeout %s\n", timeoutString(s.Timeout))
	}
	if s.Comment != "" {
		fmt.Fprintf(&b, "\t\tcomment %q\n", s.Comment)
	}
	if len(s.Elems) > 0 {
		b.WriteString("\t\telements = {")
		for i, e := range s.Elems {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n\t\t\t")
			b.WriteString(e.Key.String())
			if s.Map {
				fmt.Fprintf(&b, " : %s", e.Verdict)
			}
		}
		b.WriteString(" }\n")
	}
	b.WriteString("\t}\n")
	return b.String()
}

// String renders the chain.
func (c chainSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
	if c.Base != nil {
		fmt.Fprintf(&b, "\t\ttype %s hook %s priority %s; policy accept;\n", c.Base.Type, c.Base.Hook, priorityName(c.Base.Priority))
	}
	for _, r := range c.Rules {
		fmt.Fprintf(&b, "\t\t%s\n", r)
	}
	b.WriteString("\t}\n")
	return b.String()
}

// priorityName returns the name nft uses for a priority of the inet family.
func priorityName(p int32) string {
	switch p {
	case -110:
		return "dstnat - 10"
	case -100:
		return "dstnat"
	case -90:
		return "dstnat + 10"
	case 100:
		return "srcnat"
	}
	return fmt.Sprint(p)
}

// String renders the rule in nft's syntax.
func (r ruleSpec) String() string {
	parts := make([]string, 0, len(r.Stmts)+1)
	for _, s := range r.Stmts {
		parts = append(parts, s.String())
	}
	if r.Comment != "" {
		parts = append(parts, fmt.Sprintf("comment %q", r.Comment))
	}
	return strings.Join(parts, " ")
}

var nftHook = map[string]*nftables.ChainHook{
	"prerouting":  nftables.ChainHookPrerouting,
	"output":      nftables.ChainHookOutput,
	"postrouting": nftables.ChainHookPostrouting,
}
