package podnet

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables/expr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestBuildTableGolden(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"single-stack", Config{
			NodeName: "node-1", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24"},
			ClusterCIDRs: []string{"10.42.0.0/16"}, ServiceCIDRs: []string{"10.43.0.0/16"},
		}},
		{"no-cluster-cidrs", Config{
			NodeName: "node-1", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24"},
		}},
		{"dual-stack", Config{
			NodeName: "node-2", StateDir: "/x", PodCIDRs: []string{"10.42.2.0/24", "fd00:42:0:2::/64"},
			ClusterCIDRs: []string{"10.42.0.0/16", "fd00:42::/56"}, ServiceCIDRs: []string{"10.43.0.0/16", "fd00:43::/112"},
			BridgeName: "cbr0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseConfig(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			spec := buildTable(p)
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
		if e.Op == expr.CmpOpEq {
			op = "eq"
		}
		return fmt.Sprintf("cmp %s reg %d 0x%s", op, e.Register, hex.EncodeToString(e.Data))
	case *expr.Payload:
		base := fmt.Sprintf("base %d", e.Base)
		if e.Base == expr.PayloadBaseNetworkHeader {
			base = "network header"
		}
		return fmt.Sprintf("payload load %db @ %s + %d => reg %d", e.Len, base, e.Offset, e.DestRegister)
	case *expr.Bitwise:
		return fmt.Sprintf("bitwise reg %d = (reg %d & 0x%s) ^ 0x%s", e.DestRegister, e.SourceRegister, hex.EncodeToString(e.Mask), hex.EncodeToString(e.Xor))
	case *expr.Verdict:
		switch e.Kind {
		case expr.VerdictAccept:
			return "immediate reg 0 accept"
		case expr.VerdictReturn:
			return "immediate reg 0 return"
		}
		return fmt.Sprintf("immediate reg 0 verdict %d", e.Kind)
	case *expr.Masq:
		return "masq"
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
	}
	return fmt.Sprint(k)
}

// TestBuildTableMasqueradeOrder checks the property the golden files show: in the
// postrouting chain, every "return" for a pod's source precedes its masquerade rule.
func TestBuildTableMasqueradeOrder(t *testing.T) {
	p, err := parseConfig(Config{NodeName: "n", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24", "fd00::/64"},
		ClusterCIDRs: []string{"10.42.0.0/16"}, ServiceCIDRs: []string{"10.43.0.0/16", "fd00:43::/112"}})
	if err != nil {
		t.Fatal(err)
	}
	post := buildTable(p).Chains[1]
	masqueraded := map[string]bool{}
	returns := 0
	for _, r := range post.Rules {
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
		t.Fatalf("%d masquerade rules and %d returns, want 2 and 4:\n%s", len(masqueraded), returns, buildTable(p))
	}
}
