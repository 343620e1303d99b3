package podtopologyspread

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

type pair struct{ key, value string }

type preScoreState struct {
	constraints []Constraint
	ignored     map[string]bool
	// counts holds, per domain being scored, the matching pods in it.
	counts  map[pair]*int64
	weights []float64
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore counts, for each ScheduleAnyway constraint, the matching pods in every domain that
// a feasible node belongs to. Hostname domains are counted at Score time.
func (pl *PodTopologySpread) PreScore(ctx context.Context, state *framework.CycleState, pod *v1.Pod, snap *framework.Snapshot, filtered []*framework.NodeInfo) *framework.Status {
	cs, defaulted, err := Constraints(pod, v1.ScheduleAnyway, pl.defaultSelector(pod))
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(cs) == 0 || len(filtered) == 0 {
		return framework.NewStatus(framework.Skip)
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
	s.countMatching(pod, snap, requireAll)
	state.Write(preScoreKey, s)
	return nil
}

// countMatching counts, for each constraint but hostname ones, the pods it selects in the
// domains being scored, on the nodes it includes (and that have every key when requireAll):
// from the index's selections when every constraint counts every node, else visiting the
// index's candidates.
func (s *preScoreState) countMatching(pod *v1.Pod, snap *framework.Snapshot, requireAll bool) {
	everyNode := includesEveryNode(pod, s.constraints)
	if everyNode && everyNodeHasKeys(snap, s.constraints) && s.countFromSelections(pod, snap) {
		return
	}
	cs := s.constraints
	req := nodeaffinity.GetRequiredNodeAffinity(pod)
	for i := range cs {
		if cs[i].TopologyKey == v1.LabelHostname {
			continue
		}
		forEachCountable(snap, cs[i].Selector, pod.Namespace, func(ni *framework.NodeInfo) {
			node := ni.Node()
			if requireAll && !hasAllKeys(node.Labels, cs) {
				return
			}
			c := s.counts[pair{cs[i].TopologyKey, node.Labels[cs[i].TopologyKey]}]
			if c == nil || !everyNode && !cs[i].includes(pod, node, affinityMatches(req, node)) {
				return
			}
			*c++
		})
	}
}

// countFromSelections adds to each domain being scored the count of every constraint (but
// hostname ones) on its key, from the index's selections; it requires that every constraint
// count every node. It reports false, counting nothing, when a selection is not to be had.
func (s *preScoreState) countFromSelections(pod *v1.Pod, snap *framework.Snapshot) bool {
	cs := s.constraints
	sels := make([]*framework.Selection, len(cs))
	for i := range cs {
		if cs[i].TopologyKey == v1.LabelHostname {
			continue
		}
		sel, ok := selectionOf(snap, &cs[i], pod.Namespace)
		if !ok {
			return false
		}
		sels[i] = sel
	}
	for p, c := range s.counts {
		for i, sel := range sels {
			if sel != nil && cs[i].TopologyKey == p.key {
				*c += sel.Domains[p.value].Count
			}
		}
	}
	return true
}

// Score is, over the constraints, count * log(domains + 2) + (maxSkew - 1): lower is better.
func (pl *PodTopologySpread) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	s := d.(*preScoreState)
	node := ni.Node()
	if s.ignored[node.Name] {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.TopologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if c.TopologyKey == v1.LabelHostname {
			cnt = int64(CountMatching(ni.Pods, c.Selector, pod.Namespace))
		} else if p := s.counts[pair{c.TopologyKey, v}]; p != nil {
			cnt = *p
		}
		score += float64(cnt)*s.weights[i] + float64(c.MaxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// ScoreExtensions returns the plugin.
func (pl *PodTopologySpread) ScoreExtensions() framework.ScoreExtensions { return pl }

// NormalizeScore reverses scores onto [0, 100] as upstream: max*(max+min-s)/max; ignored
// nodes (missing a topology key) get 0.
func (pl *PodTopologySpread) NormalizeScore(_ context.Context, state *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return nil
	}
	s := d.(*preScoreState)
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, sc := range scores {
		if s.ignored[sc.Name] {
			continue
		}
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	for i := range scores {
		switch {
		case s.ignored[scores[i].Name]:
			scores[i].Score = 0
		case hi == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (hi + lo - scores[i].Score) / hi
		}
	}
	return nil
}
