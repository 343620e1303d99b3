package cache_test

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/scheduler/cache"
	"github.com/skiff-project/skiff/internal/scheduler/framework"
	"github.com/skiff-project/skiff/internal/scheduler/randcluster"
)

// TestSnapshotIndexesFollowHistory drives caches through random histories (nodes added,
// relabelled, removed; pods added, assumed, confirmed, forgotten, expired, relabelled,
// removed) and checks, after every snapshot update, that the snapshot holds what the cache
// should and that its incrementally kept indexes equal ones built from scratch.
func TestSnapshotIndexesFollowHistory(t *testing.T) {
	for seed := range uint64(300) {
		checkHistory(t, seed, 200)
	}
}

// FuzzSnapshotIndexesFollowHistory is TestSnapshotIndexesFollowHistory over any seed.
func FuzzSnapshotIndexesFollowHistory(f *testing.F) {
	f.Add(uint64(3), uint8(100))
	f.Fuzz(func(t *testing.T, seed uint64, steps uint8) {
		checkHistory(t, seed, int(steps))
	})
}

func checkHistory(t *testing.T, seed uint64, steps int) {
	t.Helper()
	g := randcluster.New(seed)
	r := g.Rand()
	pods, nodes := g.Cluster(1+r.IntN(8), r.IntN(40))
	ttl := time.Duration(0)
	if seed%2 == 0 {
		ttl = time.Minute
	}
	snap := framework.NewEmptySnapshot()
	update := 0
	g.History(cache.New(ttl), snap, pods, nodes, steps, func(m *randcluster.Model) {
		update++
		requestSelections(g, snap)
		if err := sameContent(snap, m); err != nil {
			t.Fatalf("seed %d, update %d: %v", seed, update, err)
		}
		if err := snap.CheckIndexes(); err != nil {
			t.Fatalf("seed %d, update %d: %v", seed, update, err)
		}
	})
}

// requestSelections asks snap's index for selections of random terms, as incoming pods do, so
// that later updates must keep them current.
func requestSelections(g *randcluster.Generator, snap *framework.Snapshot) {
	for range 3 {
		pi := framework.NewPodInfo(g.Pod(""))
		live := g.Rand().IntN(2) == 0
		for _, terms := range [][]framework.AffinityTerm{pi.RequiredAffinityTerms, pi.RequiredAntiAffinityTerms} {
			for i := range terms {
				snap.Pods.Selection(&terms[i], live)
			}
		}
		for _, t := range append(pi.PreferredAffinityTerms, pi.PreferredAntiAffinityTerms...) {
			snap.Pods.Selection(&t.AffinityTerm, live)
		}
	}
}

// sameContent checks that snap holds exactly m's nodes and, on each, m's pods bound or assumed
// to it.
func sameContent(snap *framework.Snapshot, m *randcluster.Model) error {
	if len(snap.NodeInfoMap) != len(m.Nodes) || snap.NumNodes() != len(m.Nodes) {
		return fmt.Errorf("%d nodes (%d listed), want %d", len(snap.NodeInfoMap), snap.NumNodes(), len(m.Nodes))
	}
	want := map[string]map[types.UID]bool{}
	for uid, p := range m.Pods {
		if want[p.Spec.NodeName] == nil {
			want[p.Spec.NodeName] = map[types.UID]bool{}
		}
		want[p.Spec.NodeName][uid] = true
	}
	for name, n := range m.Nodes {
		ni := snap.Get(name)
		if ni == nil || ni.Node() != n {
			return fmt.Errorf("node %s: not the latest version", name)
		}
		if len(ni.Pods) != len(want[name]) {
			return fmt.Errorf("node %s: %d pods, want %d", name, len(ni.Pods), len(want[name]))
		}
		for _, pi := range ni.Pods {
			if m.Pods[pi.Pod.UID] != pi.Pod {
				return fmt.Errorf("node %s: pod %s is not the latest version", name, pi.Pod.Name)
			}
		}
	}
	return nil
}
