package interpodaffinity

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/cache"
	"github.com/skiff-project/skiff/internal/scheduler/framework"
	"github.com/skiff-project/skiff/internal/scheduler/randcluster"
)

// TestIndexedMatchesFullWalk holds the indexed PreFilter and PreScore to the full walk over
// every pod (reference_test.go) on random clusters, built directly or through a cache's
// incremental snapshot updates: equal counts and scores per domain, equal Filter and Score
// outcomes on every node, before and after simulated pod additions and removals.
func TestIndexedMatchesFullWalk(t *testing.T) {
	for seed := range uint64(400) {
		g := randcluster.New(seed)
		r := g.Rand()
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
	incoming := make([]*v1.Pod, 6)
	for i := range incoming {
		incoming[i] = g.Pod("")
	}
	pl := &InterPodAffinity{NamespaceLabels: randcluster.NamespaceLabels}
	check := func(snap *framework.Snapshot, update int, pods []*v1.Pod) {
		for i, pod := range pods {
			where := fmt.Sprintf("seed %d (%d nodes, %d pods), update %d, incoming pod %d", seed, nNodes, nPods, update, i)
			checkPreFilter(t, where, g, pl, pod, snap)
			checkPreScore(t, where, pl, pod, snap)
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
		check(snap, update, incoming[:2+update%5])
	})
}

func checkPreFilter(t *testing.T, where string, g *randcluster.Generator, pl *InterPodAffinity, pod *v1.Pod, snap *framework.Snapshot) {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	st := pl.PreFilter(ctx, state, pod, snap)
	ref := refPreFilter(pl, pod, snap)
	if (ref == nil) != st.IsSkip() || !st.IsSkip() && !st.IsSuccess() {
		t.Fatalf("%s: PreFilter %v, full walk skips: %v", where, st, ref == nil)
	}
	if ref == nil {
		return
	}
	compareFilter(t, where, pl, state, ref, snap)
	// Simulate what preemption and nominated pods do: remove and add pods on one node.
	r := g.Rand()
	for step := range 4 {
		if len(snap.NodeInfoList) == 0 {
			break
		}
		ni := snap.NodeInfoList[r.IntN(len(snap.NodeInfoList))]
		var pi *framework.PodInfo
		v := int64(1)
		if len(ni.Pods) > 0 && r.IntN(2) == 0 {
			pi, v = ni.Pods[r.IntN(len(ni.Pods))], -1
		} else {
			pi = framework.NewPodInfo(g.Pod(ni.Node().Name))
		}
		state = state.Clone()
		if v > 0 {
			pl.AddPod(ctx, state, pod, pi, ni)
		} else {
			pl.RemovePod(ctx, state, pod, pi, ni)
		}
		ref.update(pl, pi, ni, v)
		compareFilter(t, fmt.Sprintf("%s, simulation step %d", where, step), pl, state, ref, snap)
	}
}

func compareFilter(t *testing.T, where string, pl *InterPodAffinity, state *framework.CycleState, ref *refFilterState, snap *framework.Snapshot) {
	t.Helper()
	d, _ := state.Read(preFilterKey)
	s := d.(*preFilterState)
	for _, c := range []struct {
		name string
		got  *layeredCounts
		want counts
	}{
		{"existing anti-affinity", &s.existingAntiAffinity, ref.existingAntiAffinity},
		{"affinity", &s.affinity, ref.affinity},
		{"anti-affinity", &s.antiAffinity, ref.antiAffinity},
	} {
		got := flatten(c.got)
		if !maps.Equal(got, c.want) {
			t.Fatalf("%s: %s %v, full walk %v", where, c.name, got, c.want)
		}
		if c.got.nonzero != len(got) {
			t.Fatalf("%s: %s counts %d domains, has %d", where, c.name, c.got.nonzero, len(got))
		}
	}
	for _, ni := range snap.NodeInfoList {
		got := pl.Filter(context.Background(), state, s.podInfo.Pod, ni).Message()
		if want := refFilter(pl, ref, ni.Node()); got != want {
			t.Fatalf("%s: Filter on %s: %q, full walk %q", where, ni.Node().Name, got, want)
		}
	}
}

// flatten sums a layeredCounts into plain counts.
func flatten(l *layeredCounts) counts {
	c := l.own.clone()
	for _, ly := range l.layers {
		for v, d := range ly.domains {
			c.add(topologyPair{ly.key, v}, d.Count)
		}
	}
	return c
}

func checkPreScore(t *testing.T, where string, pl *InterPodAffinity, pod *v1.Pod, snap *framework.Snapshot) {
	t.Helper()
	state := framework.NewCycleState()
	st := pl.PreScore(context.Background(), state, pod, snap, snap.NodeInfoList)
	ref := refPreScore(pl, pod, snap)
	if (ref == nil) != st.IsSkip() || !st.IsSkip() && !st.IsSuccess() {
		t.Fatalf("%s: PreScore %v, full walk skips: %v", where, st, ref == nil)
	}
	if ref == nil {
		return
	}
	d, _ := state.Read(preScoreKey)
	s := d.(*preScoreState)
	if got := flattenScores(s); !reflect.DeepEqual(got, ref) {
		t.Fatalf("%s: scores %v, full walk %v", where, got, ref)
	}
	for _, ni := range snap.NodeInfoList {
		got, _ := pl.Score(context.Background(), state, pod, ni)
		if want := refScore(ref, ni.Node()); got != want {
			t.Fatalf("%s: Score on %s: %d, full walk %d", where, ni.Node().Name, got, want)
		}
	}
}

// flattenScores sums a preScoreState into one scoreMap.
func flattenScores(s *preScoreState) scoreMap {
	m := scoreMap{}
	for k, vs := range s.scores {
		m[k] = maps.Clone(vs)
	}
	for _, l := range s.layers {
		if m[l.key] == nil {
			m[l.key] = map[string]int64{}
		}
		for v := range l.domains {
			m[l.key][v] += l.score(v)
		}
	}
	return m
}
