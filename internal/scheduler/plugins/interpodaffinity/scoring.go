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

// preScoreState is the score of each domain: what walks over every pod found (scores), plus
// the layers shared with the snapshot's index.
type preScoreState struct {
	scores scoreMap
	layers []scoreLayer
}

func (s *preScoreState) Clone() framework.StateData { return s }

// scoreLayer scores each domain of key from counts shared with the snapshot's index: weight
// times the count there (the pods an incoming pod's preferred term selects, or existing pods'
// required affinity terms that select the incoming pod), or, with summed, the summed weights
// there (existing pods' preferred terms that select the incoming pod).
type scoreLayer struct {
	key     string
	domains map[string]framework.DomainCount
	weight  int64
	summed  bool
}

// score returns what the layer gives the domain with value v of its key.
func (l *scoreLayer) score(v string) int64 {
	d := l.domains[v]
	if l.summed {
		return d.Weight
	}
	return l.weight * d.Count
}

// PreScore sums, per topology domain, the weights of matching terms in both directions, as
// upstream: the incoming pod's preferred terms over the existing pods they select (the index's
// selections), and existing pods' required affinity and preferred terms that select the
// incoming pod (the index's term groups, each checked once). It skips when no domain gets a
// score.
func (pl *InterPodAffinity) PreScore(ctx context.Context, state *framework.CycleState, pod *v1.Pod, snap *framework.Snapshot, _ []*framework.NodeInfo) *framework.Status {
	pi := framework.PodInfoOf(state, pod)
	s := &preScoreState{scores: scoreMap{}}
	for _, g := range matchingGroups(snap.Pods.RequiredAffinityGroups(), pod, pl.NamespaceLabels) {
		s.layers = append(s.layers, scoreLayer{key: g.Term.TopologyKey, domains: g.Domains, weight: HardPodAffinityWeight})
	}
	for _, g := range matchingGroups(snap.Pods.PreferredGroups(), pod, pl.NamespaceLabels) {
		s.layers = append(s.layers, scoreLayer{key: g.Term.TopologyKey, domains: g.Domains, summed: true})
	}
	pl.scoreOwnTerms(ctx, s, pi, snap)
	if len(s.layers) == 0 && len(s.scores) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, s)
	return nil
}

// scoreOwnTerms scores the existing pods the incoming pod's preferred terms select: a layer
// per term from the index's selections, and one walk over every pod for the terms the index
// cannot narrow down.
func (pl *InterPodAffinity) scoreOwnTerms(ctx context.Context, s *preScoreState, pi *framework.PodInfo, snap *framework.Snapshot) {
	walkAffinity := s.addSelections(snap.Pods, pi.PreferredAffinityTerms, 1)
	walkAnti := s.addSelections(snap.Pods, pi.PreferredAntiAffinityTerms, -1)
	if len(walkAffinity)+len(walkAnti) == 0 {
		return
	}
	var mu sync.Mutex
	all := snap.NodeInfoList
	framework.Parallelize(ctx, framework.Parallelism, len(all), func(i int) {
		ni := all[i]
		local := scoreMap{}
		for _, e := range ni.Pods {
			local.processTerms(walkAffinity, e.Pod, ni.Node(), pl.NamespaceLabels, 1)
			local.processTerms(walkAnti, e.Pod, ni.Node(), pl.NamespaceLabels, -1)
		}
		if len(local) > 0 {
			mu.Lock()
			s.scores.merge(local)
			mu.Unlock()
		}
	})
}

// addSelections adds a layer for each of terms that has a selection, each selected pod
// weighing the term's weight times mult, and returns the other terms.
func (s *preScoreState) addSelections(x *framework.PodIndex, terms []framework.WeightedAffinityTerm, mult int64) (rest []framework.WeightedAffinityTerm) {
	for i := range terms {
		t := &terms[i]
		sel, ok := x.Selection(&t.AffinityTerm, false)
		if !ok {
			rest = append(rest, *t)
			continue
		}
		if len(sel.Domains) > 0 {
			s.layers = append(s.layers, scoreLayer{key: t.TopologyKey, domains: sel.Domains, weight: int64(t.Weight) * mult})
		}
	}
	return rest
}

// Score sums the scores of node's domains.
func (pl *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	s := d.(*preScoreState)
	var score int64
	labels := ni.Node().Labels
	for k, vs := range s.scores {
		if v, ok := labels[k]; ok {
			score += vs[v]
		}
	}
	for i := range s.layers {
		if v, ok := labels[s.layers[i].key]; ok {
			score += s.layers[i].score(v)
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
