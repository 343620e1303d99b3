package interpodaffinity

import (
	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// This file keeps the plugin's counting as it was before the snapshot's index: a walk over
// every pod. The differential tests hold the indexed plugin to it.

// refFilterState is the full walk's PreFilter state.
type refFilterState struct {
	existingAntiAffinity, affinity, antiAffinity counts
	podInfo                                      *framework.PodInfo
}

// refPreFilter is the full walk's PreFilter; nil means Skip.
func refPreFilter(pl *InterPodAffinity, pod *v1.Pod, snap *framework.Snapshot) *refFilterState {
	pi := framework.NewPodInfo(pod)
	hasOwn := len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms) > 0
	var withAntiAffinity []*framework.NodeInfo
	for _, ni := range snap.NodeInfoList {
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			withAntiAffinity = append(withAntiAffinity, ni)
		}
	}
	if !hasOwn && len(withAntiAffinity) == 0 {
		return nil
	}
	s := &refFilterState{existingAntiAffinity: counts{}, affinity: counts{}, antiAffinity: counts{}, podInfo: pi}
	for _, ni := range withAntiAffinity {
		for _, e := range ni.PodsWithRequiredAntiAffinity {
			addAntiAffinityTerms(s.existingAntiAffinity, pod, ni.Node(), e.RequiredAntiAffinityTerms, pl.NamespaceLabels, 1)
		}
	}
	if hasOwn {
		for _, ni := range snap.NodeInfoList {
			for _, e := range ni.Pods {
				addAffinityTerms(s.affinity, e.Pod, ni.Node(), pi.RequiredAffinityTerms, pl.NamespaceLabels, 1)
				addAntiAffinityTerms(s.antiAffinity, e.Pod, ni.Node(), pi.RequiredAntiAffinityTerms, pl.NamespaceLabels, 1)
			}
		}
	}
	return s
}

// update is the full walk's AddPod (v 1) and RemovePod (v -1).
func (s *refFilterState) update(pl *InterPodAffinity, other *framework.PodInfo, ni *framework.NodeInfo, v int64) {
	node := ni.Node()
	addAntiAffinityTerms(s.existingAntiAffinity, s.podInfo.Pod, node, other.RequiredAntiAffinityTerms, pl.NamespaceLabels, v)
	addAffinityTerms(s.affinity, other.Pod, node, s.podInfo.RequiredAffinityTerms, pl.NamespaceLabels, v)
	addAntiAffinityTerms(s.antiAffinity, other.Pod, node, s.podInfo.RequiredAntiAffinityTerms, pl.NamespaceLabels, v)
}

// refFilter is the full walk's Filter; "" means the node fits.
func refFilter(pl *InterPodAffinity, s *refFilterState, node *v1.Node) string {
	switch {
	case !refSatisfiesAffinity(s, node, pl.NamespaceLabels):
		return ErrReasonAffinityRulesNotMatch
	case !refSatisfiesAntiAffinity(s, node):
		return ErrReasonAntiAffinityRulesNotMatch
	case !refSatisfiesExistingAntiAffinity(s.existingAntiAffinity, node):
		return ErrReasonExistingAntiAffinityRulesNotMatch
	}
	return ""
}

func refSatisfiesAffinity(s *refFilterState, node *v1.Node, ns framework.NamespaceLabels) bool {
	podsExist := true
	for i := range s.podInfo.RequiredAffinityTerms {
		t := &s.podInfo.RequiredAffinityTerms[i]
		tv, ok := node.Labels[t.TopologyKey]
		if !ok {
			return false
		}
		if s.affinity[topologyPair{t.TopologyKey, tv}] <= 0 {
			podsExist = false
		}
	}
	if podsExist {
		return true
	}
	return len(s.affinity) == 0 && matchesAll(s.podInfo.RequiredAffinityTerms, s.podInfo.Pod, ns)
}

func refSatisfiesAntiAffinity(s *refFilterState, node *v1.Node) bool {
	if len(s.antiAffinity) == 0 {
		return true
	}
	for i := range s.podInfo.RequiredAntiAffinityTerms {
		t := &s.podInfo.RequiredAntiAffinityTerms[i]
		if tv, ok := node.Labels[t.TopologyKey]; ok && s.antiAffinity[topologyPair{t.TopologyKey, tv}] > 0 {
			return false
		}
	}
	return true
}

func refSatisfiesExistingAntiAffinity(c counts, node *v1.Node) bool {
	if len(c) == 0 {
		return true
	}
	for k, v := range node.Labels {
		if c[topologyPair{k, v}] > 0 {
			return false
		}
	}
	return true
}

// refPreScore is the full walk's PreScore; nil means Skip.
func refPreScore(pl *InterPodAffinity, pod *v1.Pod, snap *framework.Snapshot) scoreMap {
	pi := framework.NewPodInfo(pod)
	hasPreferred := len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
	var list []*framework.NodeInfo
	for _, ni := range snap.NodeInfoList {
		if hasPreferred || len(ni.PodsWithAffinity) > 0 {
			list = append(list, ni)
		}
	}
	total := scoreMap{}
	for _, ni := range list {
		pods := ni.PodsWithAffinity
		if hasPreferred {
			pods = ni.Pods
		}
		for _, e := range pods {
			refProcessExistingPod(total, pi, e, ni.Node(), pl.NamespaceLabels)
		}
	}
	if len(total) == 0 {
		return nil
	}
	return total
}

func refProcessExistingPod(m scoreMap, in, existing *framework.PodInfo, node *v1.Node, ns framework.NamespaceLabels) {
	if len(node.Labels) == 0 {
		return
	}
	m.processTerms(in.PreferredAffinityTerms, existing.Pod, node, ns, 1)
	m.processTerms(in.PreferredAntiAffinityTerms, existing.Pod, node, ns, -1)
	for i := range existing.RequiredAffinityTerms {
		m.processTerm(&existing.RequiredAffinityTerms[i], HardPodAffinityWeight, in.Pod, node, ns, 1)
	}
	m.processTerms(existing.PreferredAffinityTerms, in.Pod, node, ns, 1)
	m.processTerms(existing.PreferredAntiAffinityTerms, in.Pod, node, ns, -1)
}

// refScore is the full walk's Score.
func refScore(m scoreMap, node *v1.Node) int64 {
	var score int64
	for k, vs := range m {
		if v, ok := node.Labels[k]; ok {
			score += vs[v]
		}
	}
	return score
}
