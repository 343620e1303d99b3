package interpodaffinity

import (
	"context"
	"math"
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// scoreMap is topologyKey -> value -> score.
type scoreMap map[string]map[string]int64

func (m scoreMap) processTerm(t *framework.AffinityTerm, weight int32, target *v1.Pod, node *v1.Node, ns framework.NamespaceLabels, mult int64) {
	if !t.Matches(target, ns) {
		return
	}
	tv, ok := node.Labels[t.TopologyKey]
	if !ok {
		return
	}
	if m[t.TopologyKey] == nil {
		m[t.TopologyKey] = map[string]int64{}
	}
	m[t.TopologyKey][tv] += int64(weight) * mult
}

func (m scoreMap) processTerms(terms []framework.WeightedAffinityTerm, target *v1.Pod, node *v1.Node, ns framework.NamespaceLabels, mult int64) {
	for i := range terms {
		m.processTerm(&terms[i].AffinityTerm, terms[i].Weight, target, node, ns, mult)
	}
}

func (m scoreMap) merge(o scoreMap) {
	for k, vs := range o {
		if m[k] == nil {
			m[k] = vs
			continue
		}
		for v, s := range vs {
			m[k][v] += s
		}
	}
}

type preScoreState struct{ scores scoreMap }

func (s *preScoreState) Clone() framework.StateData { return s }

// processExistingPod adds what one existing pod contributes to each domain's score, as
// upstream: the incoming pod's preferred terms matching it, and its own required affinity
// (weight HardPodAffinityWeight) and preferred terms matching the incoming pod.
func processExistingPod(m scoreMap, in, existing *framework.PodInfo, node *v1.Node, ns framework.NamespaceLabels) {
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

// PreScore sums, per topology domain, the weights of matching terms in both directions. It
// skips when no domain gets a score.
func (pl *InterPodAffinity) PreScore(ctx context.Context, state *framework.CycleState, pod *v1.Pod, snap *framework.Snapshot, _ []*framework.NodeInfo) *framework.Status {
	pi := framework.PodInfoOf(state, pod)
	hasPreferred := len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
	list := snap.HavePodsWithAffinityList
	if hasPreferred {
		list = snap.NodeInfoList
	}
	if len(list) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	total := scoreMap{}
	var mu sync.Mutex
	framework.Parallelize(ctx, framework.Parallelism, len(list), func(i int) {
		ni := list[i]
		pods := ni.PodsWithAffinity
		if hasPreferred {
			pods = ni.Pods
		}
		local := scoreMap{}
		for _, e := range pods {
			processExistingPod(local, pi, e, ni.Node(), pl.NamespaceLabels)
		}
		if len(local) > 0 {
			mu.Lock()
			total.merge(local)
			mu.Unlock()
		}
	})
	if len(total) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, &preScoreState{scores: total})
	return nil
}

// Score sums the scores of node's domains.
func (pl *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var score int64
	labels := ni.Node().Labels
	for k, vs := range d.(*preScoreState).scores {
		if v, ok := labels[k]; ok {
			score += vs[v]
		}
	}
	return score, nil
}

// ScoreExtensions returns the plugin.
func (pl *InterPodAffinity) ScoreExtensions() framework.ScoreExtensions { return pl }

// NormalizeScore maps [min, max] onto [0, 100]; all equal gives 0.
func (pl *InterPodAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	NormalizeMinMax(scores)
	return nil
}

// NormalizeMinMax is upstream's InterPodAffinity normalization.
func NormalizeMinMax(scores framework.NodeScoreList) {
	if len(scores) == 0 {
		return
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range scores {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	diff := hi - lo
	for i := range scores {
		f := 0.0
		if diff > 0 {
			f = float64(framework.MaxNodeScore) * float64(scores[i].Score-lo) / float64(diff)
		}
		scores[i].Score = int64(f)
	}
}
