package proxy

import (
	"net/netip"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Fixtures: Services and EndpointSlices written the way the API server and the
// EndpointSlice controller write them.

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{
		NodeName:     "node-1",
		NodeIPs:      []netip.Addr{netip.MustParseAddr("192.168.1.10")},
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.43.0.0/16")},
	}
}

func mustFacts(cfg Config) *nodeFacts {
	n, err := parseConfig(cfg)
	if err != nil {
		panic(err)
	}
	return n
}

type svcOpt func(*v1.Service)

// service returns a ClusterIP Service "ns/name" with the given ClusterIP and ports written
// as "name:80/TCP" (name optional, protocol optional).
func service(key, clusterIP string, ports string, opts ...svcOpt) *v1.Service {
	ns, name, _ := strings.Cut(key, "/")
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(epoch)},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeClusterIP, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP}},
	}
	if clusterIP == "" {
		svc.Spec.ClusterIPs = nil
	}
	for _, p := range strings.Fields(ports) {
		svc.Spec.Ports = append(svc.Spec.Ports, parsePort(p))
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

// parsePort parses "name:80/TCP" or "80" or "name:80/UDP>30080" (a NodePort).
func parsePort(s string) v1.ServicePort {
	var p v1.ServicePort
	if name, rest, ok := strings.Cut(s, ":"); ok {
		p.Name, s = name, rest
	}
	if rest, np, ok := strings.Cut(s, ">"); ok {
		p.NodePort = int32(atoi(np))
		s = rest
	}
	p.Protocol = v1.ProtocolTCP
	if port, proto, ok := strings.Cut(s, "/"); ok {
		p.Protocol = v1.Protocol(proto)
		s = port
	}
	p.Port = int32(atoi(s))
	return p
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func withType(t v1.ServiceType) svcOpt { return func(s *v1.Service) { s.Spec.Type = t } }

func withAffinity(seconds int32) svcOpt {
	return func(s *v1.Service) {
		s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		if seconds > 0 {
			s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &seconds}}
		}
	}
}

func withExternalIPs(ips ...string) svcOpt { return func(s *v1.Service) { s.Spec.ExternalIPs = ips } }

func withIngress(ips ...string) svcOpt {
	return func(s *v1.Service) {
		for _, ip := range ips {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{IP: ip, IPMode: ptr.To(v1.LoadBalancerIPModeVIP)})
		}
	}
}

func withETPLocal() svcOpt {
	return func(s *v1.Service) { s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal }
}

func withITPLocal() svcOpt {
	return func(s *v1.Service) { s.Spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal) }
}

func createdAt(d time.Duration) svcOpt {
	return func(s *v1.Service) { s.CreationTimestamp = metav1.NewTime(epoch.Add(d)) }
}

// ep is an endpoint of a fixture slice: "10.42.1.5" ready on node-1; suffixes after "@"
// name the node, and flags after "!" say not-ready (n), terminating-and-serving (t) or
// terminating-not-serving (x).
func ep(s string) discovery.Endpoint {
	addr, flags, _ := strings.Cut(s, "!")
	addr, node, ok := strings.Cut(addr, "@")
	if !ok {
		node = "node-1"
	}
	e := discovery.Endpoint{Addresses: []string{addr}, NodeName: ptr.To(node)}
	switch flags {
	case "":
		e.Conditions = discovery.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}
	case "n":
		e.Conditions = discovery.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(false), Terminating: ptr.To(false)}
	case "t":
		e.Conditions = discovery.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}
	case "x":
		e.Conditions = discovery.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(false), Terminating: ptr.To(true)}
	}
	return e
}

// slice returns an IPv4 EndpointSlice of service "ns/name" with ports like "name:8080/TCP"
// and endpoints as ep parses them.
func slice(key, sliceName, ports string, eps ...string) *discovery.EndpointSlice {
	ns, name, _ := strings.Cut(key, "/")
	s := &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sliceName,
			Labels: map[string]string{discovery.LabelServiceName: name}},
		AddressType: discovery.AddressTypeIPv4,
	}
	for _, p := range strings.Fields(ports) {
		sp := parsePort(p)
		s.Ports = append(s.Ports, discovery.EndpointPort{Name: ptr.To(sp.Name), Port: ptr.To(sp.Port), Protocol: ptr.To(sp.Protocol)})
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, ep(e))
	}
	return s
}
