package dns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// testCluster is the cluster the answer tests ask about.
func testCluster() []runtime.Object {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	pg := []discoveryv1.EndpointPort{slicePort("pg", tcp, 5432)}
	return []runtime.Object{
		clusterIPService("default", "web", []string{"10.43.0.10"}, port("http", tcp, 80), port("dns", udp, 53)),
		endpointSlice("default", "web-1", "web", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{slicePort("http", tcp, 8080)}, endpoint("10.42.0.20", "", "true")),
		clusterIPService("default", "dual", []string{"10.43.0.11", "fd00:43::11"}, port("https", tcp, 443)),
		clusterIPService("default", "unnamed", []string{"10.43.0.12"}, port("", tcp, 8000)),

		headlessService("data", "db", false, port("pg", tcp, 5432)),
		endpointSlice("data", "db-v4", "db", discoveryv1.AddressTypeIPv4, pg,
			endpoint("10.42.0.5", "db-0", "true"),
			endpoint("10.42.0.6", "db-1", "false"),
			endpoint("10.42.0.7", "", "")),
		endpointSlice("data", "db-v6", "db", discoveryv1.AddressTypeIPv6, pg,
			endpoint("fd00:42::7", "", "true"),
			endpoint("fd00:42::", "", "true")),
		endpointSlice("data", "db-fqdn", "db", discoveryv1.AddressTypeFQDN, pg,
			endpoint("db.example.com", "", "true")),

		headlessService("data", "pub", true, port("pg", tcp, 5432)),
		endpointSlice("data", "pub-1", "pub", discoveryv1.AddressTypeIPv4, pg, endpoint("10.42.1.5", "pub-0", "false")),

		headlessService("data", "empty", false, port("pg", tcp, 5432)),
		endpointSlice("data", "empty-1", "empty", discoveryv1.AddressTypeIPv4, pg, endpoint("10.42.1.9", "", "false")),

		headlessService("data", "noports", false),
		endpointSlice("data", "noports-1", "noports", discoveryv1.AddressTypeIPv4, nil, endpoint("10.42.2.1", "", "true")),

		externalNameService("default", "ext", "example.com"),
		externalNameService("default", "alias", "web.default.svc.cluster.local"),
		externalNameService("default", "dangling", "gone.default.svc.cluster.local."),
		externalNameService("default", "loop1", "loop2.default.svc.cluster.local"),
		externalNameService("default", "loop2", "loop1.default.svc.cluster.local"),
	}
}

const soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5"

func TestAnswer(t *testing.T) {
	z := &zone{name: "cluster.local.", nameservers: []netip.Addr{netip.MustParseAddr("10.43.0.2")}}
	v := newTestView(t, testCluster()...)
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		forward bool // not the cluster's: answer says ok=false
		rcode   int
		answer  []string
		extra   []string
		soa     bool // the SOA in the authority section
	}{
		// ClusterIP Services.
		{name: "service A", qname: "web.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"web.default.svc.cluster.local. 5 IN A 10.43.0.10"}},
		{name: "case is ignored, owner as asked", qname: "WEB.Default.SVC.Cluster.Local.", qtype: dns.TypeA,
			answer: []string{"WEB.Default.SVC.Cluster.Local. 5 IN A 10.43.0.10"}},
		{name: "service AAAA of an IPv4 service is NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeAAAA, soa: true},
		{name: "service MX is NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeMX, soa: true},
		{name: "service TXT is NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeTXT, soa: true},
		{name: "unknown service", qname: "nope.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "unknown service AAAA", qname: "nope.default.svc.cluster.local.", qtype: dns.TypeAAAA, rcode: dns.RcodeNameError, soa: true},
		{name: "dual-stack A", qname: "dual.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"dual.default.svc.cluster.local. 5 IN A 10.43.0.11"}},
		{name: "dual-stack AAAA", qname: "dual.default.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"dual.default.svc.cluster.local. 5 IN AAAA fd00:43::11"}},
		{name: "endpoint of a ClusterIP service", qname: "10-42-0-20.web.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-42-0-20.web.default.svc.cluster.local. 5 IN A 10.42.0.20"}},

		// SRV.
		{name: "SRV of a named port", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. 5 IN A 10.43.0.10"}},
		{name: "SRV port and protocol ignore case", qname: "_HTTP._Tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_HTTP._Tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. 5 IN A 10.43.0.10"}},
		{name: "SRV of a UDP port", qname: "_dns._udp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_dns._udp.web.default.svc.cluster.local. 5 IN SRV 0 100 53 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. 5 IN A 10.43.0.10"}},
		{name: "SRV with the wrong protocol", qname: "_http._udp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, soa: true},
		{name: "SRV of an unknown port", qname: "_ftp._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, soa: true},
		{name: "port labels need underscores", qname: "http.tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, soa: true},
		{name: "A at a named port", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"_http._tcp.web.default.svc.cluster.local. 5 IN A 10.43.0.10"}},
		{name: "SRV at the service name: every port", qname: "web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{
				"web.default.svc.cluster.local. 5 IN SRV 0 50 53 web.default.svc.cluster.local.",
				"web.default.svc.cluster.local. 5 IN SRV 0 50 80 web.default.svc.cluster.local.",
			},
			extra: []string{"web.default.svc.cluster.local. 5 IN A 10.43.0.10"}},
		{name: "SRV at an unnamed port's service", qname: "unnamed.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"unnamed.default.svc.cluster.local. 5 IN SRV 0 100 8000 unnamed.default.svc.cluster.local."},
			extra:  []string{"unnamed.default.svc.cluster.local. 5 IN A 10.43.0.12"}},
		{name: "SRV of a dual-stack service", qname: "_https._tcp.dual.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_https._tcp.dual.default.svc.cluster.local. 5 IN SRV 0 100 443 dual.default.svc.cluster.local."},
			extra: []string{"dual.default.svc.cluster.local. 5 IN A 10.43.0.11",
				"dual.default.svc.cluster.local. 5 IN AAAA fd00:43::11"}},
		{name: "too many labels", qname: "a._http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, soa: true},

		// Headless Services.
		{name: "headless A: ready endpoints only", qname: "db.data.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"db.data.svc.cluster.local. 5 IN A 10.42.0.5", "db.data.svc.cluster.local. 5 IN A 10.42.0.7"}},
		{name: "headless AAAA", qname: "db.data.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"db.data.svc.cluster.local. 5 IN AAAA fd00:42::", "db.data.svc.cluster.local. 5 IN AAAA fd00:42::7"}},
		{name: "headless publishNotReadyAddresses", qname: "pub.data.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"pub.data.svc.cluster.local. 5 IN A 10.42.1.5"}},
		{name: "headless without ready endpoints does not exist", qname: "empty.data.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, soa: true},
		{name: "hostname of a ready endpoint", qname: "db-0.db.data.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"db-0.db.data.svc.cluster.local. 5 IN A 10.42.0.5"}},
		{name: "hostname of a ready endpoint, AAAA", qname: "db-0.db.data.svc.cluster.local.", qtype: dns.TypeAAAA, soa: true},
		{name: "hostname of a not-ready endpoint", qname: "db-1.db.data.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, soa: true},
		{name: "not-ready hostname published", qname: "pub-0.pub.data.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"pub-0.pub.data.svc.cluster.local. 5 IN A 10.42.1.5"}},
		{name: "endpoint without hostname, by address", qname: "10-42-0-7.db.data.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-42-0-7.db.data.svc.cluster.local. 5 IN A 10.42.0.7"}},
		{name: "IPv6 endpoint by address", qname: "fd00-42--7.db.data.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"fd00-42--7.db.data.svc.cluster.local. 5 IN AAAA fd00:42::7"}},
		{name: "IPv6 endpoint ending in ::", qname: "fd00-42--0.db.data.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"fd00-42--0.db.data.svc.cluster.local. 5 IN AAAA fd00:42::"}},
		{name: "headless SRV: one per endpoint", qname: "_pg._tcp.db.data.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{
				"_pg._tcp.db.data.svc.cluster.local. 5 IN SRV 0 25 5432 10-42-0-7.db.data.svc.cluster.local.",
				"_pg._tcp.db.data.svc.cluster.local. 5 IN SRV 0 25 5432 db-0.db.data.svc.cluster.local.",
				"_pg._tcp.db.data.svc.cluster.local. 5 IN SRV 0 25 5432 fd00-42--0.db.data.svc.cluster.local.",
				"_pg._tcp.db.data.svc.cluster.local. 5 IN SRV 0 25 5432 fd00-42--7.db.data.svc.cluster.local.",
			},
			extra: []string{
				"10-42-0-7.db.data.svc.cluster.local. 5 IN A 10.42.0.7",
				"db-0.db.data.svc.cluster.local. 5 IN A 10.42.0.5",
				"fd00-42--0.db.data.svc.cluster.local. 5 IN AAAA fd00:42::",
				"fd00-42--7.db.data.svc.cluster.local. 5 IN AAAA fd00:42::7",
			}},
		{name: "SRV at a hostname", qname: "db-0.db.data.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"db-0.db.data.svc.cluster.local. 5 IN SRV 0 100 5432 db-0.db.data.svc.cluster.local."},
			extra:  []string{"db-0.db.data.svc.cluster.local. 5 IN A 10.42.0.5"}},
		{name: "headless without ports: A", qname: "noports.data.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"noports.data.svc.cluster.local. 5 IN A 10.42.2.1"}},
		{name: "headless without ports: SRV is NODATA", qname: "noports.data.svc.cluster.local.", qtype: dns.TypeSRV, soa: true},
		{name: "headless without ports: no port names", qname: "_pg._tcp.noports.data.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, soa: true},

		// ExternalName Services.
		{name: "ExternalName: CNAME, the caller follows it", qname: "ext.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"ext.default.svc.cluster.local. 5 IN CNAME example.com."}},
		{name: "ExternalName CNAME question", qname: "ext.default.svc.cluster.local.", qtype: dns.TypeCNAME,
			answer: []string{"ext.default.svc.cluster.local. 5 IN CNAME example.com."}},
		{name: "ExternalName for any type", qname: "ext.default.svc.cluster.local.", qtype: dns.TypeTXT,
			answer: []string{"ext.default.svc.cluster.local. 5 IN CNAME example.com."}},
		{name: "ExternalName has no endpoints", qname: "x.ext.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, soa: true},
		{name: "ExternalName inside the cluster is followed", qname: "alias.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"alias.default.svc.cluster.local. 5 IN CNAME web.default.svc.cluster.local.",
				"web.default.svc.cluster.local. 5 IN A 10.43.0.10"}},
		{name: "ExternalName inside the cluster, NODATA at the target", qname: "alias.default.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"alias.default.svc.cluster.local. 5 IN CNAME web.default.svc.cluster.local."}, soa: true},
		{name: "ExternalName to a missing service", qname: "dangling.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, soa: true,
			answer: []string{"dangling.default.svc.cluster.local. 5 IN CNAME gone.default.svc.cluster.local."}},
		{name: "ExternalName loop", qname: "loop1.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeServerFailure,
			answer: slices.Repeat([]string{"loop1.default.svc.cluster.local. 5 IN CNAME loop2.default.svc.cluster.local.",
				"loop2.default.svc.cluster.local. 5 IN CNAME loop1.default.svc.cluster.local."}, 5)[:9]},

		// Pods.
		{name: "pod A", qname: "10-42-0-9.default.pod.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-42-0-9.default.pod.cluster.local. 5 IN A 10.42.0.9"}},
		{name: "pod in any namespace", qname: "10-42-0-9.anywhere.pod.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-42-0-9.anywhere.pod.cluster.local. 5 IN A 10.42.0.9"}},
		{name: "IPv4 pod AAAA is NODATA", qname: "10-42-0-9.default.pod.cluster.local.", qtype: dns.TypeAAAA, soa: true},
		{name: "IPv6 pod", qname: "fd00-42--9.default.pod.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"fd00-42--9.default.pod.cluster.local. 5 IN AAAA fd00:42::9"}},
		{name: "pod name not an address", qname: "web-7d4.default.pod.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, soa: true},
		{name: "pod address out of range", qname: "10-42-0-300.default.pod.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, soa: true},
		{name: "pod name too long", qname: "x.10-42-0-9.default.pod.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, soa: true},
		{name: "pod namespace", qname: "default.pod.cluster.local.", qtype: dns.TypeA, soa: true},

		// The rest of the zone.
		{name: "namespace with services", qname: "default.svc.cluster.local.", qtype: dns.TypeA, soa: true},
		{name: "namespace without services", qname: "nothing.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, soa: true},
		{name: "svc", qname: "svc.cluster.local.", qtype: dns.TypeA, soa: true},
		{name: "pod", qname: "pod.cluster.local.", qtype: dns.TypeA, soa: true},
		{name: "unknown name in the zone", qname: "foo.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "unknown deep name", qname: "a.b.foo.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "apex SOA", qname: "cluster.local.", qtype: dns.TypeSOA, answer: []string{soa}},
		{name: "apex NS", qname: "cluster.local.", qtype: dns.TypeNS,
			answer: []string{"cluster.local. 5 IN NS ns.dns.cluster.local."},
			extra:  []string{"ns.dns.cluster.local. 5 IN A 10.43.0.2"}},
		{name: "apex A", qname: "cluster.local.", qtype: dns.TypeA, soa: true},
		{name: "nameserver address", qname: "ns.dns.cluster.local.", qtype: dns.TypeA,
			answer: []string{"ns.dns.cluster.local. 5 IN A 10.43.0.2"}},
		{name: "dns.", qname: "dns.cluster.local.", qtype: dns.TypeA, soa: true},
		{name: "dns-version", qname: "dns-version.cluster.local.", qtype: dns.TypeTXT,
			answer: []string{`dns-version.cluster.local. 28800 IN TXT "1.1.0"`}},
		{name: "dns-version A", qname: "dns-version.cluster.local.", qtype: dns.TypeA, soa: true},
		{name: "ANY is NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeANY, soa: true},

		// Reverse names.
		{name: "PTR of a ClusterIP", qname: "10.0.43.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"10.0.43.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."}},
		{name: "PTR of an IPv6 ClusterIP", qname: dnsReverse("fd00:43::11"), qtype: dns.TypePTR,
			answer: []string{dnsReverse("fd00:43::11") + " 5 IN PTR dual.default.svc.cluster.local."}},
		{name: "PTR of a headless endpoint with a hostname", qname: "5.0.42.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"5.0.42.10.in-addr.arpa. 5 IN PTR db-0.db.data.svc.cluster.local."}},
		{name: "PTR of an endpoint without hostname", qname: "7.0.42.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"7.0.42.10.in-addr.arpa. 5 IN PTR 10-42-0-7.db.data.svc.cluster.local."}},
		{name: "PTR of an IPv6 endpoint", qname: dnsReverse("fd00:42::7"), qtype: dns.TypePTR,
			answer: []string{dnsReverse("fd00:42::7") + " 5 IN PTR fd00-42--7.db.data.svc.cluster.local."}},
		{name: "PTR of an endpoint of a ClusterIP service", qname: "20.0.42.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"20.0.42.10.in-addr.arpa. 5 IN PTR 10-42-0-20.web.default.svc.cluster.local."}},
		{name: "PTR of a not-ready endpoint is forwarded", qname: "6.0.42.10.in-addr.arpa.", qtype: dns.TypePTR, forward: true},
		{name: "PTR of a published not-ready endpoint", qname: "5.1.42.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"5.1.42.10.in-addr.arpa. 5 IN PTR pub-0.pub.data.svc.cluster.local."}},
		{name: "PTR of an unknown address is forwarded", qname: "1.1.1.1.in-addr.arpa.", qtype: dns.TypePTR, forward: true},
		{name: "partial reverse name is forwarded", qname: "43.10.in-addr.arpa.", qtype: dns.TypePTR, forward: true},
		{name: "other types under reverse zones are forwarded", qname: "10.0.43.10.in-addr.arpa.", qtype: dns.TypeA, forward: true},

		// Outside the cluster.
		{name: "outside the cluster domain", qname: "example.com.", qtype: dns.TypeA, forward: true},
		{name: "a suffix that is not the zone", qname: "xcluster.local.", qtype: dns.TypeA, forward: true},
		{name: "root", qname: ".", qtype: dns.TypeNS, forward: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := z.answer(dns.Question{Name: tt.qname, Qtype: tt.qtype, Qclass: dns.ClassINET}, v)
			if ok == tt.forward {
				t.Fatalf("answer ok = %t, want %t", ok, !tt.forward)
			}
			if !ok {
				return
			}
			if m.Rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[tt.rcode])
			}
			if !m.Authoritative {
				t.Error("answer is not authoritative")
			}
			if diff := cmp.Diff(tt.answer, rrStrings(m.Answer), emptyIsNil); diff != "" {
				t.Errorf("answer section (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.extra, rrStrings(m.Extra), emptyIsNil); diff != "" {
				t.Errorf("additional section (-want +got):\n%s", diff)
			}
			var wantNs []string
			if tt.soa {
				wantNs = []string{soa}
			}
			if diff := cmp.Diff(wantNs, rrStrings(m.Ns), emptyIsNil); diff != "" {
				t.Errorf("authority section (-want +got):\n%s", diff)
			}
		})
	}
}

var emptyIsNil = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func dnsReverse(ip string) string {
	r, err := dns.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	return r
}

func TestAnswerSerialFollowsChanges(t *testing.T) {
	v := newTestView(t)
	z := &zone{name: "cluster.local."}
	m, _ := z.answer(dns.Question{Name: "cluster.local.", Qtype: dns.TypeSOA, Qclass: dns.ClassINET}, v)
	if got := m.Answer[0].(*dns.SOA).Serial; got != uint32(testTime.Unix()) {
		t.Fatalf("serial = %d, want %d", got, testTime.Unix())
	}
	v.clock.(interface{ SetTime(time.Time) }).SetTime(testTime.Add(time.Minute))
	v.handler().OnAdd(nil, false)
	m, _ = z.answer(dns.Question{Name: "cluster.local.", Qtype: dns.TypeSOA, Qclass: dns.ClassINET}, v)
	if got := m.Answer[0].(*dns.SOA).Serial; got != uint32(testTime.Unix()+60) {
		t.Fatalf("serial after a change = %d, want %d", got, testTime.Unix()+60)
	}
}

func TestParseReverse(t *testing.T) {
	tests := []struct {
		qname string
		want  string // "" for none
	}{
		{"4.3.2.1.in-addr.arpa.", "1.2.3.4"},
		{"255.0.43.10.in-addr.arpa.", "10.43.0.255"},
		{"256.0.43.10.in-addr.arpa.", ""},
		{"04.3.2.1.in-addr.arpa.", ""},
		{"3.2.1.in-addr.arpa.", ""},
		{"5.4.3.2.1.in-addr.arpa.", ""},
		{"x.3.2.1.in-addr.arpa.", ""},
		{"in-addr.arpa.", ""},
		{dnsReverse("fd00:42::7"), "fd00:42::7"},
		{dnsReverse("2001:db8::ff00:42:8329"), "2001:db8::ff00:42:8329"},
		{strings.Replace(dnsReverse("fd00:42::7"), "7", "g", 1), ""},
		{"7.0.ip6.arpa.", ""},
		{"example.com.", ""},
	}
	for _, tt := range tests {
		got, ok := parseReverse(tt.qname)
		if (tt.want == "") == ok || (ok && got.String() != tt.want) {
			t.Errorf("parseReverse(%q) = %v, %t; want %q", tt.qname, got, ok, tt.want)
		}
	}
}

func TestPodIPFromLabel(t *testing.T) {
	tests := []struct{ label, want string }{
		{"10-42-0-9", "10.42.0.9"},
		{"fd00-42--9", "fd00:42::9"},
		{"fd00-42-0-0-0-0-0-9", "fd00:42::9"},
		{"--1", "::1"},
		{"10-42-0", ""},
		{"10-42--0-9", "10:42::9"}, // "--" makes it IPv6
		{"010-42-0-9", ""},
		{"fe80--1%eth0", ""},
		{"web", ""},
	}
	for _, tt := range tests {
		got, ok := podIPFromLabel(tt.label)
		if (tt.want == "") == ok || (ok && got.String() != tt.want) {
			t.Errorf("podIPFromLabel(%q) = %v, %t; want %q", tt.label, got, ok, tt.want)
		}
	}
}

func TestEndpointHostname(t *testing.T) {
	tests := []struct{ hostname, addr, want string }{
		{"DB-0", "10.42.0.5", "db-0"},
		{"", "10.42.0.5", "10-42-0-5"},
		{"", "fd00:42::7", "fd00-42--7"},
		{"", "fd00:42::", "fd00-42--0"},
		{"", "::1", "--1"},
	}
	for _, tt := range tests {
		if got := endpointHostname(tt.hostname, netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("endpointHostname(%q, %s) = %q, want %q", tt.hostname, tt.addr, got, tt.want)
		}
	}
}
