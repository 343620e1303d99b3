// Package interpodaffinity places pods relative to other pods: required and preferred pod
// affinity and anti-affinity over topology keys, including the anti-affinity of pods already
// running (an existing pod's required anti-affinity keeps matching pods out of its domain).
package interpodaffinity

import (
	"context"
	"iter"
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "InterPodAffinity"

// Upstream's reasons.
const (
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
)

// HardPodAffinityWeight is upstream's default weight of an existing pod's required affinity
// when scoring the pods it selects.
const HardPodAffinityWeight = 1

const (
	preFilterKey framework.StateKey = "PreFilter" + Name
	preScoreKey  framework.StateKey = "PreScore" + Name
)

// InterPodAffinity is the filter and score plugin. NamespaceLabels resolves namespace selectors
// in affinity terms; nil treats every namespace as unlabelled.
type InterPodAffinity struct {
	NamespaceLabels framework.NamespaceLabels
}

var (
	_ framework.PreFilterPlugin     = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin        = (*InterPodAffinity)(nil)
	_ framework.PreFilterExtensions = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin      = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin         = (*InterPodAffinity)(nil)
)

// Name returns Name.
func (*InterPodAffinity) Name() string { return Name }

type preFilterState struct {
	// existingAntiAffinity counts, per domain, existing pods' required anti-affinity terms that
	// match the incoming pod.
	existingAntiAffinity layeredCounts
	// affinity and antiAffinity count, per domain, existing pods matching the incoming pod's
	// required terms.
	affinity     layeredCounts
	antiAffinity layeredCounts
	podInfo      *framework.PodInfo
}

func (s *preFilterState) Clone() framework.StateData {
	return &preFilterState{existingAntiAffinity: s.existingAntiAffinity.clone(), affinity: s.affinity.clone(),
		antiAffinity: s.antiAffinity.clone(), podInfo: s.podInfo}
}

// PreFilter counts the pods that constrain the incoming pod and those its own required terms
// select, from the snapshot's index: existing pods' anti-affinity from its term groups, each
// checked once against the pod, and the pod's own terms from its selections (or candidates),
// walking every pod only for terms the index cannot narrow down.
func (pl *InterPodAffinity) PreFilter(ctx context.Context, state *framework.CycleState, pod *v1.Pod, snap *framework.Snapshot) *framework.Status {
	pi := framework.PodInfoOf(state, pod)
	if pi.ParseError != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, pi.ParseError.Error())
	}
	hasOwn := len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms) > 0
	if !hasOwn && !snap.Pods.HasRequiredAntiAffinity() {
		return framework.NewStatus(framework.Skip)
	}
	existing := groupLayers(matchingGroups(snap.Pods.RequiredAntiAffinityGroups(), pod, pl.NamespaceLabels))
	s := &preFilterState{existingAntiAffinity: newLayeredCounts(existing...), podInfo: pi}
	pl.countOwnTerms(ctx, s, snap)
	state.Write(preFilterKey, s)
	return nil
}

// matchingGroups returns the groups with some domain whose term selects pod.
func matchingGroups(groups iter.Seq[*framework.TermGroup], pod *v1.Pod, ns framework.NamespaceLabels) []*framework.TermGroup {
	var out []*framework.TermGroup
	for g := range groups {
		if len(g.Domains) > 0 && g.Term.Matches(pod, ns) {
			out = append(out, g)
		}
	}
	return out
}

// countOwnTerms counts the existing pods that the incoming pod's required affinity terms (all
// of them together) and required anti-affinity terms (each) select. A single affinity term and
// each anti-affinity term come from the index's selections; several affinity terms visit the
// candidates of the narrowest; terms the index cannot narrow down share one walk over every
// pod.
func (pl *InterPodAffinity) countOwnTerms(ctx context.Context, s *preFilterState, snap *framework.Snapshot) {
	var walkAffinity, walkAnti []framework.AffinityTerm
	switch terms := s.podInfo.RequiredAffinityTerms; {
	case len(terms) == 0:
		s.affinity = newLayeredCounts()
	case len(terms) == 1:
		if sel, ok := snap.Pods.Selection(&terms[0], false); ok {
			s.affinity = newLayeredCounts(selectionLayer(sel))
			break
		}
		s.affinity, walkAffinity = newLayeredCounts(), terms
	default:
		s.affinity = newLayeredCounts()
		c, ok := narrowest(snap.Pods, terms)
		if !ok {
			walkAffinity = terms
			break
		}
		for e := range c.All() {
			addAffinityTerms(&s.affinity, e.Info.Pod, e.Node.Node(), terms, pl.NamespaceLabels, 1)
		}
	}
	var anti []layer
	for i := range s.podInfo.RequiredAntiAffinityTerms {
		t := &s.podInfo.RequiredAntiAffinityTerms[i]
		if sel, ok := snap.Pods.Selection(t, false); ok {
			anti = append(anti, selectionLayer(sel))
		} else {
			walkAnti = append(walkAnti, *t)
		}
	}
	s.antiAffinity = newLayeredCounts(anti...)
	if len(walkAffinity)+len(walkAnti) > 0 {
		pl.walkAllPods(ctx, s, snap, walkAffinity, walkAnti)
	}
}

// narrowest returns the fewest candidates that some one of terms allows: a pod selected by all
// of them is among every term's candidates. ok is false when no term can be narrowed down.
func narrowest(x *framework.PodIndex, terms []framework.AffinityTerm) (best framework.Candidates, ok bool) {
	for i := range terms {
		c, cok := x.TermCandidates(&terms[i])
		if cok && (!ok || c.Len() < best.Len()) {
			best, ok = c, true
		}
	}
	return best, ok
}

// walkAllPods counts, over every pod of every node, those selected by all of affinity and by
// each of antiAffinity.
func (pl *InterPodAffinity) walkAllPods(ctx context.Context, s *preFilterState, snap *framework.Snapshot, affinity, antiAffinity []framework.AffinityTerm) {
	var mu sync.Mutex
	all := snap.NodeInfoList
	framework.Parallelize(ctx, framework.Parallelism, len(all), func(i int) {
		ni := all[i]
		aff, anti := counts{}, counts{}
		for _, e := range ni.Pods {
			addAffinityTerms(aff, e.Pod, ni.Node(), affinity, pl.NamespaceLabels, 1)
			addAntiAffinityTerms(anti, e.Pod, ni.Node(), antiAffinity, pl.NamespaceLabels, 1)
		}
		if len(aff)+len(anti) > 0 {
			mu.Lock()
			s.affinity.merge(aff)
			s.antiAffinity.merge(anti)
			mu.Unlock()
		}
	})
}

// PreFilterExtensions returns the plugin: its counts change as pods are added or removed.
func (pl *InterPodAffinity) PreFilterExtensions() framework.PreFilterExtensions { return pl }

func (pl *InterPodAffinity) updateWithPod(state *framework.CycleState, other *framework.PodInfo, ni *framework.NodeInfo, v int64) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*preFilterState)
	node := ni.Node()
	addAntiAffinityTerms(&s.existingAntiAffinity, s.podInfo.Pod, node, other.RequiredAntiAffinityTerms, pl.NamespaceLabels, v)
	addAffinityTerms(&s.affinity, other.Pod, node, s.podInfo.RequiredAffinityTerms, pl.NamespaceLabels, v)
	addAntiAffinityTerms(&s.antiAffinity, other.Pod, node, s.podInfo.RequiredAntiAffinityTerms, pl.NamespaceLabels, v)
	return nil
}

// AddPod counts a pod added to ni during a simulation.
func (pl *InterPodAffinity) AddPod(_ context.Context, state *framework.CycleState, _ *v1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return pl.updateWithPod(state, add, ni, 1)
}

// RemovePod uncounts a pod removed from ni during a simulation.
func (pl *InterPodAffinity) RemovePod(_ context.Context, state *framework.CycleState, _ *v1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return pl.updateWithPod(state, rm, ni, -1)
}

// Filter checks, in upstream's order, the pod's required affinity, its required anti-affinity
// and the existing pods' anti-affinity against node's domains.
func (pl *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*preFilterState)
	node := ni.Node()
	if !satisfiesAffinity(s, node, pl.NamespaceLabels) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	}
	if !satisfiesAntiAffinity(s, node) {
		return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
	}
	if !satisfiesExistingAntiAffinity(s, node) {
		return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
	}
	return nil
}

func satisfiesAffinity(s *preFilterState, node *v1.Node, ns framework.NamespaceLabels) bool {
	podsExist := true
	for i := range s.podInfo.RequiredAffinityTerms {
		t := &s.podInfo.RequiredAffinityTerms[i]
		tv, ok := node.Labels[t.TopologyKey]
		if !ok {
			return false
		}
		if s.affinity.get(topologyPair{t.TopologyKey, tv}) <= 0 {
			podsExist = false
		}
	}
	if podsExist {
		return true
	}
	// The first pod of a group with affinity to itself may go anywhere its terms' keys exist.
	return s.affinity.empty() && matchesAll(s.podInfo.RequiredAffinityTerms, s.podInfo.Pod, ns)
}

func satisfiesAntiAffinity(s *preFilterState, node *v1.Node) bool {
	if s.antiAffinity.empty() {
		return true
	}
	for i := range s.podInfo.RequiredAntiAffinityTerms {
		t := &s.podInfo.RequiredAntiAffinityTerms[i]
		if tv, ok := node.Labels[t.TopologyKey]; ok && s.antiAffinity.get(topologyPair{t.TopologyKey, tv}) > 0 {
			return false
		}
	}
	return true
}

func satisfiesExistingAntiAffinity(s *preFilterState, node *v1.Node) bool {
	return !s.existingAntiAffinity.anyPositive(node.Labels)
}
