package podtopologyspread

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

const (
	preFilterKey framework.StateKey = "PreFilter" + Name
	preScoreKey  framework.StateKey = "PreScore" + Name
)

var (
	_ framework.PreFilterPlugin     = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin        = (*PodTopologySpread)(nil)
	_ framework.PreFilterExtensions = (*PodTopologySpread)(nil)
	_ framework.PreScorePlugin      = (*PodTopologySpread)(nil)
	_ framework.ScorePlugin         = (*PodTopologySpread)(nil)
)

type preFilterState struct {
	constraints []Constraint
	// matchNum[i] counts, per domain of constraint i, the matching pods on eligible nodes.
	matchNum []map[string]int
	// minMatch[i] is the smallest count over constraint i's domains.
	minMatch []int
	// self[i] is 1 when constraint i selects the incoming pod itself, else 0.
	self     []int
	affinity nodeaffinity.RequiredNodeAffinity
}

func (s *preFilterState) Clone() framework.StateData {
	c := &preFilterState{constraints: s.constraints, affinity: s.affinity, self: s.self, minMatch: append([]int(nil), s.minMatch...)}
	for _, m := range s.matchNum {
		n := make(map[string]int, len(m))
		for k, v := range m {
			n[k] = v
		}
		c.matchNum = append(c.matchNum, n)
	}
	return c
}

// minMatchNum is the global minimum that skew is measured against: 0 while fewer domains
// than minDomains exist.
func (s *preFilterState) minMatchNum(i int) int {
	if int32(len(s.matchNum[i])) < s.constraints[i].MinDomains {
		return 0
	}
	return s.minMatch[i]
}

func (s *preFilterState) recomputeMin(i int) {
	m := math.MaxInt
	for _, v := range s.matchNum[i] {
		m = min(m, v)
	}
	if m == math.MaxInt {
		m = 0
	}
	s.minMatch[i] = m
}

// PreFilter counts the matching pods in each domain of each DoNotSchedule constraint: from the
// snapshot's index alone (domains and selections) when every constraint counts every node, or
// else from a walk over the nodes for the domains and the index's candidates for the pods.
func (pl *PodTopologySpread) PreFilter(ctx context.Context, state *framework.CycleState, pod *v1.Pod, snap *framework.Snapshot) *framework.Status {
	cs, _, err := Constraints(pod, v1.DoNotSchedule, pl.defaultSelector(pod))
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{constraints: cs, matchNum: make([]map[string]int, len(cs)), minMatch: make([]int, len(cs)),
		self: make([]int, len(cs)), affinity: nodeaffinity.GetRequiredNodeAffinity(pod)}
	for i := range cs {
		if cs[i].Selector.Matches(labels.Set(pod.Labels)) {
			s.self[i] = 1
		}
	}
	everyNode := includesEveryNode(pod, cs)
	if everyNode && everyNodeHasKeys(snap, cs) && s.countFromSelections(pod, snap) {
		state.Write(preFilterKey, s)
		return nil
	}
	s.domainsFromNodes(ctx, pod, snap)
	for i := range cs {
		s.countMatching(i, pod, snap, everyNode)
		s.recomputeMin(i)
	}
	state.Write(preFilterKey, s)
	return nil
}

// countFromSelections counts every domain of each constraint's key from the index's
// selections; it requires that every constraint count every node. It reports false, counting
// nothing, when a selection is not to be had.
func (s *preFilterState) countFromSelections(pod *v1.Pod, snap *framework.Snapshot) bool {
	sels := make([]*framework.Selection, len(s.constraints))
	for i := range s.constraints {
		sel, ok := selectionOf(snap, &s.constraints[i], pod.Namespace)
		if !ok {
			return false
		}
		sels[i] = sel
	}
	for i, sel := range sels {
		values := snap.Domains.Values(s.constraints[i].TopologyKey)
		m := make(map[string]int, len(values))
		for v := range values {
			m[v] = int(sel.Domains[v].Count)
		}
		s.matchNum[i] = m
		s.recomputeMin(i)
	}
	return true
}

// domainsFromNodes gives each constraint, with a count of 0, the domains of the nodes that have
// every constraint's key and that the constraint includes.
func (s *preFilterState) domainsFromNodes(ctx context.Context, pod *v1.Pod, snap *framework.Snapshot) {
	cs := s.constraints
	nodes := snap.NodeInfoList
	included := make([]bool, len(nodes)*len(cs))
	framework.Parallelize(ctx, framework.Parallelism, len(nodes), func(n int) {
		node := nodes[n].Node()
		if !hasAllKeys(node.Labels, cs) {
			return
		}
		affOK := affinityMatches(s.affinity, node)
		for i := range cs {
			included[n*len(cs)+i] = cs[i].includes(pod, node, affOK)
		}
	})
	for i := range cs {
		s.matchNum[i] = map[string]int{}
	}
	for n, ni := range nodes {
		for i := range cs {
			if included[n*len(cs)+i] {
				s.matchNum[i][ni.Node().Labels[cs[i].TopologyKey]] += 0
			}
		}
	}
}

// countMatching counts, in the domains of constraint i, the pods it selects on the nodes that
// have every constraint's key and that it includes (all of those when everyNode), visiting
// only the index's candidates.
func (s *preFilterState) countMatching(i int, pod *v1.Pod, snap *framework.Snapshot, everyNode bool) {
	c := &s.constraints[i]
	m := s.matchNum[i]
	forEachCountable(snap, c.Selector, pod.Namespace, func(ni *framework.NodeInfo) {
		node := ni.Node()
		if !hasAllKeys(node.Labels, s.constraints) {
			return
		}
		if !everyNode && !c.includes(pod, node, affinityMatches(s.affinity, node)) {
			return
		}
		m[node.Labels[c.TopologyKey]]++
	})
}

// PreFilterExtensions returns the plugin.
func (pl *PodTopologySpread) PreFilterExtensions() framework.PreFilterExtensions { return pl }

func (pl *PodTopologySpread) update(state *framework.CycleState, pod *v1.Pod, other *framework.PodInfo, ni *framework.NodeInfo, delta int) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*preFilterState)
	node := ni.Node()
	if !hasAllKeys(node.Labels, s.constraints) || other.Pod.Namespace != pod.Namespace {
		return nil
	}
	affOK := affinityMatches(s.affinity, node)
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.Selector.Matches(labels.Set(other.Pod.Labels)) || !c.includes(pod, node, affOK) {
			continue
		}
		s.matchNum[i][node.Labels[c.TopologyKey]] += delta
		s.recomputeMin(i)
	}
	return nil
}

// AddPod counts a pod added during a simulation.
func (pl *PodTopologySpread) AddPod(_ context.Context, state *framework.CycleState, pod *v1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return pl.update(state, pod, add, ni, 1)
}

// RemovePod uncounts a pod removed during a simulation.
func (pl *PodTopologySpread) RemovePod(_ context.Context, state *framework.CycleState, pod *v1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return pl.update(state, pod, rm, ni, -1)
}

// Filter rejects node when placing the pod there would make some constraint's skew (the
// domain's count plus the pod, minus the global minimum) exceed maxSkew.
func (pl *PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*preFilterState)
	node := ni.Node()
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.TopologyKey]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
		}
		if skew := s.matchNum[i][v] + s.self[i] - s.minMatchNum(i); skew > int(c.MaxSkew) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
		}
	}
	return nil
}
