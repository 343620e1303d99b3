package nodeaffinity

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

func required(reqs ...v1.NodeSelectorRequirement) *v1.Affinity {
	return &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
		NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: reqs}}}}}
}

func TestFilter(t *testing.T) {
	miss := framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	labels := map[string]string{"zone": "a", "disk": "ssd"}
	for _, tc := range []struct {
		name     string
		selector map[string]string
		affinity *v1.Affinity
		want     *framework.Status
	}{
		{"nodeSelector matches", map[string]string{"zone": "a"}, nil, nil},
		{"nodeSelector misses", map[string]string{"zone": "b"}, nil, miss},
		{"In matches", nil, required(v1.NodeSelectorRequirement{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"ssd", "nvme"}}), nil},
		{"NotIn excludes", nil, required(v1.NodeSelectorRequirement{Key: "disk", Operator: v1.NodeSelectorOpNotIn, Values: []string{"ssd"}}), miss},
		{"DoesNotExist", nil, required(v1.NodeSelectorRequirement{Key: "gpu", Operator: v1.NodeSelectorOpDoesNotExist}), nil},
		{"Gt compares integers", nil, required(v1.NodeSelectorRequirement{Key: "zone", Operator: v1.NodeSelectorOpGt, Values: []string{"1"}}), miss},
		{"both selector and affinity must match", map[string]string{"zone": "b"},
			required(v1.NodeSelectorRequirement{Key: "disk", Operator: v1.NodeSelectorOpExists}), miss},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ni := framework.NewNodeInfo()
			ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: labels}})
			pod := &v1.Pod{Spec: v1.PodSpec{NodeSelector: tc.selector, Affinity: tc.affinity}}
			state := framework.NewCycleState()
			if s := (NodeAffinity{}).PreFilter(context.Background(), state, pod, nil); !s.IsSuccess() {
				t.Fatal(s)
			}
			if got := (NodeAffinity{}).Filter(context.Background(), state, pod, ni); !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	pod := &v1.Pod{Spec: v1.PodSpec{Affinity: &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{
		{Weight: 2, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "foo", Operator: v1.NodeSelectorOpIn, Values: []string{"bar"}}}}},
		{Weight: 4, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "key", Operator: v1.NodeSelectorOpIn, Values: []string{"value"}}}}},
	}}}}}
	nodes := []map[string]string{{"foo": "bar"}, {"foo": "bar", "key": "value"}, {"other": "x"}}
	state := framework.NewCycleState()
	pl := NodeAffinity{}
	pl.PreScore(context.Background(), state, pod, nil, nil)
	var scores framework.NodeScoreList
	for i, l := range nodes {
		ni := framework.NewNodeInfo()
		ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: string(rune('a' + i)), Labels: l}})
		s, _ := pl.Score(context.Background(), state, pod, ni)
		scores = append(scores, framework.NodeScore{Name: ni.Node().Name, Score: s})
	}
	pl.NormalizeScore(context.Background(), state, pod, scores)
	want := []int64{33, 100, 0}
	for i := range want {
		if scores[i].Score != want[i] {
			t.Errorf("scores %v, want %v", scores, want)
			break
		}
	}
}
