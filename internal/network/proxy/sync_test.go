package proxy

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// state builds what the Proxier keeps after a sync: every Service's rules and the static
// sets' elements.
func state(n *nodeFacts, services []*v1.Service, eps []*discovery.EndpointSlice) (map[string]*serviceRules, elementsBySet) {
	bySvc := map[string][]*discovery.EndpointSlice{}
	for _, s := range eps {
		bySvc[sliceService(s)] = append(bySvc[sliceService(s)], s)
	}
	rules := map[string]*serviceRules{}
	for _, svc := range services {
		k := serviceKey(svc.Namespace, svc.Name)
		rules[k] = buildService(n, svc, bySvc[k])
	}
	_, elems, _ := assemble(n, slices.SortedFunc(maps.Values(rules), (*serviceRules).compare))
	return rules, elems
}

func chainNames(cs []chainSpec) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestPlanIncrementalTouchesOnlyTheChangedService(t *testing.T) {
	n := mustFacts(testConfig())
	services := []*v1.Service{
		service("default/web", "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeNodePort), withAffinity(0)),
		service("default/api", "10.43.0.21", "http:80"),
		service("default/db", "10.43.0.22", "5432"),
	}
	before := []*discovery.EndpointSlice{
		slice("default/web", "web-a", "http:8080", "10.42.1.5", "10.42.1.6"),
		slice("default/api", "api-a", "http:8080", "10.42.1.7", "10.42.1.8"),
		slice("default/db", "db-a", "5432", "10.42.1.9"),
	}
	oldRules, oldElems := state(n, services, before)

	tests := []struct {
		name        string
		after       []*discovery.EndpointSlice
		changed     string
		wantWrite   []string
		wantDelete  []string
		wantSetsDel []string
		wantSetsNew []string
		wantElemDel map[string]string
		wantElemAdd map[string]string
	}{
		{
			name: "an endpoint goes",
			after: []*discovery.EndpointSlice{
				slice("default/web", "web-a", "http:8080", "10.42.1.5"),
				before[1], before[2],
			},
			changed:     "default/web",
			wantWrite:   []string{portChain("service", servicePort{fam: ipv4, name: "default/web/tcp/http"})},
			wantDelete:  []string{endpointName("endpoint", servicePort{fam: ipv4, name: "default/web/tcp/http"}, endpoint{addr: netip.MustParseAddr("10.42.1.6"), port: 8080})},
			wantSetsDel: []string{endpointName("affinity", servicePort{fam: ipv4, name: "default/web/tcp/http"}, endpoint{addr: netip.MustParseAddr("10.42.1.6"), port: 8080})},
		},
		{
			name: "an endpoint comes",
			after: []*discovery.EndpointSlice{
				before[0],
				slice("default/api", "api-a", "http:8080", "10.42.1.7", "10.42.1.8", "10.42.1.10"),
				before[2],
			},
			changed: "default/api",
			wantWrite: []string{
				portChain("service", servicePort{fam: ipv4, name: "default/api/tcp/http"}),
				endpointName("endpoint", servicePort{fam: ipv4, name: "default/api/tcp/http"}, endpoint{addr: netip.MustParseAddr("10.42.1.10"), port: 8080}),
			},
		},
		{
			name:        "the last endpoint goes",
			after:       []*discovery.EndpointSlice{before[0], before[1]},
			changed:     "default/db",
			wantDelete:  []string{portChain("service", servicePort{fam: ipv4, name: "default/db/tcp/"}), endpointName("endpoint", servicePort{fam: ipv4, name: "default/db/tcp/"}, endpoint{addr: netip.MustParseAddr("10.42.1.9"), port: 5432})},
			wantElemDel: map[string]string{"service-ips-v4": "10.43.0.22 . tcp . 5432"},
			wantElemAdd: map[string]string{"no-endpoint-services-v4": "10.43.0.22 . tcp . 5432"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newRules, newElems := state(n, services, tt.after)
			// Only the changed Service is rebuilt; the others keep their old rules.
			next := maps.Clone(oldRules)
			next[tt.changed] = newRules[tt.changed]
			p := planIncremental([]string{tt.changed}, oldRules, next, oldElems, newElems)
			if got := chainNames(p.writeChains); !slices.Equal(got, tt.wantWrite) {
				t.Errorf("chains written: %q\nwant %q", got, tt.wantWrite)
			}
			if !slices.Equal(p.delChains, tt.wantDelete) {
				t.Errorf("chains deleted: %q\nwant %q", p.delChains, tt.wantDelete)
			}
			if !slices.Equal(p.delSets, tt.wantSetsDel) {
				t.Errorf("sets deleted: %q\nwant %q", p.delSets, tt.wantSetsDel)
			}
			if len(p.sets) != 0 || len(p.flushSets) != 0 || p.full {
				t.Errorf("plan creates sets %v, flushes %v, full %v; want none of that", p.sets, p.flushSets, p.full)
			}
			for _, c := range append(chainNames(p.writeChains), p.delChains...) {
				if !strings.Contains(c, tt.changed+"/") {
					t.Errorf("plan touches chain %s of another Service", c)
				}
			}
			checkElems(t, "deleted", p.delElems, tt.wantElemDel)
			checkElems(t, "added", p.addElems, tt.wantElemAdd)
		})
	}
}

func checkElems(t *testing.T, what string, got map[string][]element, want map[string]string) {
	t.Helper()
	g := map[string]string{}
	for set, es := range got {
		var keys []string
		for _, e := range es {
			keys = append(keys, e.Key.String())
		}
		g[set] = strings.Join(keys, ", ")
	}
	if want == nil {
		want = map[string]string{}
	}
	if !maps.Equal(g, want) {
		t.Errorf("elements %s: %v, want %v", what, g, want)
	}
}

func TestPlanIncrementalAffinityTimeoutRecreatesSet(t *testing.T) {
	n := mustFacts(testConfig())
	eps := []*discovery.EndpointSlice{slice("default/web", "web-a", "http:8080", "10.42.1.5")}
	oldRules, oldElems := state(n, []*v1.Service{service("default/web", "10.43.0.20", "http:80", withAffinity(0))}, eps)
	newRules, newElems := state(n, []*v1.Service{service("default/web", "10.43.0.20", "http:80", withAffinity(60))}, eps)
	p := planIncremental([]string{"default/web"}, oldRules, newRules, oldElems, newElems)
	if len(p.sets) != 1 || len(p.delSets) != 1 || p.sets[0].Name != p.delSets[0] {
		t.Fatalf("sets created %v and deleted %v; want the affinity set recreated", p.sets, p.delSets)
	}
	if len(p.writeChains) != 2 {
		t.Fatalf("chains written %q; want both of the Service's (they refer to the set)", chainNames(p.writeChains))
	}
}

func TestPlanFullDeletesWhatIsNotWanted(t *testing.T) {
	n := mustFacts(testConfig())
	table, _ := buildTable(n, []*v1.Service{service("default/web", "10.43.0.20", "http:80")},
		[]*discovery.EndpointSlice{slice("default/web", "web-a", "http:8080", "10.42.1.5")})
	p := planFull(table, []string{"services", "service-OLD-default/gone/tcp/"}, []string{"service-ips-v4", "affinity-OLD"})
	if !slices.Equal(p.delChains, []string{"service-OLD-default/gone/tcp/"}) || !slices.Equal(p.delSets, []string{"affinity-OLD"}) {
		t.Fatalf("full plan deletes chains %q and sets %q", p.delChains, p.delSets)
	}
	if len(p.writeChains) != len(table.Chains) || len(p.flushSets) != len(table.Sets) {
		t.Fatalf("full plan writes %d of %d chains and flushes %d of %d sets", len(p.writeChains), len(table.Chains), len(p.flushSets), len(table.Sets))
	}
}

func TestStaleFlows(t *testing.T) {
	n := mustFacts(testConfig())
	svc := service("kube-system/dns", "10.43.0.10", "dns:53/UDP>30053 tcp:53/TCP", withType(v1.ServiceTypeNodePort))
	build := func(eps ...string) *serviceRules {
		return buildService(n, svc, []*discovery.EndpointSlice{slice("kube-system/dns", "a", "dns:5353/UDP tcp:5353/TCP", eps...)})
	}
	tests := []struct {
		name     string
		old, new *serviceRules
		want     []string
	}{
		{"endpoint removed", build("10.42.1.5", "10.42.1.6"), build("10.42.1.5"),
			[]string{"udp dst *:30053 reply-src 10.42.1.6", "udp dst 10.43.0.10:53 reply-src 10.42.1.6"}},
		{"first endpoint", build(), build("10.42.1.5"),
			[]string{"udp dst *:30053 reply-src *", "udp dst 10.43.0.10:53 reply-src *"}},
		{"service deleted", build("10.42.1.5"), nil,
			[]string{"udp dst *:30053 reply-src 10.42.1.5", "udp dst 10.43.0.10:53 reply-src 10.42.1.5"}},
		{"nothing changed", build("10.42.1.5"), build("10.42.1.5"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range staleFlows(tt.old, tt.new) {
				got = append(got, f.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("stale flows %q, want %q", got, tt.want)
			}
		})
	}
}
