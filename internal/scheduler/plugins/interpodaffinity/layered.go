package interpodaffinity

import "github.com/skiff-project/skiff/internal/scheduler/framework"

// layeredCounts is a count per topology domain made of read-only layers, the snapshot's term
// groups that apply to the incoming pod (each instance counting one), plus a delta of its own
// that AddPod and RemovePod change. Sharing the groups keeps PreFilter's cost independent of
// how many domains they span.
type layeredCounts struct {
	layers []*framework.TermGroup
	delta  counts
}

// get returns the count of domain p.
func (l *layeredCounts) get(p topologyPair) int64 {
	n := l.delta[p]
	for _, g := range l.layers {
		if g.Term.TopologyKey == p.key {
			n += g.Domains[p.value].Count
		}
	}
	return n
}

// anyPositive reports whether a domain of a node with nodeLabels has a positive count.
func (l *layeredCounts) anyPositive(nodeLabels map[string]string) bool {
	for _, g := range l.layers {
		k := g.Term.TopologyKey
		if v, ok := nodeLabels[k]; ok && l.get(topologyPair{k, v}) > 0 {
			return true
		}
	}
	for p := range l.delta {
		if v, ok := nodeLabels[p.key]; ok && v == p.value && l.get(p) > 0 {
			return true
		}
	}
	return false
}

// clone shares the layers and copies the delta.
func (l *layeredCounts) clone() layeredCounts {
	return layeredCounts{layers: l.layers, delta: l.delta.clone()}
}
