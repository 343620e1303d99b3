package framework

// DomainIndex counts a snapshot's nodes per label key and per label (key=value): the topology
// domains that exist, without walking the nodes.
type DomainIndex struct {
	values  map[string]map[string]int
	withKey map[string]int
}

// NewDomainIndex returns an empty index.
func NewDomainIndex() *DomainIndex {
	return &DomainIndex{values: map[string]map[string]int{}, withKey: map[string]int{}}
}

// NodesWithKey returns how many nodes have a label with key.
func (d *DomainIndex) NodesWithKey(key string) int { return d.withKey[key] }

// Values maps each value of key among the nodes to how many nodes have it. The caller must not
// modify the map.
func (d *DomainIndex) Values(key string) map[string]int { return d.values[key] }

// update adds (sign 1) or removes (sign -1) a node with nodeLabels.
func (d *DomainIndex) update(nodeLabels map[string]string, sign int) {
	for k, v := range nodeLabels {
		m := d.values[k]
		if m == nil {
			m = map[string]int{}
			d.values[k] = m
		}
		m[v] += sign
		if m[v] == 0 {
			delete(m, v)
		}
		d.withKey[k] += sign
		if d.withKey[k] == 0 {
			delete(d.withKey, k)
			delete(d.values, k)
		}
	}
}
