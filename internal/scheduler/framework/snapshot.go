package framework

import (
	v1 "k8s.io/api/core/v1"
)

// Snapshot is the scheduler's view of the cluster for one cycle. The cache updates it in place
// between cycles, copying only the NodeInfos that changed; plugins must not modify it.
type Snapshot struct {
	NodeInfoMap map[string]*NodeInfo
	// NodeInfoList holds nodes (with a Node) interleaved across zones, as upstream's node tree.
	NodeInfoList []*NodeInfo
	// HavePodsWithAffinityList and HavePodsWithRequiredAntiAffinityList are the nodes whose
	// pods have (anti-)affinity terms, so InterPodAffinity need not walk every node.
	HavePodsWithAffinityList             []*NodeInfo
	HavePodsWithRequiredAntiAffinityList []*NodeInfo
	// ImageNumNodes counts the nodes holding each (normalized) image name.
	ImageNumNodes map[string]int
	Generation    int64
}

// NewEmptySnapshot returns a snapshot for the cache to fill.
func NewEmptySnapshot() *Snapshot {
	return &Snapshot{NodeInfoMap: map[string]*NodeInfo{}, ImageNumNodes: map[string]int{}}
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
	s.RebuildLists()
	return s
}

// Get returns the named node's info, or nil.
func (s *Snapshot) Get(name string) *NodeInfo { return s.NodeInfoMap[name] }

// NumNodes returns the number of nodes.
func (s *Snapshot) NumNodes() int { return len(s.NodeInfoList) }

// RebuildLists recomputes the node lists from the map.
func (s *Snapshot) RebuildLists() {
	s.NodeInfoList = zoneInterleaved(s.NodeInfoMap)
	s.RebuildAffinityLists()
}

// RebuildAffinityLists recomputes only the affinity lists.
func (s *Snapshot) RebuildAffinityLists() {
	s.HavePodsWithAffinityList = s.HavePodsWithAffinityList[:0]
	s.HavePodsWithRequiredAntiAffinityList = s.HavePodsWithRequiredAntiAffinityList[:0]
	for _, ni := range s.NodeInfoList {
		if len(ni.PodsWithAffinity) > 0 {
			s.HavePodsWithAffinityList = append(s.HavePodsWithAffinityList, ni)
		}
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			s.HavePodsWithRequiredAntiAffinityList = append(s.HavePodsWithRequiredAntiAffinityList, ni)
		}
	}
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
