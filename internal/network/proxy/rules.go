package proxy

import (
	"cmp"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// tableSpec describes the node's proxy table (family inet): what the build functions decide
// and the Proxier programs. Its String is the table in `nft list table` syntax.
type tableSpec struct {
	Name   string
	Sets   []setSpec   // named sets and maps, the static ones first
	Chains []chainSpec // base chains first
}

// setSpec is a named set, or a verdict map if Map.
type setSpec struct {
	Name    string
	Fam     family
	Key     lookupKey
	Map     bool
	Timeout time.Duration // > 0: a set the rules add to (flags dynamic,timeout), for affinity
	Comment string
	Elems   []element
}

// elemKey is the key of a set element; which fields count depends on the set's lookupKey.
type elemKey struct {
	Addr  netip.Addr
	Proto uint8
	Port  uint16
}

// element is one element of a set, with its verdict if the set is a map.
type element struct {
	Key     elemKey
	Verdict verdict
}

// chainSpec is one chain; Base is nil for a regular chain.
type chainSpec struct {
	Name  string
	Base  *baseChain
	Rules []ruleSpec
}

// baseChain is where a base chain hooks in; its policy is accept.
type baseChain struct {
	Type     nftables.ChainType
	Hook     string // prerouting, output, postrouting
	Priority int32
}

// ruleSpec is one rule: its statements in order, and an optional comment.
type ruleSpec struct {
	Stmts   []stmt
	Comment string
}

func rule(s ...stmt) ruleSpec { return ruleSpec{Stmts: s} }

// Names of the table's static chains. Per-family maps and sets get the family's suffix.
const (
	chainServices          = "services"
	chainServiceEPCheck    = "service-endpoints-check"
	chainNodePortEPCheck   = "nodeport-endpoints-check"
	chainClusterIPsCheck   = "cluster-ips-check"
	chainMarkForMasquerade = "mark-for-masquerade"
	chainMasquerading      = "masquerading"
	chainReject            = "reject-chain"
	chainLocalDNS          = "local-dns"
)

func setClusterIPs(f family) string          { return "cluster-ips-" + f.suffix() }
func mapServiceIPs(f family) string          { return "service-ips-" + f.suffix() }
func mapServiceNodePorts(f family) string    { return "service-nodeports-" + f.suffix() }
func mapNoEndpointServices(f family) string  { return "no-endpoint-services-" + f.suffix() }
func mapNoEndpointNodePorts(f family) string { return "no-endpoint-nodeports-" + f.suffix() }
func setNodePortIPs(f family) string         { return "nodeport-ips-" + f.suffix() }
func chainMarkOutside(f family) string       { return "mark-unless-from-pod-" + f.suffix() }

// nameHash returns 8 characters of base32 of the SHA-256 of s, as kube-proxy prefixes its
// per-service chain names so that they are unique however the readable part is cut.
func nameHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:8]
}

// portChain returns the name of a per-service-port chain: kind is service, local or external.
func portChain(kind string, sp servicePort) string {
	return fmt.Sprintf("%s-%s-%s", kind, nameHash(sp.fam.suffix()+"/"+sp.name), sp.name)
}

// endpointName returns the name of an endpoint's chain (kind "endpoint") or affinity set
// (kind "affinity").
func endpointName(kind string, sp servicePort, ep endpoint) string {
	id := fmt.Sprintf("%s__%s/%d", sp.name, ep.addr, ep.port)
	return fmt.Sprintf("%s-%s-%s", kind, nameHash(sp.fam.suffix()+"/"+id), id)
}

// staticSets returns the table's sets and maps that exist whatever the Services: their
// elements come from the claims.
func staticSets(n *nodeFacts) []setSpec {
	var out []setSpec
	for _, f := range n.families {
		out = append(out,
			setSpec{Name: setClusterIPs(f), Fam: f, Key: keyAddr, Comment: "Active ClusterIPs"},
			setSpec{Name: mapServiceIPs(f), Fam: f, Key: keyAddrProtoPort, Map: true, Comment: "ClusterIP, ExternalIP and LoadBalancer IP traffic"},
			setSpec{Name: mapServiceNodePorts(f), Fam: f, Key: keyProtoPort, Map: true, Comment: "NodePort traffic"},
			setSpec{Name: mapNoEndpointServices(f), Fam: f, Key: keyAddrProtoPort, Map: true, Comment: "vmap to drop or reject packets to services with no endpoints"},
			setSpec{Name: mapNoEndpointNodePorts(f), Fam: f, Key: keyProtoPort, Map: true, Comment: "vmap to drop or reject packets to service nodeports with no endpoints"},
		)
		if len(nodeIPsOf(n, f)) > 0 {
			out = append(out, setSpec{Name: setNodePortIPs(f), Fam: f, Key: keyAddr, Comment: "IPs that accept NodePort traffic"})
		}
	}
	return out
}

func nodeIPsOf(n *nodeFacts, f family) []netip.Addr {
	var out []netip.Addr
	for _, a := range n.nodeIPs {
		if familyOf(a) == f {
			out = append(out, a)
		}
	}
	return out
}

func clusterCIDRsOf(n *nodeFacts, f family) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range n.clusterCIDRs {
		if familyOf(p.Addr()) == f {
			out = append(out, p)
		}
	}
	return out
}

// staticClaims returns the elements the node itself puts in the static sets: its node IPs,
// and the local DNS redirect, which takes precedence over any Service's claim.
func staticClaims(n *nodeFacts) []claim {
	var out []claim
	for _, f := range n.families {
		for _, a := range nodeIPsOf(n, f) {
			out = append(out, claim{Set: setNodePortIPs(f), Elem: element{Key: elemKey{Addr: a}}})
		}
	}
	if d := n.dns; d != nil && n.hasFamily(familyOf(d.ServiceIP)) {
		f := familyOf(d.ServiceIP)
		out = append(out, claim{Set: setClusterIPs(f), Elem: element{Key: elemKey{Addr: d.ServiceIP}}})
		for _, p := range []uint8{protoUDP, protoTCP} {
			out = append(out, claim{Set: mapServiceIPs(f), Elem: element{
				Key: elemKey{Addr: d.ServiceIP, Proto: p, Port: 53}, Verdict: goTo(chainLocalDNS)}})
		}
	}
	return out
}

// staticChains returns the chains that exist whatever the Services, modelled on
// kube-proxy's nftables mode:
//
//   - filter-prerouting and filter-output (filter, before DNAT): new connections to a
//     service IP or NodePort without endpoints are rejected (or dropped, when only a traffic
//     policy of Local leaves none) through the no-endpoint maps;
//   - filter-prerouting-post-dnat and filter-output-post-dnat (after DNAT): what still goes
//     to a ClusterIP went to a port no Service has, and is rejected; what goes to an
//     unallocated address of a service CIDR is dropped;
//   - nat-prerouting and nat-output jump to services, which dispatches through the
//     service-ips and service-nodeports maps to the per-service chains;
//   - nat-postrouting masquerades what the per-service chains marked.
func staticChains(n *nodeFacts) []chainSpec {
	ctNew := matchCtNew{}
	out := []chainSpec{
		{Name: "filter-prerouting", Base: &baseChain{nftables.ChainTypeFilter, "prerouting", -110}, Rules: []ruleSpec{
			rule(ctNew, jump(chainServiceEPCheck)), rule(ctNew, jump(chainNodePortEPCheck))}},
		{Name: "filter-output", Base: &baseChain{nftables.ChainTypeFilter, "output", -110}, Rules: []ruleSpec{
			rule(ctNew, jump(chainServiceEPCheck)), rule(ctNew, jump(chainNodePortEPCheck))}},
		{Name: "filter-prerouting-post-dnat", Base: &baseChain{nftables.ChainTypeFilter, "prerouting", -90}, Rules: []ruleSpec{
			rule(ctNew, jump(chainClusterIPsCheck))}},
		{Name: "filter-output-post-dnat", Base: &baseChain{nftables.ChainTypeFilter, "output", -90}, Rules: []ruleSpec{
			rule(ctNew, jump(chainClusterIPsCheck))}},
		{Name: "nat-prerouting", Base: &baseChain{nftables.ChainTypeNAT, "prerouting", -100}, Rules: []ruleSpec{rule(jump(chainServices))}},
		{Name: "nat-output", Base: &baseChain{nftables.ChainTypeNAT, "output", -100}, Rules: []ruleSpec{rule(jump(chainServices))}},
		{Name: "nat-postrouting", Base: &baseChain{nftables.ChainTypeNAT, "postrouting", 100}, Rules: []ruleSpec{rule(jump(chainMasquerading))}},
	}
	services := chainSpec{Name: chainServices}
	epCheck := chainSpec{Name: chainServiceEPCheck}
	npCheck := chainSpec{Name: chainNodePortEPCheck}
	cipCheck := chainSpec{Name: chainClusterIPsCheck}
	var perFamily []chainSpec
	for _, f := range n.families {
		if cidrs := clusterCIDRsOf(n, f); len(cidrs) > 0 {
			services.Rules = append(services.Rules, ruleSpec{
				Stmts:   []stmt{lookup{Fam: f, Dir: daddr, Key: keyAddr, Set: setClusterIPs(f)}, jump(chainMarkOutside(f))},
				Comment: "masquerade ClusterIP traffic from outside the cluster",
			})
			c := chainSpec{Name: chainMarkOutside(f)}
			for _, p := range cidrs {
				c.Rules = append(c.Rules, rule(matchAddr{Dir: saddr, Prefix: p}, verdict{Kind: verdictReturn}))
			}
			c.Rules = append(c.Rules, rule(jump(chainMarkForMasquerade)))
			perFamily = append(perFamily, c)
		}
		services.Rules = append(services.Rules,
			rule(lookup{Fam: f, Dir: daddr, Key: keyAddrProtoPort, Set: mapServiceIPs(f), Verdict: true}),
			ruleSpec{Stmts: append(nodePortDest(n, f), lookup{Fam: f, Key: keyProtoPort, Set: mapServiceNodePorts(f), Verdict: true})})
		epCheck.Rules = append(epCheck.Rules,
			rule(lookup{Fam: f, Dir: daddr, Key: keyAddrProtoPort, Set: mapNoEndpointServices(f), Verdict: true}))
		npCheck.Rules = append(npCheck.Rules,
			ruleSpec{Stmts: append(nodePortDest(n, f), lookup{Fam: f, Key: keyProtoPort, Set: mapNoEndpointNodePorts(f), Verdict: true})})
		cipCheck.Rules = append(cipCheck.Rules, ruleSpec{
			Stmts:   []stmt{lookup{Fam: f, Dir: daddr, Key: keyAddr, Set: setClusterIPs(f)}, reject{}},
			Comment: "reject traffic to invalid ports of ClusterIPs",
		})
		for _, p := range n.serviceCIDRs {
			if familyOf(p.Addr()) == f {
				cipCheck.Rules = append(cipCheck.Rules, ruleSpec{
					Stmts:   []stmt{matchAddr{Dir: daddr, Prefix: p}, verdict{Kind: verdictDrop}},
					Comment: "drop traffic to unallocated ClusterIPs",
				})
			}
		}
	}
	out = append(out, services, epCheck, npCheck, cipCheck,
		chainSpec{Name: chainMarkForMasquerade, Rules: []ruleSpec{rule(setMark{})}},
		chainSpec{Name: chainMasquerading, Rules: []ruleSpec{
			rule(matchMarkClear{}, verdict{Kind: verdictReturn}),
			rule(setMark{Xor: true}),
			rule(masquerade{}),
		}},
		chainSpec{Name: chainReject, Rules: []ruleSpec{
			rule(matchL4Proto{protoTCP}, reject{TCPReset: true}),
			rule(reject{}),
		}},
	)
	out = append(out, perFamily...)
	if d := n.dns; d != nil && n.hasFamily(familyOf(d.ServiceIP)) {
		c := chainSpec{Name: chainLocalDNS}
		for _, p := range []uint8{protoUDP, protoTCP} {
			c.Rules = append(c.Rules, ruleSpec{
				Stmts:   []stmt{matchL4Proto{p}, dnat{To: d.Target}},
				Comment: "cluster DNS to the node's DNS listener",
			})
		}
		out = append(out, c)
	}
	return out
}

// nodePortDest returns the match for traffic to a NodePort: to one of the node IPs, or, if
// none are configured, to any local address but loopback.
func nodePortDest(n *nodeFacts, f family) []stmt {
	if len(nodeIPsOf(n, f)) > 0 {
		return []stmt{lookup{Fam: f, Dir: daddr, Key: keyAddr, Set: setNodePortIPs(f)}}
	}
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	if f == ipv6 {
		loopback = netip.MustParsePrefix("::1/128")
	}
	return []stmt{matchFibLocal{Dir: daddr}, matchAddr{Dir: daddr, Prefix: loopback, Not: true}}
}

// claim is an element a Service (or the node) wants in one of the static sets and maps.
// Two Services may claim one map key (two Services with one externalIP and port, or a
// NodePort the API server should have refused): the older Service wins.
type claim struct {
	Set  string
	Elem element
}

// udpTarget is what the conntrack cleanup needs to know of a UDP service port.
type udpTarget struct {
	vips      []netip.Addr // ClusterIP, externalIPs, load-balancer IPs
	port      uint16
	nodePort  uint16
	endpoints []netip.Addr // the endpoints traffic is sent to
}

// serviceRules is everything one Service contributes to the table.
type serviceRules struct {
	key      string
	created  time.Time
	chains   []chainSpec
	sets     []setSpec // affinity sets
	claims   []claim
	udp      map[string]udpTarget // by family and port name
	warnings []string
}

// compare orders Services by age, then name: the older one wins a contested map key.
func (s *serviceRules) compare(o *serviceRules) int {
	return cmp.Or(s.created.Compare(o.created), cmp.Compare(s.key, o.key))
}

// buildService decides everything svc contributes to the table, from its EndpointSlices.
func buildService(n *nodeFacts, svc *v1.Service, svcSlices []*discovery.EndpointSlice) *serviceRules {
	sr := &serviceRules{key: serviceKey(svc.Namespace, svc.Name), created: svc.CreationTimestamp.Time, udp: map[string]udpTarget{}}
	ports, warnings := servicePorts(n, svc)
	sr.warnings = append(sr.warnings, warnings...)
	epWarned := map[string]bool{}
	for _, sp := range ports {
		eps, warnings := endpointsFor(n, sp, svcSlices)
		for _, w := range warnings {
			if !epWarned[w] {
				epWarned[w] = true
				sr.warnings = append(sr.warnings, w)
			}
		}
		addServicePort(n, sr, sp, eps)
	}
	return sr
}

// addServicePort adds the chains, sets and claims of one service port to sr.
func addServicePort(n *nodeFacts, sr *serviceRules, sp servicePort, eps []endpoint) {
	f := sp.fam
	all := usable(eps)
	local := usable(localOnly(eps))
	internal, external := all, all
	internalChain, externalPolicyChain := portChain("service", sp), portChain("service", sp)
	if sp.internalLocal {
		internal, internalChain = local, portChain("local", sp)
	}
	if sp.externalLocal {
		external, externalPolicyChain = local, portChain("local", sp)
	}
	hasAny := len(all) > 0 || len(local) > 0
	hasExternal := len(sp.external) > 0 || sp.nodePort != 0
	noEndpoints := goTo(chainReject)
	if hasAny {
		noEndpoints = verdict{Kind: verdictDrop} // a traffic policy of Local leaves none here
	}

	sr.claims = append(sr.claims, claim{Set: setClusterIPs(f), Elem: element{Key: elemKey{Addr: sp.clusterIP}}})
	cipKey := elemKey{Addr: sp.clusterIP, Proto: sp.proto, Port: sp.port}
	if len(internal) > 0 {
		sr.claims = append(sr.claims, claim{Set: mapServiceIPs(f), Elem: element{Key: cipKey, Verdict: goTo(internalChain)}})
	} else {
		sr.claims = append(sr.claims, claim{Set: mapNoEndpointServices(f), Elem: element{Key: cipKey, Verdict: noEndpoints}})
	}
	externalChain := portChain("external", sp)
	for _, a := range sp.external {
		k := elemKey{Addr: a, Proto: sp.proto, Port: sp.port}
		if len(external) > 0 {
			sr.claims = append(sr.claims, claim{Set: mapServiceIPs(f), Elem: element{Key: k, Verdict: goTo(externalChain)}})
		} else {
			sr.claims = append(sr.claims, claim{Set: mapNoEndpointServices(f), Elem: element{Key: k, Verdict: noEndpoints}})
		}
	}
	if sp.nodePort != 0 {
		k := elemKey{Proto: sp.proto, Port: sp.nodePort}
		if len(external) > 0 {
			sr.claims = append(sr.claims, claim{Set: mapServiceNodePorts(f), Elem: element{Key: k, Verdict: goTo(externalChain)}})
		} else {
			sr.claims = append(sr.claims, claim{Set: mapNoEndpointNodePorts(f), Elem: element{Key: k, Verdict: noEndpoints}})
		}
	}

	// Which policy chains are used: the cluster chain serves Cluster policies, and with
	// externalTrafficPolicy Local it still serves pods and the node itself.
	useExternal := hasExternal && len(external) > 0
	useCluster := len(all) > 0 && ((!sp.internalLocal && len(internal) > 0) || useExternal)
	useLocal := len(local) > 0 && ((sp.internalLocal && len(internal) > 0) || (useExternal && sp.externalLocal))

	if useExternal {
		c := chainSpec{Name: externalChain}
		cluster := portChain("service", sp)
		if sp.externalLocal {
			for _, p := range clusterCIDRsOf(n, f) {
				c.Rules = append(c.Rules, ruleSpec{Stmts: []stmt{matchAddr{Dir: saddr, Prefix: p}, goTo(cluster)}, Comment: "pod traffic for external destinations"})
			}
			c.Rules = append(c.Rules,
				ruleSpec{Stmts: []stmt{matchFibLocal{Dir: saddr}, jump(chainMarkForMasquerade)}, Comment: "masquerade local traffic"},
				ruleSpec{Stmts: []stmt{matchFibLocal{Dir: saddr}, goTo(cluster)}, Comment: "short-circuit local traffic"},
				rule(goTo(externalPolicyChain)))
		} else {
			c.Rules = append(c.Rules,
				ruleSpec{Stmts: []stmt{jump(chainMarkForMasquerade)}, Comment: "masquerade traffic from outside"},
				rule(goTo(cluster)))
		}
		sr.chains = append(sr.chains, c)
	}
	withChain := map[endpoint]bool{}
	if useCluster {
		sr.chains = append(sr.chains, policyChain(portChain("service", sp), sp, all))
		for _, e := range all {
			withChain[e] = true
		}
	}
	if useLocal {
		sr.chains = append(sr.chains, policyChain(portChain("local", sp), sp, local))
		for _, e := range local {
			withChain[e] = true
		}
	}
	var targets []netip.Addr
	for _, e := range eps {
		if !withChain[e] {
			continue
		}
		targets = append(targets, e.addr)
		c := chainSpec{Name: endpointName("endpoint", sp, e)}
		c.Rules = append(c.Rules, ruleSpec{
			Stmts:   []stmt{matchAddr{Dir: saddr, Prefix: netip.PrefixFrom(e.addr, e.addr.BitLen())}, jump(chainMarkForMasquerade)},
			Comment: "hairpin",
		})
		if sp.affinity > 0 {
			set := endpointName("affinity", sp, e)
			sr.sets = append(sr.sets, setSpec{Name: set, Fam: f, Key: keyAddr, Timeout: sp.affinity})
			c.Rules = append(c.Rules, rule(updateSet{Fam: f, Set: set}))
		}
		c.Rules = append(c.Rules, rule(matchL4Proto{sp.proto}, dnat{To: netip.AddrPortFrom(e.addr, e.port)}))
		sr.chains = append(sr.chains, c)
	}
	if sp.proto == protoUDP {
		vips := append([]netip.Addr{sp.clusterIP}, sp.external...)
		sr.udp[f.suffix()+"/"+sp.name] = udpTarget{vips: vips, port: sp.port, nodePort: sp.nodePort, endpoints: targets}
	}
}

// policyChain returns a service or local chain: with session affinity, a client with an
// entry in an endpoint's affinity set goes back to it; the others go to an endpoint chosen
// at random.
func policyChain(name string, sp servicePort, eps []endpoint) chainSpec {
	c := chainSpec{Name: name}
	if sp.affinity > 0 {
		for _, e := range eps {
			c.Rules = append(c.Rules, rule(
				lookup{Fam: sp.fam, Dir: saddr, Key: keyAddr, Set: endpointName("affinity", sp, e)},
				goTo(endpointName("endpoint", sp, e))))
		}
	}
	if len(eps) == 1 {
		c.Rules = append(c.Rules, rule(goTo(endpointName("endpoint", sp, eps[0]))))
		return c
	}
	names := make([]string, len(eps))
	for i, e := range eps {
		names[i] = endpointName("endpoint", sp, e)
	}
	c.Rules = append(c.Rules, rule(numgenVmap{Chains: names}))
	return c
}

// conflict is a claim that lost to another's on the same map key.
type conflict struct {
	Set     string
	Key     elemKey
	Loser   string // the Service whose claim was skipped
	Winner  string
	Verdict verdict
}

func (c conflict) String() string {
	return fmt.Sprintf("service %s: %s %s is already used by service %s; skipping it", c.Loser, c.Set, c.Key, c.Winner)
}

// String renders a key as a map element key: "10.43.0.1 . tcp . 80".
func (k elemKey) String() string {
	var parts []string
	if k.Addr.IsValid() {
		parts = append(parts, k.Addr.String())
	}
	if k.Proto != 0 {
		parts = append(parts, protoName(k.Proto), fmt.Sprint(k.Port))
	}
	return strings.Join(parts, " . ")
}

// elementsBySet is the content of the static sets and maps: set name, key, element.
type elementsBySet map[string]map[elemKey]element

// resolveClaims decides the elements of the static sets: the node's claims first, then the
// Services' in order (rules must be sorted by compare); the first claim of a map key wins.
// A map and its no-endpoint counterpart share their keys: a destination either goes to
// endpoints or is rejected, never both. The node's own claims (the DNS redirect) win
// silently: kube-dns's Service has no endpoints by design.
func resolveClaims(static []claim, rules []*serviceRules) (elementsBySet, []conflict) {
	out := elementsBySet{}
	owner := map[string]map[elemKey]string{} // by key space
	var conflicts []conflict
	add := func(c claim, by string) {
		space := keySpace(c.Set)
		if owner[space] == nil {
			owner[space] = map[elemKey]string{}
		}
		if out[c.Set] == nil {
			out[c.Set] = map[elemKey]element{}
		}
		if first, taken := owner[space][c.Elem.Key]; taken {
			isMap := c.Elem.Verdict != (verdict{})
			if isMap && first != by && first != "" {
				conflicts = append(conflicts, conflict{Set: c.Set, Key: c.Elem.Key, Loser: by, Winner: first, Verdict: c.Elem.Verdict})
			}
			if !isMap {
				out[c.Set][c.Elem.Key] = c.Elem // a plain set: the same element from both
			}
			return
		}
		owner[space][c.Elem.Key] = by
		out[c.Set][c.Elem.Key] = c.Elem
	}
	for _, c := range static {
		add(c, "")
	}
	for _, r := range rules {
		for _, c := range r.claims {
			add(c, r.key)
		}
	}
	return out, conflicts
}

// keySpace returns the name under which the keys of a set are owned: a no-endpoint map
// shares the keys of the map it stands in for.
func keySpace(set string) string {
	for _, f := range families {
		switch set {
		case mapNoEndpointServices(f):
			return mapServiceIPs(f)
		case mapNoEndpointNodePorts(f):
			return mapServiceNodePorts(f)
		}
	}
	return set
}

// assemble puts the table together from the node's static part and the Services' rules
// (sorted by compare).
func assemble(n *nodeFacts, rules []*serviceRules) (tableSpec, elementsBySet, []conflict) {
	elems, conflicts := resolveClaims(staticClaims(n), rules)
	t := tableSpec{Name: n.table, Sets: staticSets(n), Chains: staticChains(n)}
	for i := range t.Sets {
		t.Sets[i].Elems = sortedElems(elems[t.Sets[i].Name])
	}
	for _, r := range rules {
		t.Sets = append(t.Sets, r.sets...)
		t.Chains = append(t.Chains, r.chains...)
	}
	return t, elems, conflicts
}

func sortedElems(m map[elemKey]element) []element {
	out := make([]element, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b element) int { return compareKeys(a.Key, b.Key) })
	return out
}

func compareKeys(a, b elemKey) int {
	return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Port, b.Port))
}

// buildTable decides the whole table from Services and EndpointSlices: what the golden
// tests check. The Proxier builds the same table piece by piece.
func buildTable(n *nodeFacts, services []*v1.Service, slices_ []*discovery.EndpointSlice) (tableSpec, []string) {
	bySvc := map[string][]*discovery.EndpointSlice{}
	for _, s := range slices_ {
		if k := sliceService(s); k != "" {
			bySvc[k] = append(bySvc[k], s)
		}
	}
	var rules []*serviceRules
	var warnings []string
	for _, svc := range services {
		r := buildService(n, svc, bySvc[serviceKey(svc.Namespace, svc.Name)])
		warnings = append(warnings, r.warnings...)
		rules = append(rules, r)
	}
	slices.SortFunc(rules, (*serviceRules).compare)
	t, _, conflicts := assemble(n, rules)
	for _, c := range conflicts {
		warnings = append(warnings, c.String())
	}
	return t, warnings
}
