package podtopologyspread

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff-project/skiff/internal/scheduler/cache"
	"github.com/skiff-project/skiff/internal/scheduler/framework"
	"github.com/skiff-project/skiff/internal/scheduler/randcluster"
)

// TestIndexedMatchesFullWalk holds the indexed PreFilter and PreScore to the walk over every
// node (reference_test.go) on random clusters, built directly or through a cache's
// incremental snapshot updates: equal counts per domain, equal Filter outcomes (also after
// simulated pod additions and removals) and equal scores on every node.
func TestIndexedMatchesFullWalk(t *testing.T) {
	for seed := range uint64(400) {
		r := randcluster.New(seed).Rand()
		checkAgainstFullWalk(t, seed, 1+r.IntN(12), r.IntN(70))
	}
}

// FuzzIndexedMatchesFullWalk is TestIndexedMatchesFullWalk over any seed and size.
func FuzzIndexedMatchesFullWalk(f *testing.F) {
	f.Add(uint64(1), uint8(5), uint8(30))
	f.Add(uint64(7), uint8(1), uint8(0))
	f.Add(uint64(42), uint8(12), uint8(80))
	f.Fuzz(func(t *testing.T, seed uint64, nodes, pods uint8) {
		checkAgainstFullWalk(t, seed, int(nodes%24), int(pods%120))
	})
}

func checkAgainstFullWalk(t *testing.T, seed uint64, nNodes, nPods int) {
	t.Helper()
	g := randcluster.New(seed)
	pods, nodes := g.Cluster(nNodes, nPods)
	// Some pods get the system default constraints, with a selector of any kind.
	sels := map[string]labels.Selector{}
	pl := &PodTopologySpread{DefaultSelector: func(p *v1.Pod) labels.Selector { return sels[p.Name] }}
	incoming := make([]*v1.Pod, 8)
	for i := range incoming {
		incoming[i] = g.Pod("")
		if len(incoming[i].Spec.TopologySpreadConstraints) == 0 && g.Rand().IntN(2) == 0 {
			if sel, err := metav1.LabelSelectorAsSelector(g.Selector()); err == nil {
				sels[incoming[i].Name] = sel
			}
		}
	}
	check := func(snap *framework.Snapshot, update int, pods []*v1.Pod) {
		for i, pod := range pods {
			where := fmt.Sprintf("seed %d (%d nodes, %d pods), update %d, incoming pod %d", seed, nNodes, nPods, update, i)
			checkPreFilter(t, where, g, pl, pod, snap)
			checkPreScore(t, where, g, pl, pod, snap)
		}
	}
	if seed%2 == 0 {
		check(framework.NewSnapshot(pods, nodes), 0, incoming)
		return
	}
	// Through a cache, the same incoming pods asking at every update, so that the index's
	// selections must follow the changes.
	snap, update := framework.NewEmptySnapshot(), 0
	g.History(cache.New(0), snap, pods, nodes, 2*nPods+10, func(*randcluster.Model) {
		update++
		check(snap, update, incoming[:2+update%7])
	})
}

func checkPreFilter(t *testing.T, where string, g *randcluster.Generator, pl *PodTopologySpread, pod *v1.Pod, snap *framework.Snapshot) {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	st := pl.PreFilter(ctx, state, pod, snap)
	ref := refPreFilter(pl, pod, snap)
	if ref == nil {
		if st.IsSuccess() {
			t.Fatalf("%s: PreFilter succeeded, full walk did not", where)
		}
		return
	}
	if !st.IsSuccess() {
		t.Fatalf("%s: PreFilter %v", where, st)
	}
	refState := framework.NewCycleState()
	refState.Write(preFilterKey, ref)
	compareFilter(t, where, pl, pod, state, refState, snap)
	r := g.Rand()
	for step := range 4 {
		if len(snap.NodeInfoList) == 0 {
			break
		}
		ni := snap.NodeInfoList[r.IntN(len(snap.NodeInfoList))]
		if len(ni.Pods) > 0 && r.IntN(2) == 0 {
			pi := ni.Pods[r.IntN(len(ni.Pods))]
			state, refState = state.Clone(), refState.Clone()
			pl.RemovePod(ctx, state, pod, pi, ni)
			pl.RemovePod(ctx, refState, pod, pi, ni)
		} else {
			pi := framework.NewPodInfo(g.Pod(ni.Node().Name))
			state, refState = state.Clone(), refState.Clone()
			pl.AddPod(ctx, state, pod, pi, ni)
			pl.AddPod(ctx, refState, pod, pi, ni)
		}
		compareFilter(t, fmt.Sprintf("%s, simulation step %d", where, step), pl, pod, state, refState, snap)
	}
}

func compareFilter(t *testing.T, where string, pl *PodTopologySpread, pod *v1.Pod, state, refState *framework.CycleState, snap *framework.Snapshot) {
	t.Helper()
	d, _ := state.Read(preFilterKey)
	s := d.(*preFilterState)
	d, _ = refState.Read(preFilterKey)
	ref := d.(*preFilterState)
	if !slices.EqualFunc(s.matchNum, ref.matchNum, maps.Equal) || !slices.Equal(s.minMatch, ref.minMatch) {
		t.Fatalf("%s: matching pods %v (minimum %v), full walk %v (minimum %v)", where, s.matchNum, s.minMatch, ref.matchNum, ref.minMatch)
	}
	for _, ni := range snap.NodeInfoList {
		got := pl.Filter(context.Background(), state, pod, ni)
		want := pl.Filter(context.Background(), refState, pod, ni)
		if got.Code() != want.Code() || got.Message() != want.Message() {
			t.Fatalf("%s: Filter on %s: %v, full walk %v", where, ni.Node().Name, got, want)
		}
	}
}

func checkPreScore(t *testing.T, where string, g *randcluster.Generator, pl *PodTopologySpread, pod *v1.Pod, snap *framework.Snapshot) {
	t.Helper()
	// Score a random subset of the nodes, as after Filter.
	var filtered []*framework.NodeInfo
	for _, ni := range snap.NodeInfoList {
		if g.Rand().IntN(4) > 0 {
			filtered = append(filtered, ni)
		}
	}
	ctx := context.Background()
	state := framework.NewCycleState()
	st := pl.PreScore(ctx, state, pod, snap, filtered)
	ref := refPreScore(pl, pod, snap, filtered)
	if ref == nil {
		if st.IsSuccess() {
			t.Fatalf("%s: PreScore succeeded, full walk did not", where)
		}
		return
	}
	if !st.IsSuccess() {
		t.Fatalf("%s: PreScore %v", where, st)
	}
	d, _ := state.Read(preScoreKey)
	s := d.(*preScoreState)
	if !maps.Equal(s.ignored, ref.ignored) || !slices.Equal(s.weights, ref.weights) ||
		!maps.EqualFunc(s.counts, ref.counts, func(a, b *int64) bool { return *a == *b }) {
		t.Fatalf("%s: PreScore counts %v, ignored %v, weights %v; full walk %v, %v, %v", where,
			values(s.counts), s.ignored, s.weights, values(ref.counts), ref.ignored, ref.weights)
	}
	refState := framework.NewCycleState()
	refState.Write(preScoreKey, ref)
	got, want := scores(pl, state, pod, filtered), scores(pl, refState, pod, filtered)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: scores %v, full walk %v", where, got, want)
	}
}

func scores(pl *PodTopologySpread, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) framework.NodeScoreList {
	var out framework.NodeScoreList
	for _, ni := range nodes {
		s, _ := pl.Score(context.Background(), state, pod, ni)
		out = append(out, framework.NodeScore{Name: ni.Node().Name, Score: s})
	}
	pl.NormalizeScore(context.Background(), state, pod, out)
	return out
}

func values(m map[pair]*int64) map[pair]int64 {
	out := map[pair]int64{}
	for k, v := range m {
		out[k] = *v
	}
	return out
}
