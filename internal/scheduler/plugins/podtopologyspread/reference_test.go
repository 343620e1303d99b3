package podtopologyspread

import (
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// This file keeps the plugin's counting as it was before the snapshot's index: a walk over
// every node and every pod on it. The differential tests hold the indexed plugin to it.

// refPreFilter is the full walk's PreFilter state; nil means Skip.
func refPreFilter(pl *PodTopologySpread, pod *v1.Pod, snap *framework.Snapshot) *preFilterState {
	cs, _, err := Constraints(pod, v1.DoNotSchedule, pl.defaultSelector(pod))
	if err != nil || len(cs) == 0 {
		return nil
	}
	s := &preFilterState{constraints: cs, matchNum: make([]map[string]int, len(cs)), minMatch: make([]int, len(cs)),
		self: make([]int, len(cs)), affinity: nodeaffinity.GetRequiredNodeAffinity(pod)}
	for i := range cs {
		s.matchNum[i] = map[string]int{}
		if cs[i].Selector.Matches(labels.Set(pod.Labels)) {
			s.self[i] = 1
		}
	}
	for _, ni := range snap.NodeInfoList {
		node := ni.Node()
		if !hasAllKeys(node.Labels, cs) {
			continue
		}
		affOK := affinityMatches(s.affinity, node)
		for i := range cs {
			if !cs[i].includes(pod, node, affOK) {
				continue
			}
			s.matchNum[i][node.Labels[cs[i].TopologyKey]] += refCountMatching(ni.Pods, cs[i].Selector, pod.Namespace)
		}
	}
	for i := range cs {
		s.recomputeMin(i)
	}
	return s
}

// refPreScore is the full walk's PreScore state; nil means Skip.
func refPreScore(pl *PodTopologySpread, pod *v1.Pod, snap *framework.Snapshot, filtered []*framework.NodeInfo) *preScoreState {
	cs, defaulted, err := Constraints(pod, v1.ScheduleAnyway, pl.defaultSelector(pod))
	if err != nil || len(cs) == 0 || len(filtered) == 0 {
		return nil
	}
	requireAll := !defaulted
	s := &preScoreState{constraints: cs, ignored: map[string]bool{}, counts: map[pair]*int64{}, weights: make([]float64, len(cs))}
	size := make([]int, len(cs))
	for _, ni := range filtered {
		l := ni.Node().Labels
		if requireAll && !hasAllKeys(l, cs) {
			s.ignored[ni.Node().Name] = true
			continue
		}
		for i := range cs {
			if cs[i].TopologyKey == v1.LabelHostname {
				continue
			}
			p := pair{cs[i].TopologyKey, l[cs[i].TopologyKey]}
			if s.counts[p] == nil {
				s.counts[p] = new(int64)
				size[i]++
			}
		}
	}
	for i := range cs {
		sz := size[i]
		if cs[i].TopologyKey == v1.LabelHostname {
			sz = len(filtered) - len(s.ignored)
		}
		s.weights[i] = math.Log(float64(sz + 2))
	}
	req := nodeaffinity.GetRequiredNodeAffinity(pod)
	for _, ni := range snap.NodeInfoList {
		node := ni.Node()
		if requireAll && !hasAllKeys(node.Labels, cs) {
			continue
		}
		affOK := -1
		for i := range cs {
			if cs[i].TopologyKey == v1.LabelHostname {
				continue
			}
			c := s.counts[pair{cs[i].TopologyKey, node.Labels[cs[i].TopologyKey]}]
			if c == nil {
				continue
			}
			if affOK < 0 {
				affOK = 0
				if affinityMatches(req, node) {
					affOK = 1
				}
			}
			if !cs[i].includes(pod, node, affOK == 1) {
				continue
			}
			*c += int64(refCountMatching(ni.Pods, cs[i].Selector, pod.Namespace))
		}
	}
	return s
}

// refCountMatching counts the pods in ns, not being deleted, that sel selects.
func refCountMatching(pods []*framework.PodInfo, sel labels.Selector, ns string) int {
	n := 0
	for _, p := range pods {
		if p.Pod.Namespace == ns && p.Pod.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Pod.Labels)) {
			n++
		}
	}
	return n
}
