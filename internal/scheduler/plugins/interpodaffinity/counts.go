package interpodaffinity

import (
	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

type topologyPair struct{ key, value string }

// counts is a count per topology domain; it holds no zero entries.
type counts map[topologyPair]int64

// adder is a count per topology domain: counts or layeredCounts.
type adder interface {
	add(p topologyPair, v int64)
}

func (c counts) add(p topologyPair, v int64) {
	c[p] += v
	if c[p] == 0 {
		delete(c, p)
	}
}

func (c counts) merge(o counts) {
	for k, v := range o {
		c.add(k, v)
	}
}

func (c counts) clone() counts {
	n := make(counts, len(c))
	for k, v := range c {
		n[k] = v
	}
	return n
}

// addAffinityTerms adds v to existing's domains on node for each of terms, when existing
// matches all of them.
func addAffinityTerms(c adder, existing *v1.Pod, node *v1.Node, terms []framework.AffinityTerm, ns framework.NamespaceLabels, v int64) {
	if !matchesAll(terms, existing, ns) {
		return
	}
	for i := range terms {
		if tv, ok := node.Labels[terms[i].TopologyKey]; ok {
			c.add(topologyPair{terms[i].TopologyKey, tv}, v)
		}
	}
}

// addAntiAffinityTerms adds v to target's domain on node for each of terms it matches.
func addAntiAffinityTerms(c adder, target *v1.Pod, node *v1.Node, terms []framework.AffinityTerm, ns framework.NamespaceLabels, v int64) {
	for i := range terms {
		if terms[i].Matches(target, ns) {
			if tv, ok := node.Labels[terms[i].TopologyKey]; ok {
				c.add(topologyPair{terms[i].TopologyKey, tv}, v)
			}
		}
	}
}

func matchesAll(terms []framework.AffinityTerm, pod *v1.Pod, ns framework.NamespaceLabels) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod, ns) {
			return false
		}
	}
	return true
}
