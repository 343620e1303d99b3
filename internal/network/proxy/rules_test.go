package proxy

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestBuildTableGolden(t *testing.T) {
	web := "default/web"
	tests := []struct {
		name     string
		cfg      func(*Config)
		services []*v1.Service
		slices   []*discovery.EndpointSlice
	}{
		{name: "clusterip-no-endpoints",
			services: []*v1.Service{service(web, "10.43.0.20", "http:80")}},
		{name: "clusterip-1-endpoint",
			services: []*v1.Service{service(web, "10.43.0.20", "http:80")},
			slices:   []*discovery.EndpointSlice{slice(web, "web-a", "http:8080", "10.42.1.5")}},
		{name: "clusterip-3-endpoints",
			services: []*v1.Service{service(web, "10.43.0.20", "http:80")},
			slices: []*discovery.EndpointSlice{
				slice(web, "web-a", "http:8080", "10.42.1.5", "10.42.2.7@node-2", "10.42.1.9!n"),
				slice(web, "web-b", "http:8080", "10.42.3.4@node-3", "10.42.1.5"),
			}},
		{name: "terminating-only",
			services: []*v1.Service{service(web, "10.43.0.20", "http:80")},
			slices:   []*discovery.EndpointSlice{slice(web, "web-a", "http:8080", "10.42.1.5!t", "10.42.2.7@node-2!x", "10.42.2.8@node-2!n")}},
		{name: "nodeport",
			services: []*v1.Service{service(web, "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeNodePort))},
			slices:   []*discovery.EndpointSlice{slice(web, "web-a", "http:8080", "10.42.1.5", "10.42.2.7@node-2")}},
		{name: "nodeport-all-local-addresses", cfg: func(c *Config) { c.NodeIPs = nil },
			services: []*v1.Service{service(web, "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeNodePort))},
			slices:   []*discovery.EndpointSlice{slice(web, "web-a", "http:8080", "10.42.1.5")}},
		{name: "loadbalancer",
			services: []*v1.Service{service(web, "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeLoadBalancer), withIngress("192.168.1.10", "203.0.113.7"))},
			slices:   []*discovery.EndpointSlice{slice(web, "web-a", "http:8080", "10.42.1.5")}},
		{name: "external-ips",
			services: []*v1.Service{service(web, "10.43.0.20", "http:80", withExternalIPs("198.51.100.4", "not-an-ip"))},
			slices:   []*discovery.EndpointSlice{slice(web, "web-a", "http:8080", "10.42.1.5", "10.42.2.7@node-2")}},
		{name: "session-affinity",
			services: []*v1.Service{
				service(web, "10.43.0.20", "http:80", withAffinity(0)),
				service("default/api", "10.43.0.21", "8443", withAffinity(600), createdAt(1)),
			},
			slices: []*discovery.EndpointSlice{
				slice(web, "web-a", "http:8080", "10.42.1.5", "10.42.2.7@node-2"),
				slice("default/api", "api-a", "8443", "10.42.1.6"),
			}},
		{name: "external-traffic-policy-local",
			services: []*v1.Service{
				service(web, "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeLoadBalancer), withIngress("203.0.113.7"), withETPLocal()),
				service("default/remote-only", "10.43.0.21", "http:80>30081", withType(v1.ServiceTypeNodePort), withETPLocal(), createdAt(1)),
			},
			slices: []*discovery.EndpointSlice{
				slice(web, "web-a", "http:8080", "10.42.1.5", "10.42.2.7@node-2"),
				slice("default/remote-only", "ro-a", "http:8080", "10.42.2.8@node-2"),
			}},
		{name: "internal-traffic-policy-local",
			services: []*v1.Service{
				service(web, "10.43.0.20", "http:80", withITPLocal()),
				service("default/remote-only", "10.43.0.21", "http:80", withITPLocal(), createdAt(1)),
			},
			slices: []*discovery.EndpointSlice{
				slice(web, "web-a", "http:8080", "10.42.1.5", "10.42.2.7@node-2"),
				slice("default/remote-only", "ro-a", "http:8080", "10.42.2.8@node-2"),
			}},
		{name: "headless-and-externalname",
			services: []*v1.Service{
				service("default/headless", "None", "http:80"),
				service("default/elsewhere", "", "", withType(v1.ServiceTypeExternalName)),
			},
			slices: []*discovery.EndpointSlice{slice("default/headless", "h-a", "http:80", "10.42.1.5")}},
		{name: "ports-and-protocols",
			services: []*v1.Service{service(web, "10.43.0.20", "dns:53/UDP dns-tcp:53/TCP sig:3868/SCTP metrics:9100")},
			slices: []*discovery.EndpointSlice{
				slice(web, "web-a", "dns:5353/UDP dns-tcp:5353/TCP sig:3868/SCTP", "10.42.1.5", "10.42.2.7@node-2"),
			}},
		{name: "dns-redirect",
			cfg: func(c *Config) {
				c.DNS = &LocalDNS{ServiceIP: netip.MustParseAddr("10.43.0.10"), Target: netip.MustParseAddrPort("10.42.1.1:53")}
			},
			services: []*v1.Service{service("kube-system/kube-dns", "10.43.0.10", "dns:53/UDP dns-tcp:53/TCP metrics:9153")}},
		{name: "bad-input",
			services: []*v1.Service{
				service("default/outside", "10.99.0.1", "http:80"),
				service("default/garbage", "10.43.0.x", "http:80"),
				service("default/first", "10.43.0.30", "http:80>30080", withType(v1.ServiceTypeNodePort), withExternalIPs("198.51.100.4")),
				service("default/second", "10.43.0.31", "http:80>30080", withType(v1.ServiceTypeNodePort), withExternalIPs("198.51.100.4"), createdAt(1)),
				service(web, "10.43.0.20", "http:80"),
			},
			slices: []*discovery.EndpointSlice{
				slice("default/first", "f-a", "http:8080", "10.42.1.5"),
				slice("default/second", "s-a", "http:8080", "10.42.1.6"),
				slice(web, "web-a", "http:8080", "10.42.1.7", "10.42.1.300", "fd00::1", "", "0.0.0.0"),
				slice("default/outside", "o-a", "http:8080", "10.42.1.8"),
			}},
		{name: "dual-stack",
			cfg: func(c *Config) {
				c.NodeIPs = append(c.NodeIPs, netip.MustParseAddr("2001:db8::10"))
				c.ClusterCIDRs = append(c.ClusterCIDRs, netip.MustParsePrefix("fd00:42::/56"))
				c.ServiceCIDRs = append(c.ServiceCIDRs, netip.MustParsePrefix("fd00:43::/112"))
			},
			services: []*v1.Service{service(web, "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeNodePort), func(s *v1.Service) {
				s.Spec.ClusterIPs = append(s.Spec.ClusterIPs, "fd00:43::20")
			})},
			slices: []*discovery.EndpointSlice{
				slice(web, "web-a", "http:8080", "10.42.1.5"),
				func() *discovery.EndpointSlice {
					s := slice(web, "web-b", "http:8080", "fd00:42:0:1::5")
					s.AddressType = discovery.AddressTypeIPv6
					return s
				}(),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			table, warnings := buildTable(mustFacts(cfg), tt.services, tt.slices)
			got := table.String()
			if len(warnings) > 0 {
				got += "\n# warnings\n" + strings.Join(warnings, "\n") + "\n"
			}
			golden(t, filepath.Join("testdata", tt.name+".golden"), got)
		})
	}
}

// TestExpressionsGolden records the expressions of every rule of one table that uses each
// kind of statement, in the style of nft --debug=netlink.
func TestExpressionsGolden(t *testing.T) {
	cfg := testConfig()
	cfg.DNS = &LocalDNS{ServiceIP: netip.MustParseAddr("10.43.0.10"), Target: netip.MustParseAddrPort("10.42.1.1:53")}
	web := "default/web"
	table, _ := buildTable(mustFacts(cfg), []*v1.Service{
		service(web, "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeLoadBalancer), withIngress("203.0.113.7"), withETPLocal(), withAffinity(0)),
	}, []*discovery.EndpointSlice{slice(web, "web-a", "http:8080", "10.42.1.5", "10.42.2.7@node-2")})
	golden(t, filepath.Join("testdata", "expressions.golden"), exprDump(table))
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

// exprDump renders every rule's expressions, one per line.
func exprDump(t tableSpec) string {
	var b strings.Builder
	anon := 0
	anonMap := func(elems []nftables.SetElement) *nftables.Set {
		anon++
		return &nftables.Set{Name: fmt.Sprintf("__map%d", anon-1), ID: uint32(anon)}
	}
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "%s: %s\n", c.Name, r)
			for _, e := range r.exprs(anonMap) {
				fmt.Fprintf(&b, "  [ %s ]\n", strings.TrimPrefix(fmt.Sprintf("%T %+v", e, e), "*expr."))
			}
		}
	}
	return b.String()
}
