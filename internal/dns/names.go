package dns

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// nameKind says what a name inside the cluster domain stands for.
type nameKind int

const (
	nameNone         nameKind = iota // no such name: NXDOMAIN
	nameApex                         // the cluster domain itself: SOA and NS
	nameEmpty                        // svc.D, pod.D, dns.D: the name exists, without records
	nameDNSVersion                   // dns-version.D: TXT, the DNS schema version
	nameNameserver                   // ns.dns.D: the addresses of Config.ClusterDNS
	nameNamespace                    // ns.svc.D: exists if the namespace has a Service
	namePodNamespace                 // ns.pod.D: exists, without records
	nameService                      // svc.ns.svc.D and the names below it
	namePod                          // a-b-c-d.ns.pod.D
)

// clusterName is a name inside the cluster domain, split into its parts.
type clusterName struct {
	kind      nameKind
	namespace string
	service   string
	// endpoint is the first label of hostname.svc.ns.svc.D.
	endpoint string
	// port and protocol are from _port._proto.svc.ns.svc.D, without the underscores.
	port, protocol string
	// podIP is the address a pod name encodes.
	podIP netip.Addr
}

// parseClusterName splits qname, which is zone or a name inside it, both lower case and
// fully qualified, following the Kubernetes DNS specification as CoreDNS reads it:
//
//	<service>.<ns>.svc.<zone>                   a Service
//	<hostname>.<service>.<ns>.svc.<zone>        an endpoint of a Service
//	_<port>._<proto>.<service>.<ns>.svc.<zone>  a named port of a Service (SRV)
//	<a-b-c-d>.<ns>.pod.<zone>                   a pod by its IP (IPv6 with '-' for ':')
//
// Names longer than those, or with other labels where "svc" and "pod" stand, do not exist.
func parseClusterName(qname, zone string) clusterName {
	if qname == zone {
		return clusterName{kind: nameApex}
	}
	rel := strings.TrimSuffix(qname, "."+zone)
	if rel == qname {
		return clusterName{}
	}
	labels := strings.Split(rel, ".")
	last := len(labels) - 1
	switch labels[last] {
	case "dns-version":
		if last == 0 {
			return clusterName{kind: nameDNSVersion}
		}
	case "dns":
		switch {
		case last == 0:
			return clusterName{kind: nameEmpty}
		case last == 1 && labels[0] == "ns":
			return clusterName{kind: nameNameserver}
		}
	case "svc":
		return parseServiceName(labels[:last])
	case "pod":
		return parsePodName(labels[:last])
	}
	return clusterName{}
}

// parseServiceName reads the labels of a name in front of "svc.<zone>".
func parseServiceName(l []string) clusterName {
	n := clusterName{kind: nameService}
	switch len(l) {
	case 0:
		return clusterName{kind: nameEmpty}
	case 1:
		return clusterName{kind: nameNamespace, namespace: l[0]}
	case 2:
		n.service, n.namespace = l[0], l[1]
	case 3:
		n.endpoint, n.service, n.namespace = l[0], l[1], l[2]
	case 4:
		port, okPort := strings.CutPrefix(l[0], "_")
		proto, okProto := strings.CutPrefix(l[1], "_")
		if !okPort || !okProto || port == "" || proto == "" {
			return clusterName{}
		}
		n.port, n.protocol, n.service, n.namespace = port, proto, l[2], l[3]
	default:
		return clusterName{}
	}
	return n
}

// parsePodName reads the labels of a name in front of "pod.<zone>".
func parsePodName(l []string) clusterName {
	switch len(l) {
	case 0:
		return clusterName{kind: nameEmpty}
	case 1:
		return clusterName{kind: namePodNamespace, namespace: l[0]}
	case 2:
		ip, ok := podIPFromLabel(l[0])
		if !ok {
			return clusterName{}
		}
		return clusterName{kind: namePod, namespace: l[1], podIP: ip}
	}
	return clusterName{}
}

// podIPFromLabel decodes the first label of a pod name as CoreDNS does: with exactly three
// dashes and no "--" it is an IPv4 address with dashes for dots, otherwise an IPv6 address
// with dashes for colons ("fd00-42--5").
func podIPFromLabel(label string) (netip.Addr, bool) {
	var s string
	if strings.Count(label, "-") == 3 && !strings.Contains(label, "--") {
		s = strings.ReplaceAll(label, "-", ".")
	} else {
		s = strings.ReplaceAll(label, "-", ":")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// endpointHostname returns the first label of an endpoint's name: its hostname if it has
// one, else its address with dashes for the dots or colons, as CoreDNS names it (a "0" is
// added when an IPv6 address ends in "::", so that the label does not end in a dash).
func endpointHostname(hostname string, addr netip.Addr) string {
	if hostname != "" {
		return strings.ToLower(hostname)
	}
	if addr.Is4() {
		return strings.ReplaceAll(addr.String(), ".", "-")
	}
	s := strings.ReplaceAll(addr.String(), ":", "-")
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	return s
}

// parseReverse returns the address a complete reverse name (lower case, fully qualified)
// stands for: four labels under in-addr.arpa., or 32 nibbles under ip6.arpa.
func parseReverse(qname string) (netip.Addr, bool) {
	if rel, ok := strings.CutSuffix(qname, ".in-addr.arpa."); ok {
		l := strings.Split(rel, ".")
		if len(l) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, s := range l {
			if len(s) > 1 && s[0] == '0' {
				return netip.Addr{}, false
			}
			v, err := strconv.ParseUint(s, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			b[3-i] = byte(v)
		}
		return netip.AddrFrom4(b), true
	}
	if rel, ok := strings.CutSuffix(qname, ".ip6.arpa."); ok {
		if len(rel) != 63 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i := range 32 {
			c := rel[2*i]
			if i < 31 && rel[2*i+1] != '.' {
				return netip.Addr{}, false
			}
			v, ok := hexNibble(c)
			if !ok {
				return netip.Addr{}, false
			}
			// Nibble i counts from the least significant end.
			pos := 31 - i
			if pos%2 == 0 {
				b[pos/2] |= v << 4
			} else {
				b[pos/2] |= v
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// isReverseZone reports whether qname (lower case, fully qualified) is under in-addr.arpa.
// or ip6.arpa.
func isReverseZone(qname string) bool {
	return dns.IsSubDomain("in-addr.arpa.", qname) || dns.IsSubDomain("ip6.arpa.", qname)
}
