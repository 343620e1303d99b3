package dns

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

const (
	// recordTTL is the TTL of every record the server answers from the cluster, CoreDNS's
	// default; also the SOA's minimum, so that clients cache a negative answer as long.
	recordTTL = 5
	// versionTTL is the TTL of the dns-version TXT record, as CoreDNS.
	versionTTL = 28800
	// schemaVersion is the version of the Kubernetes DNS specification served.
	schemaVersion = "1.1.0"
	// maxChase bounds the CNAMEs followed inside the cluster domain for one question.
	maxChase = 8
)

// zone is the cluster domain and what answers need besides the view.
type zone struct {
	// name is the cluster domain, lower case and fully qualified: "cluster.local.".
	name string
	// nameservers are the addresses of ns.dns.<name>.
	nameservers []netip.Addr
}

// answer decides the reply to q from the cluster's state in v. ok is false when the name
// is not the server's to answer: outside the cluster domain, or a reverse name that is not
// a ClusterIP or an endpoint address, or any other type than PTR under a reverse zone.
// Those are forwarded. Otherwise m holds the reply's rcode, the authoritative bit and its
// answer, authority and additional sections; the caller adds the header and question.
//
// Names are matched without regard to case; records are owned by the name as asked. A
// name with no record of the type asked gets NODATA (NOERROR, no answer) and a name that
// does not exist NXDOMAIN, both with the cluster domain's SOA in the authority section. A
// CNAME (an ExternalName Service) is followed while its target is inside the cluster
// domain; one that leaves it ends the answer, and the caller resolves the rest.
func (z *zone) answer(q dns.Question, v view) (m *dns.Msg, ok bool) {
	qname := strings.ToLower(q.Name)
	if isReverseZone(qname) {
		if q.Qtype != dns.TypePTR {
			return nil, false
		}
		ip, ok := parseReverse(qname)
		if !ok {
			return nil, false
		}
		names := z.ptrNames(ip, v)
		if len(names) == 0 {
			return nil, false
		}
		m = &dns.Msg{}
		m.Authoritative = true
		for _, n := range names {
			m.Answer = append(m.Answer, &dns.PTR{Hdr: header(q.Name, dns.TypePTR, recordTTL), Ptr: n})
		}
		return m, true
	}
	if !dns.IsSubDomain(z.name, qname) {
		return nil, false
	}
	m = &dns.Msg{}
	m.Authoritative = true
	z.resolve(m, q.Name, q.Qtype, v, 0)
	return m, true
}

// resolve adds to m the records of owner (a name inside the zone) of type qtype, following
// CNAMEs inside the zone, and sets m's rcode.
func (z *zone) resolve(m *dns.Msg, owner string, qtype uint16, v view, depth int) {
	n := parseClusterName(strings.ToLower(owner), z.name)
	var rrs, extra []dns.RR
	exists := true
	switch n.kind {
	case nameNone:
		exists = false
	case nameApex:
		rrs, extra = z.apex(owner, qtype, v)
	case nameEmpty, namePodNamespace:
	case nameDNSVersion:
		if qtype == dns.TypeTXT {
			rrs = []dns.RR{&dns.TXT{Hdr: header(owner, dns.TypeTXT, versionTTL), Txt: []string{schemaVersion}}}
		}
	case nameNameserver:
		rrs = addressRecords(owner, qtype, z.nameservers)
	case nameNamespace:
		exists = v.hasNamespace(n.namespace)
	case namePod:
		rrs = addressRecords(owner, qtype, []netip.Addr{n.podIP})
	case nameService:
		targets := findTargets(v, z.name, n)
		if len(targets) == 0 {
			exists = false
			break
		}
		rrs, extra = renderTargets(owner, qtype, targets)
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{z.soa(v)}
		return
	}
	m.Answer = append(m.Answer, rrs...)
	m.Extra = append(m.Extra, extra...)
	if len(rrs) == 0 {
		m.Ns = []dns.RR{z.soa(v)}
		return
	}
	c, ok := rrs[len(rrs)-1].(*dns.CNAME)
	if !ok || qtype == dns.TypeCNAME || !dns.IsSubDomain(z.name, strings.ToLower(c.Target)) {
		return
	}
	if depth == maxChase {
		m.Rcode = dns.RcodeServerFailure
		return
	}
	z.resolve(m, c.Target, qtype, v, depth+1)
}

// apex returns the records of the cluster domain itself: its SOA, and its NS with the
// nameservers' addresses as glue.
func (z *zone) apex(owner string, qtype uint16, v view) (rrs, extra []dns.RR) {
	switch qtype {
	case dns.TypeSOA:
		soa := z.soa(v)
		soa.Header().Name = owner
		return []dns.RR{soa}, nil
	case dns.TypeNS:
		ns := "ns.dns." + z.name
		rrs = []dns.RR{&dns.NS{Hdr: header(owner, dns.TypeNS, recordTTL), Ns: ns}}
		extra = append(addressRecords(ns, dns.TypeA, z.nameservers), addressRecords(ns, dns.TypeAAAA, z.nameservers)...)
		return rrs, extra
	}
	return nil, nil
}

// soa returns the cluster domain's SOA record, with CoreDNS's values.
func (z *zone) soa(v view) dns.RR {
	return &dns.SOA{
		Hdr:     header(z.name, dns.TypeSOA, recordTTL),
		Ns:      "ns.dns." + z.name,
		Mbox:    "hostmaster." + z.name,
		Serial:  v.serial(),
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  recordTTL,
	}
}

// target is one thing a Service name resolves to, like CoreDNS's msg.Service: an address
// with a port and the name that owns the address, or, for an ExternalName Service, a
// CNAME target.
type target struct {
	// name is the name that owns addr, fully qualified and lower case: the SRV target.
	name string
	addr netip.Addr
	// port is the port, or -1 when there is none (an EndpointSlice without ports).
	port int32
	// cname is the fully qualified externalName of an ExternalName Service; the other
	// fields are then unset.
	cname string
}

// findTargets returns what the Service name n stands for; none when the name does not
// exist. As in CoreDNS:
//   - an ExternalName Service is a CNAME to its externalName (its name only: an endpoint or
//     port name under it does not exist);
//   - a headless Service, and an endpoint name of any Service, stand for the endpoints'
//     addresses: ready ones (ready unset counts as ready), and not-ready ones too if the
//     Service publishes not-ready addresses; each endpoint owns hostname.svc.ns.svc.zone,
//     hostname being the endpoint's or its address with dashes;
//   - any other Service stands for its ClusterIPs, owned by svc.ns.svc.zone;
//   - a port name (_port._proto) restricts those to the named port and protocol, matched
//     without regard to case; a name whose port matches nothing does not exist, and nor
//     does a headless Service without ready endpoints.
func findTargets(v view, zoneName string, n clusterName) []target {
	svc := v.service(n.namespace, n.service)
	if svc == nil {
		return nil
	}
	base := n.service + "." + n.namespace + ".svc." + zoneName
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if n.endpoint != "" || n.port != "" || svc.Spec.ExternalName == "" {
			return nil
		}
		return []target{{cname: dns.Fqdn(svc.Spec.ExternalName)}}
	}
	ips := clusterIPs(svc)
	if n.endpoint != "" || ips == nil {
		if svc.Spec.ClusterIP != corev1.ClusterIPNone && n.endpoint == "" {
			return nil // a Service without a ClusterIP yet
		}
		return endpointTargets(v.endpointSlices(n.namespace, n.service), svc.Spec.PublishNotReadyAddresses, base, n)
	}
	var ts []target
	for _, p := range svc.Spec.Ports {
		if !matchPort(n, p.Name, string(p.Protocol)) {
			continue
		}
		for _, s := range ips {
			if a, err := netip.ParseAddr(s); err == nil {
				ts = append(ts, target{name: base, addr: a.Unmap(), port: p.Port})
			}
		}
	}
	return ts
}

// endpointTargets returns the targets of the endpoints in slices that n selects.
func endpointTargets(slices []*discoveryv1.EndpointSlice, publishNotReady bool, base string, n clusterName) []target {
	var ts []target
	for _, s := range slices {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		for _, ep := range s.Endpoints {
			if !publishNotReady && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			hostname := ""
			if ep.Hostname != nil {
				hostname = *ep.Hostname
			}
			for _, as := range ep.Addresses {
				a, err := netip.ParseAddr(as)
				if err != nil {
					continue
				}
				a = a.Unmap()
				label := endpointHostname(hostname, a)
				if n.endpoint != "" && n.endpoint != label {
					continue
				}
				name := label + "." + base
				if len(s.Ports) == 0 {
					if n.port == "" {
						ts = append(ts, target{name: name, addr: a, port: -1})
					}
					continue
				}
				for _, p := range s.Ports {
					name2, proto, port := "", "TCP", int32(-1)
					if p.Name != nil {
						name2 = *p.Name
					}
					if p.Protocol != nil {
						proto = string(*p.Protocol)
					}
					if p.Port != nil {
						port = *p.Port
					}
					if matchPort(n, name2, proto) {
						ts = append(ts, target{name: name, addr: a, port: port})
					}
				}
			}
		}
	}
	return ts
}

// matchPort reports whether a port named name with protocol proto is one that n selects:
// any when n names no port.
func matchPort(n clusterName, name, proto string) bool {
	if n.port == "" {
		return true
	}
	return strings.EqualFold(n.port, name) && strings.EqualFold(n.protocol, proto)
}

// renderTargets turns targets into the records of type qtype owned by owner: A or AAAA
// records of their addresses, SRV records of their ports with the targets' address records
// as additional data, or the CNAME of an ExternalName Service whatever the type.
func renderTargets(owner string, qtype uint16, ts []target) (rrs, extra []dns.RR) {
	if ts[0].cname != "" {
		return []dns.RR{&dns.CNAME{Hdr: header(owner, dns.TypeCNAME, recordTTL), Target: ts[0].cname}}, nil
	}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		addrs := make([]netip.Addr, len(ts))
		for i, t := range ts {
			addrs[i] = t.addr
		}
		return addressRecords(owner, qtype, addrs), nil
	case dns.TypeSRV:
		return srvRecords(owner, ts)
	}
	return nil, nil
}

// srvRecords returns one SRV record per distinct target name and port (ports -1 have
// none), ordered by target and port, priority 0 and the weight 100 split evenly as CoreDNS
// does, with the address records of each target name as additional data.
func srvRecords(owner string, ts []target) (rrs, extra []dns.RR) {
	type srvKey struct {
		name string
		port int32
	}
	var keys []srvKey
	addrs := map[string][]netip.Addr{}
	for _, t := range ts {
		if t.port < 0 {
			continue
		}
		if k := (srvKey{t.name, t.port}); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		if !slices.Contains(addrs[t.name], t.addr) {
			addrs[t.name] = append(addrs[t.name], t.addr)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	slices.SortFunc(keys, func(a, b srvKey) int {
		return cmp.Or(strings.Compare(a.name, b.name), cmp.Compare(a.port, b.port))
	})
	weight := uint16(max(100/len(keys), 1))
	var names []string
	for _, k := range keys {
		rrs = append(rrs, &dns.SRV{Hdr: header(owner, dns.TypeSRV, recordTTL), Priority: 0, Weight: weight, Port: uint16(k.port), Target: k.name})
		if !slices.Contains(names, k.name) {
			names = append(names, k.name)
		}
	}
	for _, name := range names {
		extra = append(extra, addressRecords(name, dns.TypeA, addrs[name])...)
		extra = append(extra, addressRecords(name, dns.TypeAAAA, addrs[name])...)
	}
	return rrs, extra
}

// addressRecords returns the A (qtype A) or AAAA (qtype AAAA) records of the addresses of
// that family among addrs, each once, in address order; none for other types.
func addressRecords(owner string, qtype uint16, addrs []netip.Addr) []dns.RR {
	if qtype != dns.TypeA && qtype != dns.TypeAAAA {
		return nil
	}
	var keep []netip.Addr
	for _, a := range addrs {
		if a.Is4() == (qtype == dns.TypeA) && !slices.Contains(keep, a) {
			keep = append(keep, a)
		}
	}
	slices.SortFunc(keep, netip.Addr.Compare)
	rrs := make([]dns.RR, len(keep))
	for i, a := range keep {
		if qtype == dns.TypeA {
			rrs[i] = &dns.A{Hdr: header(owner, dns.TypeA, recordTTL), A: a.AsSlice()}
		} else {
			rrs[i] = &dns.AAAA{Hdr: header(owner, dns.TypeAAAA, recordTTL), AAAA: a.AsSlice()}
		}
	}
	return rrs
}

// ptrNames returns the names ip has in the cluster: the name of the Service that has it as
// a ClusterIP (the first by namespace and name if several do), else the names of the
// endpoints with that address, of any Service (ready ones, or not-ready ones of a Service
// that publishes them), as CoreDNS answers.
func (z *zone) ptrNames(ip netip.Addr, v view) []string {
	if svcs := v.servicesByIP(ip); len(svcs) > 0 {
		s := slices.MinFunc(svcs, func(a, b *corev1.Service) int {
			return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
		})
		return []string{s.Name + "." + s.Namespace + ".svc." + z.name}
	}
	var names []string
	for _, s := range v.endpointSlicesByIP(ip) {
		svcName := s.Labels[discoveryv1.LabelServiceName]
		if svcName == "" {
			continue
		}
		publish := false
		if svc := v.service(s.Namespace, svcName); svc != nil {
			publish = svc.Spec.PublishNotReadyAddresses
		}
		n := clusterName{kind: nameService, namespace: s.Namespace, service: svcName}
		for _, t := range endpointTargets([]*discoveryv1.EndpointSlice{s}, publish, svcName+"."+s.Namespace+".svc."+z.name, n) {
			if t.addr == ip && !slices.Contains(names, t.name) {
				names = append(names, t.name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// header returns an IN record header.
func header(name string, rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}
