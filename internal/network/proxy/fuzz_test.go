package proxy

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// FuzzBuildTable feeds Services and EndpointSlices with arbitrary addresses and ports to the
// rule builder: it must not panic, and every element it decides must be of its set's family.
func FuzzBuildTable(f *testing.F) {
	f.Add("10.43.0.20", "http:80>30080", "198.51.100.4", "10.42.1.5 10.42.1.6@node-2!t", "http:8080")
	f.Add("fd00:43::1", "53/UDP", "", "fd00:42::5", "53/UDP")
	f.Add("10.43.0.x", "x:0/FOO", "::ffff:1.2.3.4", "1.2.3.4.5", ":99999")
	f.Fuzz(func(t *testing.T, clusterIP, ports, externalIP, eps, slicePorts string) {
		cfg := testConfig()
		svc := service("default/fuzz", clusterIP, ports, withType(v1.ServiceTypeLoadBalancer), withExternalIPs(externalIP), withIngress(externalIP), withAffinity(0))
		svc.Spec.ClusterIPs = strings.Fields(clusterIP)
		es := slice("default/fuzz", "fuzz-a", slicePorts, strings.Fields(eps)...)
		for _, at := range []discovery.AddressType{discovery.AddressTypeIPv4, discovery.AddressTypeIPv6} {
			es.AddressType = at
			table, _ := buildTable(mustFacts(cfg), []*v1.Service{svc}, []*discovery.EndpointSlice{es})
			for _, s := range table.Sets {
				for _, e := range s.Elems {
					if (s.Key == keyAddr || s.Key == keyAddrProtoPort) && familyOf(e.Key.Addr) != s.Fam {
						t.Fatalf("set %s (%s) holds %s", s.Name, s.Fam, e.Key)
					}
				}
			}
			_ = table.String()
		}
	})
}
