package podnet

import (
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables/expr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestBuildTableGolden(t *testing.T) {
	hp := func(uid string, ips []string, ports ...HostPortMapping) podHostPorts {
		checked, err := checkHostPorts(ports)
		if err != nil {
			t.Fatal(err)
		}
		var addrs []netip.Addr
		for _, s := range ips {
			addrs = append(addrs, netip.MustParseAddr(s))
		}
		return podHostPorts{UID: uid, IPs: addrs, Ports: checked}
	}
	tests := []struct {
		name      string
		cfg       Config
		hostPorts []podHostPorts
	}{
		{"single-stack", Config{
			NodeName: "node-1", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24"},
			ClusterCIDRs: []string{"10.42.0.0/16"}, ServiceCIDRs: []string{"10.43.0.0/16"}, NodeIP: "192.0.2.10",
		}, nil},
		{"no-cluster-cidrs", Config{
			NodeName: "node-1", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24"}, Backend: BackendNone,
		}, nil},
		{"dual-stack", Config{
			NodeName: "node-2", StateDir: "/x", PodCIDRs: []string{"10.42.2.0/24", "fd00:42:0:2::/64"},
			ClusterCIDRs: []string{"10.42.0.0/16", "fd00:42::/56"}, ServiceCIDRs: []string{"10.43.0.0/16", "fd00:43::/112"},
			BridgeName: "cbr0", Backend: BackendHostGW, NodeIP: "192.0.2.11",
		}, nil},
		{"hostports", Config{
			NodeName: "node-1", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24"},
			ClusterCIDRs: []string{"10.42.0.0/16"}, ServiceCIDRs: []string{"10.43.0.0/16"}, NodeIP: "192.0.2.10",
		}, []podHostPorts{
			hp("uid-a", []string{"10.42.1.2"},
				HostPortMapping{HostPort: 8080, ContainerPort: 80},
				HostPortMapping{Protocol: "UDP", HostPort: 5353, ContainerPort: 53}),
			hp("uid-b", []string{"10.42.1.3"},
				HostPortMapping{Protocol: "SCTP", HostIP: "192.0.2.10", HostPort: 9000, ContainerPort: 9000},
				HostPortMapping{HostIP: "fd00::10", HostPort: 9001, ContainerPort: 9001}), // no IPv6 address: no rule
		}},
		{"hostports-dual-stack", Config{
			NodeName: "node-2", StateDir: "/x", PodCIDRs: []string{"10.42.2.0/24", "fd00:42:0:2::/64"},
			ClusterCIDRs: []string{"10.42.0.0/16", "fd00:42::/56"}, NodeIP: "192.0.2.11",
		}, []podHostPorts{
			hp("uid-c", []string{"10.42.2.2", "fd00:42:0:2::2"},
				HostPortMapping{HostPort: 8443, ContainerPort: 443},
				HostPortMapping{HostIP: "::", HostPort: 8080, ContainerPort: 80},
				HostPortMapping{HostIP: "fd00::11", HostPort: 8081, ContainerPort: 80}),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseConfig(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			spec := buildTable(p, tt.hostPorts)
			got := spec.String() + "\n# expressions, rule by rule\n" + exprDump(spec)
			golden(t, filepath.Join("testdata", tt.name+".golden"), got)
		})
	}
}

// golden compares got with the file at path, or rewrites the file with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; run with -update to accept):\n%s", path, diff)
	}
}

// exprDump renders every rule's expressions, one per line, in the style of nft --debug=netlink.
func exprDump(spec tableSpec) string {
	var b strings.Builder
	for _, c := range spec.Chains {
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "%s: %s\n", c.Name, r)
			for _, e := range r.exprs() {
				fmt.Fprintf(&b, "  [ %s ]\n", exprString(e))
			}
		}
	}
	return b.String()
}

func exprString(e expr.Any) string {
	switch e := e.(type) {
	case *expr.Meta:
		return fmt.Sprintf("meta load %s => reg %d", metaKeyName(e.Key), e.Register)
	case *expr.Cmp:
		op := fmt.Sprintf("op%d", e.Op)
		switch e.Op {
		case expr.CmpOpEq:
			op = "eq"
		case expr.CmpOpNeq:
			op = "neq"
		}
		return fmt.Sprintf("cmp %s reg %d 0x%s", op, e.Register, hex.EncodeToString(e.Data))
	case *expr.Payload:
		base := fmt.Sprintf("base %d", e.Base)
		switch e.Base {
		case expr.PayloadBaseNetworkHeader:
			base = "network header"
		case expr.PayloadBaseTransportHeader:
			base = "transport header"
		}
		return fmt.Sprintf("payload load %db @ %s + %d => reg %d", e.Len, base, e.Offset, e.DestRegister)
	case *expr.Bitwise:
		return fmt.Sprintf("bitwise reg %d = (reg %d & 0x%s) ^ 0x%s", e.DestRegister, e.SourceRegister, hex.EncodeToString(e.Mask), hex.EncodeToString(e.Xor))
	case *expr.Verdict:
		switch e.Kind {
		case expr.VerdictAccept:
			return "immediate reg 0 accept"
		case expr.VerdictDrop:
			return "immediate reg 0 drop"
		case expr.VerdictReturn:
			return "immediate reg 0 return"
		case expr.VerdictJump:
			return "immediate reg 0 jump -> " + e.Chain
		}
		return fmt.Sprintf("immediate reg 0 verdict %d", e.Kind)
	case *expr.Masq:
		return "masq"
	case *expr.Fib:
		if e.FlagDADDR && e.ResultADDRTYPE {
			return fmt.Sprintf("fib daddr type => reg %d", e.Register)
		}
	case *expr.Ct:
		switch e.Key {
		case expr.CtKeySTATUS:
			return fmt.Sprintf("ct load status => reg %d", e.Register)
		case expr.CtKeySTATE:
			return fmt.Sprintf("ct load state => reg %d", e.Register)
		}
	case *expr.Immediate:
		return fmt.Sprintf("immediate reg %d 0x%s", e.Register, hex.EncodeToString(e.Data))
	case *expr.NAT:
		if e.Type == expr.NATTypeDestNAT {
			return fmt.Sprintf("nat dnat family %d addr_min reg %d addr_max reg %d proto_min reg %d proto_max reg %d specified %v",
				e.Family, e.RegAddrMin, e.RegAddrMax, e.RegProtoMin, e.RegProtoMax, e.Specified)
		}
	}
	return fmt.Sprintf("%T %+v", e, e)
}

func metaKeyName(k expr.MetaKey) string {
	switch k {
	case expr.MetaKeyNFPROTO:
		return "nfproto"
	case expr.MetaKeyIIFNAME:
		return "iifname"
	case expr.MetaKeyOIFNAME:
		return "oifname"
	case expr.MetaKeyL4PROTO:
		return "l4proto"
	}
	return fmt.Sprint(k)
}

// TestBuildTableMasqueradeOrder checks the property the golden files show: in the
// postrouting chain, every "return" for a pod's source precedes its masquerade rule.
func TestBuildTableMasqueradeOrder(t *testing.T) {
	p, err := parseConfig(Config{NodeName: "n", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24", "fd00::/64"},
		ClusterCIDRs: []string{"10.42.0.0/16"}, ServiceCIDRs: []string{"10.43.0.0/16", "fd00:43::/112"}, Backend: BackendNone})
	if err != nil {
		t.Fatal(err)
	}
	post := chainNamed(t, buildTable(p, nil), "postrouting")
	masqueraded := map[string]bool{}
	returns := 0
	for _, r := range post.Rules {
		if slices.ContainsFunc(r.Matches, func(m match) bool { return m.Field == fieldCtDNAT }) {
			continue // the hostPort masquerades come first, and are not per podCIDR
		}
		src := r.Matches[0].Prefix.String()
		switch r.Verdict {
		case verdictMasquerade:
			masqueraded[src] = true
		case verdictReturn:
			returns++
			if masqueraded[src] {
				t.Errorf("rule %q comes after the masquerade of %s", r, src)
			}
			if r.Matches[0].Prefix.Addr().Is6() != r.Matches[1].Prefix.Addr().Is6() {
				t.Errorf("rule %q mixes families", r)
			}
		}
	}
	// IPv4: 10.42.0.0/16 (covers the podCIDR) and 10.43.0.0/16; IPv6: fd00::/64 and fd00:43::/112.
	if len(masqueraded) != 2 || returns != 4 {
		t.Fatalf("%d masquerade rules and %d returns, want 2 and 4:\n%s", len(masqueraded), returns, buildTable(p, nil))
	}
}

// chainNamed returns the chain of spec named name.
func chainNamed(t *testing.T, spec tableSpec, name string) chainSpec {
	t.Helper()
	for _, c := range spec.Chains {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no chain %s in\n%s", name, spec)
	return chainSpec{}
}
