// Package randcluster generates random nodes and pods for the scheduler's differential and
// fuzz tests: labels, namespaces, taints, node selectors, pod (anti-)affinity terms and
// topology spread constraints drawn from small vocabularies, so that selectors often match
// and topology domains often repeat. The same seed gives the same cluster.
package randcluster

import (
	"fmt"
	"math/rand/v2"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// TopologyKeys are the keys terms and constraints use; MissingKey is on no node.
var TopologyKeys = []string{v1.LabelHostname, v1.LabelTopologyZone, v1.LabelTopologyRegion, "rack", MissingKey}

// MissingKey is a topology key no node has.
const MissingKey = "example.com/missing"

// Namespaces are the pods' namespaces; NamespaceLabels gives their labels.
var Namespaces = []string{"ns-a", "ns-b", "ns-c"}

var namespaceLabels = map[string]labels.Set{
	"ns-a": {"team": "x", "env": "prod"},
	"ns-b": {"team": "y"},
	"ns-c": {},
}

// NamespaceLabels returns a namespace's labels, for affinity terms' namespace selectors.
func NamespaceLabels(ns string) labels.Set { return namespaceLabels[ns] }

// podLabels are the keys and values pods' labels and selectors draw from.
var podLabels = map[string][]string{
	"app":     {"web", "db", "cache"},
	"tier":    {"front", "back"},
	"version": {"1", "2", "3"},
}

var podLabelKeys = []string{"app", "tier", "version"}

// Generator draws clusters from a seeded source.
type Generator struct {
	r   *rand.Rand
	seq int
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Rand returns the generator's source, for tests' own choices.
func (g *Generator) Rand() *rand.Rand { return g.r }

func (g *Generator) chance(p float64) bool { return g.r.Float64() < p }

func (g *Generator) pick(s []string) string { return s[g.r.IntN(len(s))] }

// Cluster returns nodes and pods, every pod bound to one of the nodes.
func (g *Generator) Cluster(nodes, pods int) ([]*v1.Pod, []*v1.Node) {
	ns := make([]*v1.Node, nodes)
	for i := range ns {
		ns[i] = g.Node(fmt.Sprintf("node-%d", i))
	}
	ps := make([]*v1.Pod, pods)
	for i := range ps {
		node := ""
		if nodes > 0 {
			node = ns[g.r.IntN(nodes)].Name
		}
		ps[i] = g.Pod(node)
	}
	return ps, ns
}

// Node returns a node named name with random topology labels and maybe a taint.
func (g *Generator) Node(name string) *v1.Node {
	l := map[string]string{v1.LabelHostname: name}
	if g.chance(0.9) {
		l[v1.LabelTopologyZone] = g.pick([]string{"z1", "z2", "z3"})
	}
	if g.chance(0.8) {
		l[v1.LabelTopologyRegion] = g.pick([]string{"r1", "r2"})
	}
	if g.chance(0.5) {
		l["rack"] = g.pick([]string{"k1", "k2", "k3", "k4"})
	}
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
	if g.chance(0.2) {
		n.Spec.Taints = []v1.Taint{{Key: "dedicated", Value: "x", Effect: v1.TaintEffectNoSchedule}}
	}
	return n
}

// Pod returns a pod on node ("" for a pending pod) with random namespace, labels, affinity,
// topology spread constraints, node selector, tolerations and, rarely, a deletion timestamp.
func (g *Generator) Pod(node string) *v1.Pod {
	g.seq++
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: g.pick(Namespaces), Name: fmt.Sprintf("pod-%d", g.seq),
			UID: types.UID(fmt.Sprintf("uid-%d", g.seq)), Labels: g.labels()},
		Spec: v1.PodSpec{NodeName: node, Affinity: g.affinity(), TopologySpreadConstraints: g.constraints()},
	}
	if g.chance(0.1) {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	if g.chance(0.15) {
		p.Spec.NodeSelector = map[string]string{v1.LabelTopologyRegion: g.pick([]string{"r1", "r2"})}
	}
	if g.chance(0.3) {
		p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists}}
	}
	return p
}

// Relabel returns a copy of pod with new random labels (same UID), as a pod update.
func (g *Generator) Relabel(pod *v1.Pod) *v1.Pod {
	c := pod.DeepCopy()
	c.Labels = g.labels()
	return c
}

func (g *Generator) labels() map[string]string {
	l := map[string]string{}
	for _, k := range podLabelKeys {
		if g.chance(0.6) {
			l[k] = g.pick(podLabels[k])
		}
	}
	return l
}

func (g *Generator) affinity() *v1.Affinity {
	if g.chance(0.3) {
		return nil
	}
	a := &v1.Affinity{PodAffinity: &v1.PodAffinity{}, PodAntiAffinity: &v1.PodAntiAffinity{}}
	a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = g.terms(g.r.IntN(3) * g.r.IntN(2))
	a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = g.terms(g.r.IntN(3))
	a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = g.weighted(g.r.IntN(3))
	a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = g.weighted(g.r.IntN(3))
	if g.chance(0.15) {
		a.NodeAffinity = &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelTopologyZone, Operator: v1.NodeSelectorOpIn, Values: []string{"z1", "z2"}}}}}}}
	}
	return a
}

func (g *Generator) terms(n int) []v1.PodAffinityTerm {
	var out []v1.PodAffinityTerm
	for range n {
		out = append(out, g.Term())
	}
	return out
}

func (g *Generator) weighted(n int) []v1.WeightedPodAffinityTerm {
	var out []v1.WeightedPodAffinityTerm
	for range n {
		out = append(out, v1.WeightedPodAffinityTerm{Weight: int32(1 + g.r.IntN(100)), PodAffinityTerm: g.Term()})
	}
	return out
}

// Term returns a random pod affinity term. A small vocabulary makes equal terms on different
// pods common.
func (g *Generator) Term() v1.PodAffinityTerm {
	t := v1.PodAffinityTerm{TopologyKey: g.pick(TopologyKeys), LabelSelector: g.Selector()}
	switch g.r.IntN(6) {
	case 0:
		t.Namespaces = []string{g.pick(Namespaces)}
	case 1:
		t.Namespaces = []string{g.pick(Namespaces), g.pick(Namespaces)}
	case 2:
		t.NamespaceSelector = &metav1.LabelSelector{}
	case 3:
		t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "x"}}
		if g.chance(0.5) {
			t.Namespaces = []string{"ns-b"}
		}
	}
	return t
}

// Selector returns a random label selector: nil, empty, or a few requirements of any
// operator, equality ones most often.
func (g *Generator) Selector() *metav1.LabelSelector {
	switch g.r.IntN(10) {
	case 0:
		return nil
	case 1:
		return &metav1.LabelSelector{}
	}
	s := &metav1.LabelSelector{}
	for range 1 + g.r.IntN(2) {
		k := g.pick(podLabelKeys)
		switch g.r.IntN(7) {
		case 0, 1, 2:
			if s.MatchLabels == nil {
				s.MatchLabels = map[string]string{}
			}
			s.MatchLabels[k] = g.pick(podLabels[k])
		case 3:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn,
				Values: []string{g.pick(podLabels[k]), g.pick(podLabels[k])}})
		case 4:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpNotIn,
				Values: []string{g.pick(podLabels[k])}})
		case 5:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpExists})
		case 6:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpDoesNotExist})
		}
	}
	return s
}

func (g *Generator) constraints() []v1.TopologySpreadConstraint {
	var out []v1.TopologySpreadConstraint
	for range g.r.IntN(3) * g.r.IntN(2) {
		c := v1.TopologySpreadConstraint{MaxSkew: int32(1 + g.r.IntN(3)), TopologyKey: g.pick(TopologyKeys[:4]),
			WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: g.Selector()}
		if g.chance(0.5) {
			c.WhenUnsatisfiable = v1.ScheduleAnyway
		}
		if g.chance(0.05) {
			c.TopologyKey = MissingKey
		}
		if g.chance(0.2) {
			d := int32(1 + g.r.IntN(4))
			c.MinDomains = &d
		}
		if g.chance(0.2) {
			c.NodeAffinityPolicy = policy(g.chance(0.5))
		}
		if g.chance(0.3) {
			c.NodeTaintsPolicy = policy(g.chance(0.5))
		}
		if g.chance(0.2) {
			c.MatchLabelKeys = []string{g.pick(podLabelKeys)}
		}
		out = append(out, c)
	}
	return out
}

func policy(honor bool) *v1.NodeInclusionPolicy {
	p := v1.NodeInclusionPolicyIgnore
	if honor {
		p = v1.NodeInclusionPolicyHonor
	}
	return &p
}
