package proxy

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// family is an IP family. The table is of family inet and holds the maps and chains of each
// family the node uses, named with the family's suffix.
type family int

const (
	ipv4 family = iota
	ipv6
)

// families lists every family, IPv4 first.
var families = []family{ipv4, ipv6}

func familyOf(a netip.Addr) family {
	if a.Is4() {
		return ipv4
	}
	return ipv6
}

// String is the family's nft keyword: "ip" or "ip6".
func (f family) String() string {
	if f == ipv6 {
		return "ip6"
	}
	return "ip"
}

// suffix is what the names of the family's maps and chains end with.
func (f family) suffix() string {
	if f == ipv6 {
		return "v6"
	}
	return "v4"
}

// nodeFacts is what the rules depend on besides Services and EndpointSlices: the parsed
// Config.
type nodeFacts struct {
	table        string
	node         string
	nodeIPs      []netip.Addr
	clusterCIDRs []netip.Prefix
	serviceCIDRs []netip.Prefix
	dns          *LocalDNS
	families     []family // the families the table has maps and chains for
}

// hasFamily reports whether the table handles f.
func (n *nodeFacts) hasFamily(f family) bool { return slices.Contains(n.families, f) }

// protocol numbers, as meta l4proto loads them.
const (
	protoTCP  uint8 = 6
	protoUDP  uint8 = 17
	protoSCTP uint8 = 132
)

func protoNumber(p v1.Protocol) (uint8, bool) {
	switch p {
	case v1.ProtocolTCP, "":
		return protoTCP, true
	case v1.ProtocolUDP:
		return protoUDP, true
	case v1.ProtocolSCTP:
		return protoSCTP, true
	}
	return 0, false
}

func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoSCTP:
		return "sctp"
	}
	return fmt.Sprint(p)
}

// defaultAffinityTimeout is the ClientIP affinity timeout when the Service gives none
// (Kubernetes' default, 3 hours).
const defaultAffinityTimeout = 10800 * time.Second

// servicePort is one port of one Service in one family: what its rules are built from.
type servicePort struct {
	svc       string // namespace/name
	name      string // namespace/name/proto/portname, the readable part of chain names
	portName  string
	fam       family
	proto     uint8
	port      uint16
	nodePort  uint16
	clusterIP netip.Addr
	external  []netip.Addr // externalIPs and load-balancer ingress IPs of the family
	affinity  time.Duration
	// externalLocal and internalLocal are externalTrafficPolicy and internalTrafficPolicy Local.
	externalLocal, internalLocal bool
}

// endpoint is one address and port that a servicePort may forward to.
type endpoint struct {
	addr                        netip.Addr
	port                        uint16
	local                       bool // on this node
	ready, serving, terminating bool
}

func (e endpoint) String() string { return netip.AddrPortFrom(e.addr, e.port).String() }

// serviceKey returns "namespace/name".
func serviceKey(namespace, name string) string { return namespace + "/" + name }

// servicePorts turns a Service into its ports, one per port and family, and the reasons it
// skipped parts of it. Headless and ExternalName Services have none. A Service whose
// ClusterIP is not valid or lies outside every service CIDR has none either: its rules
// would capture traffic the node did not ask for.
func servicePorts(n *nodeFacts, svc *v1.Service) (ports []servicePort, warnings []string) {
	key := serviceKey(svc.Namespace, svc.Name)
	if svc.Spec.Type == v1.ServiceTypeExternalName {
		return nil, nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	if len(ips) == 0 || ips[0] == v1.ClusterIPNone {
		return nil, nil
	}
	var clusterIPs []netip.Addr
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			warnings = append(warnings, fmt.Sprintf("service %s: clusterIP %q is not an IP address; skipping the service", key, s))
			return nil, warnings
		}
		if !inAny(n.serviceCIDRs, a) {
			warnings = append(warnings, fmt.Sprintf("service %s: clusterIP %s is outside the service CIDRs %v; skipping the service", key, a, n.serviceCIDRs))
			return nil, warnings
		}
		if !n.hasFamily(familyOf(a)) {
			continue
		}
		clusterIPs = append(clusterIPs, a)
	}
	var external []netip.Addr
	for _, s := range svc.Spec.ExternalIPs {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			warnings = append(warnings, fmt.Sprintf("service %s: externalIP %q is not an IP address; ignoring it", key, s))
			continue
		}
		external = append(external, a.Unmap())
	}
	if svc.Spec.Type == v1.ServiceTypeLoadBalancer {
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP == "" {
				continue
			}
			if ing.IPMode != nil && *ing.IPMode == v1.LoadBalancerIPModeProxy {
				continue // the load balancer proxies: its traffic arrives for the nodes themselves
			}
			a, err := netip.ParseAddr(ing.IP)
			if err != nil || a.Zone() != "" {
				warnings = append(warnings, fmt.Sprintf("service %s: load-balancer ingress IP %q is not an IP address; ignoring it", key, ing.IP))
				continue
			}
			external = append(external, a.Unmap())
		}
	}
	slices.SortFunc(external, netip.Addr.Compare)
	external = slices.Compact(external)

	affinity := time.Duration(0)
	if svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
		affinity = defaultAffinityTimeout
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil && *c.ClientIP.TimeoutSeconds > 0 {
			affinity = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	externalLocal := svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal &&
		(svc.Spec.Type == v1.ServiceTypeNodePort || svc.Spec.Type == v1.ServiceTypeLoadBalancer)
	internalLocal := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == v1.ServiceInternalTrafficPolicyLocal

	for _, cip := range clusterIPs {
		fam := familyOf(cip)
		for _, p := range svc.Spec.Ports {
			proto, ok := protoNumber(p.Protocol)
			if !ok {
				warnings = append(warnings, fmt.Sprintf("service %s: port %q: protocol %q is not supported; ignoring the port", key, p.Name, p.Protocol))
				continue
			}
			if p.Port <= 0 || p.Port > 65535 {
				warnings = append(warnings, fmt.Sprintf("service %s: port %q: %d is not a port number; ignoring the port", key, p.Name, p.Port))
				continue
			}
			sp := servicePort{
				svc: key, name: fmt.Sprintf("%s/%s/%s", key, protoName(proto), p.Name), portName: p.Name,
				fam: fam, proto: proto, port: uint16(p.Port), clusterIP: cip,
				affinity: affinity, externalLocal: externalLocal, internalLocal: internalLocal,
			}
			if (svc.Spec.Type == v1.ServiceTypeNodePort || svc.Spec.Type == v1.ServiceTypeLoadBalancer) && p.NodePort > 0 && p.NodePort <= 65535 {
				sp.nodePort = uint16(p.NodePort)
			}
			for _, a := range external {
				if familyOf(a) == fam {
					sp.external = append(sp.external, a)
				}
			}
			ports = append(ports, sp)
		}
	}
	return ports, warnings
}

// inAny reports whether a lies in one of prefixes; with no prefixes at all, every address
// does.
func inAny(prefixes []netip.Prefix, a netip.Addr) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// endpointsFor returns the endpoints of sp from the Service's EndpointSlices: those of the
// port's family whose slice port has the service port's name and protocol, deduplicated by
// address and port (an endpoint may be in two slices while they are rewritten), sorted by
// address. Malformed addresses are skipped with a warning.
func endpointsFor(n *nodeFacts, sp servicePort, svcSlices []*discovery.EndpointSlice) (eps []endpoint, warnings []string) {
	want := discovery.AddressTypeIPv4
	if sp.fam == ipv6 {
		want = discovery.AddressTypeIPv6
	}
	seen := map[netip.AddrPort]int{}
	for _, s := range svcSlices {
		if s.AddressType != want {
			continue
		}
		port, ok := slicePort(s, sp.portName, sp.proto)
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			for _, as := range e.Addresses {
				a, err := netip.ParseAddr(as)
				if err != nil || a.Zone() != "" || familyOf(a.Unmap()) != sp.fam || a.IsUnspecified() || a.IsMulticast() {
					warnings = append(warnings, fmt.Sprintf("endpointslice %s/%s: address %q is not a usable %s address; ignoring it", s.Namespace, s.Name, as, want))
					continue
				}
				a = a.Unmap()
				ep := endpoint{
					addr: a, port: port,
					local: e.NodeName != nil && *e.NodeName == n.node,
				}
				ep.ready = e.Conditions.Ready == nil || *e.Conditions.Ready
				ep.serving = ep.ready
				if e.Conditions.Serving != nil {
					ep.serving = *e.Conditions.Serving
				}
				ep.terminating = e.Conditions.Terminating != nil && *e.Conditions.Terminating
				ap := netip.AddrPortFrom(a, port)
				if i, dup := seen[ap]; dup {
					// The same endpoint in two slices: keep the readier view.
					if ep.ready && !eps[i].ready {
						eps[i] = ep
					}
					continue
				}
				seen[ap] = len(eps)
				eps = append(eps, ep)
			}
		}
	}
	slices.SortFunc(eps, func(a, b endpoint) int {
		return cmp.Or(a.addr.Compare(b.addr), cmp.Compare(a.port, b.port))
	})
	return eps, warnings
}

// slicePort returns the port number of the slice's port with the given name and protocol.
func slicePort(s *discovery.EndpointSlice, name string, proto uint8) (uint16, bool) {
	for _, p := range s.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		pp := v1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if n, ok := protoNumber(pp); !ok || n != proto || pn != name || p.Port == nil {
			continue
		}
		if *p.Port <= 0 || *p.Port > 65535 {
			return 0, false
		}
		return uint16(*p.Port), true
	}
	return 0, false
}

// usable returns the endpoints traffic may go to, as kube-proxy chooses them: the ready
// ones, or if none is ready, those still serving while they terminate.
func usable(eps []endpoint) []endpoint {
	var ready, terminating []endpoint
	for _, e := range eps {
		switch {
		case e.ready:
			ready = append(ready, e)
		case e.serving && e.terminating:
			terminating = append(terminating, e)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return terminating
}

// localOnly returns the endpoints of eps on this node.
func localOnly(eps []endpoint) []endpoint {
	var out []endpoint
	for _, e := range eps {
		if e.local {
			out = append(out, e)
		}
	}
	return out
}

// sliceService returns the key of the Service an EndpointSlice belongs to, from its
// kubernetes.io/service-name label, or "" if it has none.
func sliceService(s *discovery.EndpointSlice) string {
	name := s.Labels[discovery.LabelServiceName]
	if name == "" {
		return ""
	}
	return serviceKey(s.Namespace, name)
}
