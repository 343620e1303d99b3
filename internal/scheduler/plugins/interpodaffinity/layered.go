package interpodaffinity

import "github.com/skiff-project/skiff/internal/scheduler/framework"

// layer is a read-only count per value of one topology key, shared with the snapshot's index:
// a term group's instances or a selection's pods.
type layer struct {
	key     string
	domains map[string]framework.DomainCount
}

// layeredCounts is a count per topology domain: the sum of read-only layers and of counts of
// its own (what walks counted, and what AddPod and RemovePod change). Sharing the layers keeps
// PreFilter's cost independent of how many domains they span.
type layeredCounts struct {
	layers []layer
	own    counts
	// nonzero counts the domains whose total is not 0.
	nonzero int
}

// newLayeredCounts returns the sum of layers, with no counts of its own.
func newLayeredCounts(layers ...layer) layeredCounts {
	l := layeredCounts{layers: layers, own: counts{}}
	keys := map[string]bool{}
	for _, ly := range layers {
		if keys[ly.key] {
			l.nonzero = l.distinctDomains()
			return l
		}
		keys[ly.key] = true
		l.nonzero += len(ly.domains)
	}
	return l
}

// distinctDomains counts the domains of all layers, for layers that share a key.
func (l *layeredCounts) distinctDomains() int {
	seen := map[topologyPair]bool{}
	for _, ly := range l.layers {
		for v := range ly.domains {
			seen[topologyPair{ly.key, v}] = true
		}
	}
	return len(seen)
}

// get returns the count of domain p.
func (l *layeredCounts) get(p topologyPair) int64 {
	n := l.own[p]
	for _, ly := range l.layers {
		if ly.key == p.key {
			n += ly.domains[p.value].Count
		}
	}
	return n
}

// add adds v to domain p.
func (l *layeredCounts) add(p topologyPair, v int64) {
	before := l.get(p) != 0
	l.own.add(p, v)
	if after := l.get(p) != 0; after != before {
		if after {
			l.nonzero++
		} else {
			l.nonzero--
		}
	}
}

// merge adds every count of c.
func (l *layeredCounts) merge(c counts) {
	for p, v := range c {
		l.add(p, v)
	}
}

// empty reports whether every domain counts 0.
func (l *layeredCounts) empty() bool { return l.nonzero == 0 }

// anyPositive reports whether a domain of a node with nodeLabels has a positive count.
func (l *layeredCounts) anyPositive(nodeLabels map[string]string) bool {
	for _, ly := range l.layers {
		if v, ok := nodeLabels[ly.key]; ok && l.get(topologyPair{ly.key, v}) > 0 {
			return true
		}
	}
	for p := range l.own {
		if v, ok := nodeLabels[p.key]; ok && v == p.value && l.get(p) > 0 {
			return true
		}
	}
	return false
}

// clone shares the layers and copies the rest.
func (l *layeredCounts) clone() layeredCounts {
	return layeredCounts{layers: l.layers, own: l.own.clone(), nonzero: l.nonzero}
}

func groupLayers(groups []*framework.TermGroup) []layer {
	out := make([]layer, len(groups))
	for i, g := range groups {
		out[i] = layer{g.Term.TopologyKey, g.Domains}
	}
	return out
}

func selectionLayer(s *framework.Selection) layer {
	return layer{s.Term.TopologyKey, s.Domains}
}
