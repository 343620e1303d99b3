package interpodaffinity

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

var n int

func mkPod(node string, labels map[string]string, aff *v1.Affinity) *v1.Pod {
	n++
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprint("p", n), UID: types.UID(fmt.Sprint("u", n)), Labels: labels},
		Spec: v1.PodSpec{NodeName: node, Affinity: aff}}
}

func term(key string, sel map[string]string) v1.PodAffinityTerm {
	return v1.PodAffinityTerm{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: sel}}
}

func affinity(t ...v1.PodAffinityTerm) *v1.Affinity {
	return &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: t}}
}

func antiAffinity(t ...v1.PodAffinityTerm) *v1.Affinity {
	return &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: t}}
}

func nodes() []*v1.Node {
	mk := func(name, zone string) *v1.Node {
		return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"zone": zone, v1.LabelHostname: name}}}
	}
	return []*v1.Node{mk("a1", "a"), mk("a2", "a"), mk("b1", "b")}
}

func TestFilter(t *testing.T) {
	web := map[string]string{"app": "web"}
	db := map[string]string{"app": "db"}
	for _, tc := range []struct {
		name     string
		pod      *v1.Pod
		existing []*v1.Pod
		// want maps node to expected reason ("" = fits).
		want map[string]string
	}{
		{"affinity to a pod in zone a", mkPod("", nil, affinity(term("zone", db))), []*v1.Pod{mkPod("a1", db, nil)},
			map[string]string{"a1": "", "a2": "", "b1": ErrReasonAffinityRulesNotMatch}},
		{"affinity with no matching pod anywhere and not self-matching", mkPod("", nil, affinity(term("zone", db))), nil,
			map[string]string{"a1": ErrReasonAffinityRulesNotMatch, "b1": ErrReasonAffinityRulesNotMatch}},
		{"first pod of a self-affine group goes anywhere", mkPod("", db, affinity(term("zone", db))), nil,
			map[string]string{"a1": "", "a2": "", "b1": ""}},
		{"anti-affinity by hostname", mkPod("", web, antiAffinity(term(v1.LabelHostname, web))), []*v1.Pod{mkPod("a1", web, nil)},
			map[string]string{"a1": ErrReasonAntiAffinityRulesNotMatch, "a2": "", "b1": ""}},
		{"anti-affinity by zone", mkPod("", web, antiAffinity(term("zone", web))), []*v1.Pod{mkPod("a1", web, nil)},
			map[string]string{"a1": ErrReasonAntiAffinityRulesNotMatch, "a2": ErrReasonAntiAffinityRulesNotMatch, "b1": ""}},
		{"existing pod's anti-affinity keeps matching pods out", mkPod("", web, nil), []*v1.Pod{mkPod("b1", db, antiAffinity(term("zone", web)))},
			map[string]string{"a1": "", "b1": ErrReasonExistingAntiAffinityRulesNotMatch}},
		{"other namespaces do not count", mkPod("", web, antiAffinity(term(v1.LabelHostname, web))),
			[]*v1.Pod{func() *v1.Pod { p := mkPod("a1", web, nil); p.Namespace = "other"; return p }()},
			map[string]string{"a1": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := framework.NewSnapshot(tc.existing, nodes())
			pl := &InterPodAffinity{}
			state := framework.NewCycleState()
			if s := pl.PreFilter(context.Background(), state, tc.pod, snap); !s.IsSuccess() {
				if s.IsSkip() {
					for node, reason := range tc.want {
						if reason != "" {
							t.Errorf("%s: skipped, want %q", node, reason)
						}
					}
					return
				}
				t.Fatal(s)
			}
			for node, reason := range tc.want {
				got := pl.Filter(context.Background(), state, tc.pod, snap.Get(node))
				if got.Message() != reason {
					t.Errorf("%s: got %v, want %q", node, got, reason)
				}
			}
		})
	}
}

func TestScore(t *testing.T) {
	db := map[string]string{"app": "db"}
	pod := mkPod("", nil, &v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{
		{Weight: 5, PodAffinityTerm: term("zone", db)}}}})
	snap := framework.NewSnapshot([]*v1.Pod{mkPod("a1", db, nil)}, nodes())
	pl := &InterPodAffinity{}
	state := framework.NewCycleState()
	if s := pl.PreScore(context.Background(), state, pod, snap, snap.NodeInfoList); !s.IsSuccess() {
		t.Fatal(s)
	}
	var scores framework.NodeScoreList
	for _, ni := range snap.NodeInfoList {
		s, _ := pl.Score(context.Background(), state, pod, ni)
		scores = append(scores, framework.NodeScore{Name: ni.Node().Name, Score: s})
	}
	pl.NormalizeScore(context.Background(), state, pod, scores)
	want := map[string]int64{"a1": 100, "a2": 100, "b1": 0}
	for _, s := range scores {
		if want[s.Name] != s.Score {
			t.Errorf("scores %v, want %v", scores, want)
			break
		}
	}
}
