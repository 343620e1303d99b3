package framework

import (
	"maps"

	v1 "k8s.io/api/core/v1"
)

// Snapshot is the scheduler's view of the cluster for one cycle. The cache updates it in place
// between cycles, copying only the NodeInfos that changed; plugins must not modify it (asking
// its PodIndex for Selections is allowed).
type Snapshot struct {
	NodeInfoMap map[string]*NodeInfo
	// NodeInfoList holds nodes (with a Node) interleaved across zones, as upstream's node tree.
	NodeInfoList []*NodeInfo
	// ImageNumNodes counts the nodes holding each (normalized) image name.
	ImageNumNodes map[string]int
	// Pods indexes the pods on the nodes and Domains the nodes' labels. SetNodeInfo and
	// RemoveNodeInfo keep them in step with NodeInfoMap.
	Pods       *PodIndex
	Domains    *DomainIndex
	Generation int64
	// was is reindex's scratch set, empty between calls, kept to save an allocation per
	// changed node.
	was map[*PodInfo]bool
}

// NewEmptySnapshot returns a snapshot for the cache to fill.
func NewEmptySnapshot() *Snapshot {
	return &Snapshot{NodeInfoMap: map[string]*NodeInfo{}, ImageNumNodes: map[string]int{}, Pods: NewPodIndex(), Domains: NewDomainIndex()}
}

// NewSnapshot builds a snapshot from objects, for tests and simulations. Pods with a
// spec.nodeName naming a node are placed on it.
func NewSnapshot(pods []*v1.Pod, nodes []*v1.Node) *Snapshot {
	s := NewEmptySnapshot()
	for _, n := range nodes {
		ni := NewNodeInfo()
		ni.SetNode(n)
		s.NodeInfoMap[n.Name] = ni
		for name := range ni.ImageSizes {
			s.ImageNumNodes[name]++
		}
	}
	for _, p := range pods {
		if ni := s.NodeInfoMap[p.Spec.NodeName]; ni != nil {
			ni.AddPod(p)
		}
	}
	s.rebuildIndexes()
	s.RebuildLists()
	return s
}

// SetNodeInfo makes the snapshot's NodeInfo for ni's node (ni.Node() must not be nil) a
// shallow copy of ni, overwriting the one already there in place so that its pointer stays valid, and updates
// the indexes with the difference. It returns the snapshot's NodeInfo. The caller rebuilds the
// node lists when needed.
func (s *Snapshot) SetNodeInfo(ni *NodeInfo) *NodeInfo {
	name := ni.Node().Name
	existing := s.NodeInfoMap[name]
	if existing == nil {
		existing = &NodeInfo{}
		s.NodeInfoMap[name] = existing
	}
	old := *existing
	*existing = *ni
	s.reindex(existing, &old)
	return existing
}

// RemoveNodeInfo drops the named node and unindexes its pods. The caller rebuilds the node
// lists.
func (s *Snapshot) RemoveNodeInfo(name string) {
	ni := s.NodeInfoMap[name]
	if ni == nil {
		return
	}
	delete(s.NodeInfoMap, name)
	l := nodeLabels(ni)
	if ni.Node() != nil {
		s.Domains.update(l, -1)
	}
	for _, p := range ni.Pods {
		s.Pods.remove(p, ni, l)
	}
}

func nodeLabels(ni *NodeInfo) map[string]string {
	if ni.Node() == nil {
		return nil
	}
	return ni.Node().Labels
}

// reindex updates the indexes for ni, which held old's content. When the node's labels are
// unchanged only the pods that came or went are touched; otherwise everything on the node is
// counted again under the new labels.
func (s *Snapshot) reindex(ni, old *NodeInfo) {
	oldLabels, newLabels := nodeLabels(old), nodeLabels(ni)
	if old.Node() == nil || !maps.Equal(oldLabels, newLabels) {
		if old.Node() != nil {
			s.Domains.update(oldLabels, -1)
		}
		s.Domains.update(newLabels, 1)
		for _, p := range old.Pods {
			s.Pods.remove(p, ni, oldLabels)
		}
		for _, p := range ni.Pods {
			s.Pods.add(p, ni, newLabels)
		}
		return
	}
	if s.was == nil {
		s.was = map[*PodInfo]bool{}
	}
	was := s.was
	for _, p := range old.Pods {
		was[p] = true
	}
	for _, p := range ni.Pods {
		if was[p] {
			delete(was, p)
		} else {
			s.Pods.add(p, ni, newLabels)
		}
	}
	for p := range was {
		s.Pods.remove(p, ni, oldLabels)
	}
	clear(was)
}

// rebuildIndexes indexes every NodeInfo from scratch.
func (s *Snapshot) rebuildIndexes() {
	s.Pods, s.Domains = NewPodIndex(), NewDomainIndex()
	for _, ni := range s.NodeInfoMap {
		if ni.Node() == nil {
			continue
		}
		s.Domains.update(ni.Node().Labels, 1)
		for _, p := range ni.Pods {
			s.Pods.add(p, ni, ni.Node().Labels)
		}
	}
}

// CheckIndexes compares the incrementally kept indexes with ones built from scratch and
// describes the first difference. It costs a full rebuild: it is for tests.
func (s *Snapshot) CheckIndexes() error {
	fresh := &Snapshot{NodeInfoMap: s.NodeInfoMap}
	fresh.rebuildIndexes()
	if err := s.Domains.diff(fresh.Domains); err != nil {
		return err
	}
	return s.Pods.diff(fresh.Pods)
}

// Get returns the named node's info, or nil.
func (s *Snapshot) Get(name string) *NodeInfo { return s.NodeInfoMap[name] }

// NumNodes returns the number of nodes.
func (s *Snapshot) NumNodes() int { return len(s.NodeInfoList) }

// RebuildLists recomputes NodeInfoList from the map.
func (s *Snapshot) RebuildLists() {
	s.NodeInfoList = zoneInterleaved(s.NodeInfoMap)
}

// ZoneOf returns a node's zone key (region and zone labels), as upstream's node tree groups.
func ZoneOf(node *v1.Node) string {
	r, z := node.Labels[v1.LabelTopologyRegion], node.Labels[v1.LabelTopologyZone]
	if r == "" && z == "" {
		return ""
	}
	return r + ":\x00:" + z
}

// zoneInterleaved lists nodes one zone at a time in turn, so that sampling a prefix of the
// list reaches every zone. Within a zone, nodes keep name order for determinism.
func zoneInterleaved(m map[string]*NodeInfo) []*NodeInfo {
	zones := map[string][]*NodeInfo{}
	var order []string
	for _, ni := range m {
		if ni.Node() == nil {
			continue
		}
		z := ZoneOf(ni.Node())
		if _, ok := zones[z]; !ok {
			order = append(order, z)
		}
		zones[z] = append(zones[z], ni)
	}
	sortStrings(order)
	total := 0
	for _, z := range order {
		l := zones[z]
		sortNodeInfos(l)
		total += len(l)
	}
	out := make([]*NodeInfo, 0, total)
	for i := 0; len(out) < total; i++ {
		for _, z := range order {
			if l := zones[z]; i < len(l) {
				out = append(out, l[i])
			}
		}
	}
	return out
}
