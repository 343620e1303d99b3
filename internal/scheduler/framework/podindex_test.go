package framework

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func indexPod(ns, name, node string, labels map[string]string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), Labels: labels},
		Spec: v1.PodSpec{NodeName: node}}
}

func indexSnapshot() *Snapshot {
	nodes := []*v1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "n2", Labels: map[string]string{"zone": "b"}}},
	}
	pods := []*v1.Pod{
		indexPod("ns1", "web1", "n1", map[string]string{"app": "web", "tier": "front"}),
		indexPod("ns1", "web2", "n2", map[string]string{"app": "web"}),
		indexPod("ns1", "db1", "n2", map[string]string{"app": "db", "tier": "back"}),
		indexPod("ns2", "web3", "n1", map[string]string{"app": "web"}),
		indexPod("ns2", "other", "n1", nil),
	}
	return NewSnapshot(pods, nodes)
}

// parsedTerm parses t as the required anti-affinity term of a pod in namespace ns.
func parsedTerm(t *testing.T, ns string, term v1.PodAffinityTerm) *AffinityTerm {
	t.Helper()
	p := indexPod(ns, "incoming", "", nil)
	p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term}}}
	pi := NewPodInfo(p)
	if pi.ParseError != nil || len(pi.RequiredAntiAffinityTerms) != 1 {
		t.Fatalf("parse %+v: %v", term, pi.ParseError)
	}
	return &pi.RequiredAntiAffinityTerms[0]
}

func TestTermCandidates(t *testing.T) {
	snap := indexSnapshot()
	sel := func(ml map[string]string, exprs ...metav1.LabelSelectorRequirement) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: ml, MatchExpressions: exprs}
	}
	for _, tc := range []struct {
		name string
		term v1.PodAffinityTerm
		// want is the number of candidates; -1 means the index cannot narrow the term down.
		want int
	}{
		{"matchLabels, own namespace", v1.PodAffinityTerm{LabelSelector: sel(map[string]string{"app": "web"})}, 2},
		{"the rarer of two labels", v1.PodAffinityTerm{LabelSelector: sel(map[string]string{"app": "web", "tier": "front"})}, 1},
		{"in, values repeated", v1.PodAffinityTerm{LabelSelector: sel(nil, metav1.LabelSelectorRequirement{Key: "app", Operator: metav1.LabelSelectorOpIn,
			Values: []string{"web", "db", "web"}})}, 3},
		{"no equality requirement: the namespace", v1.PodAffinityTerm{LabelSelector: sel(nil, metav1.LabelSelectorRequirement{Key: "app",
			Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}})}, 3},
		{"empty selector: the namespace", v1.PodAffinityTerm{LabelSelector: sel(nil)}, 3},
		{"no selector selects nothing", v1.PodAffinityTerm{}, 0},
		{"listed namespaces", v1.PodAffinityTerm{Namespaces: []string{"ns1", "ns2"}, LabelSelector: sel(map[string]string{"app": "web"})}, 3},
		{"every namespace, equality", v1.PodAffinityTerm{NamespaceSelector: sel(nil), LabelSelector: sel(map[string]string{"app": "web"})}, 3},
		{"every namespace, no equality", v1.PodAffinityTerm{NamespaceSelector: sel(nil), LabelSelector: sel(nil)}, -1},
		{"namespace selector", v1.PodAffinityTerm{NamespaceSelector: sel(map[string]string{"team": "x"}), LabelSelector: sel(map[string]string{"app": "web"})}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := snap.Pods.TermCandidates(parsedTerm(t, "ns1", tc.term))
			got := c.Len()
			if !ok {
				got = -1
			}
			if got != tc.want {
				t.Errorf("%d candidates, want %d", got, tc.want)
			}
		})
	}
}

func TestSignature(t *testing.T) {
	ml := func(m map[string]string) *metav1.LabelSelector { return &metav1.LabelSelector{MatchLabels: m} }
	web := map[string]string{"app": "web"}
	for _, tc := range []struct {
		name string
		a, b v1.PodAffinityTerm
		same bool
	}{
		{"equal terms", v1.PodAffinityTerm{LabelSelector: ml(web), TopologyKey: "zone"}, v1.PodAffinityTerm{LabelSelector: ml(web), TopologyKey: "zone"}, true},
		{"namespace order", v1.PodAffinityTerm{Namespaces: []string{"a", "b"}}, v1.PodAffinityTerm{Namespaces: []string{"b", "a"}}, true},
		{"own namespace named or not", v1.PodAffinityTerm{Namespaces: []string{"ns1"}}, v1.PodAffinityTerm{}, true},
		{"topology keys", v1.PodAffinityTerm{LabelSelector: ml(web), TopologyKey: "zone"}, v1.PodAffinityTerm{LabelSelector: ml(web), TopologyKey: "rack"}, false},
		{"no selector and empty selector", v1.PodAffinityTerm{}, v1.PodAffinityTerm{LabelSelector: ml(nil)}, false},
		{"no namespace selector and empty one", v1.PodAffinityTerm{}, v1.PodAffinityTerm{NamespaceSelector: ml(nil)}, false},
		{"label values", v1.PodAffinityTerm{LabelSelector: ml(web)}, v1.PodAffinityTerm{LabelSelector: ml(map[string]string{"app": "db"})}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := parsedTerm(t, "ns1", tc.a), parsedTerm(t, "ns1", tc.b)
			if (a.Signature() == b.Signature()) != tc.same {
				t.Errorf("signatures %q and %q: same %v, want %v", a.Signature(), b.Signature(), !tc.same, tc.same)
			}
			if a.Signature() != termSignature(a) {
				t.Errorf("cached signature %q, computed %q", a.Signature(), termSignature(a))
			}
		})
	}
}

func TestSelectionsDropLeastUsed(t *testing.T) {
	snap := indexSnapshot()
	term := func(i int) *AffinityTerm {
		key := fmt.Sprint("key-", i)
		if i == 0 {
			key = "zone"
		}
		return parsedTerm(t, "ns1", v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			TopologyKey: key})
	}
	first, second := term(0), term(1)
	snap.Pods.Selection(first, false)
	snap.Pods.Selection(second, false)
	for i := 2; i < MaxSelections; i++ {
		snap.Pods.Selection(term(i), false)
	}
	snap.Pods.Selection(first, false) // now more recently used than second
	snap.Pods.Selection(term(MaxSelections), false)
	if n := len(snap.Pods.selections); n != MaxSelections {
		t.Fatalf("%d selections, want %d", n, MaxSelections)
	}
	if snap.Pods.selections[selectionKey{second.Signature(), false}] != nil {
		t.Errorf("the least recently used selection was kept")
	}
	if snap.Pods.selections[selectionKey{first.Signature(), false}] == nil {
		t.Errorf("a recently used selection was dropped")
	}
	if err := snap.CheckIndexes(); err != nil {
		t.Fatal(err)
	}
	sel, _ := snap.Pods.Selection(first, false)
	if sel.Domains["a"].Count != 1 || sel.Domains["b"].Count != 1 || len(sel.Domains) != 2 {
		t.Errorf("selection of app=web in ns1 by zone: %v", sel.Domains)
	}
}
