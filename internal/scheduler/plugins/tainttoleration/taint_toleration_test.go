package tainttoleration

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

func TestFilter(t *testing.T) {
	dedicated := v1.Taint{Key: "dedicated", Value: "user1", Effect: v1.TaintEffectNoSchedule}
	for _, tc := range []struct {
		name   string
		taints []v1.Taint
		tols   []v1.Toleration
		want   *framework.Status
	}{
		{"no taints", nil, nil, nil},
		{"untolerated NoSchedule", []v1.Taint{dedicated}, nil,
			framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: user1}")},
		{"tolerated by Equal", []v1.Taint{dedicated}, []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "user1", Effect: v1.TaintEffectNoSchedule}}, nil},
		{"Equal with another value does not tolerate", []v1.Taint{dedicated}, []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "user2", Effect: v1.TaintEffectNoSchedule}},
			framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: user1}")},
		{"Exists with empty effect tolerates all effects", []v1.Taint{dedicated}, []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists}}, nil},
		{"empty key with Exists tolerates everything", []v1.Taint{dedicated, {Key: "x", Effect: v1.TaintEffectNoExecute}}, []v1.Toleration{{Operator: v1.TolerationOpExists}}, nil},
		{"PreferNoSchedule does not filter", []v1.Taint{{Key: "soft", Effect: v1.TaintEffectPreferNoSchedule}}, nil, nil},
		{"NoExecute filters", []v1.Taint{{Key: "evict", Value: "now", Effect: v1.TaintEffectNoExecute}}, nil,
			framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {evict: now}")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ni := framework.NewNodeInfo()
			ni.SetNode(&v1.Node{Spec: v1.NodeSpec{Taints: tc.taints}})
			got := (TaintToleration{}).Filter(context.Background(), nil, &v1.Pod{Spec: v1.PodSpec{Tolerations: tc.tols}}, ni)
			if !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	soft := func(k string) v1.Taint { return v1.Taint{Key: k, Value: "v", Effect: v1.TaintEffectPreferNoSchedule} }
	nodes := map[string][]v1.Taint{"clean": nil, "one": {soft("a")}, "two": {soft("a"), soft("b")}}
	pod := &v1.Pod{Spec: v1.PodSpec{Tolerations: []v1.Toleration{{Key: "b", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectPreferNoSchedule}}}}
	pl := TaintToleration{}
	state := framework.NewCycleState()
	pl.PreScore(context.Background(), state, pod, nil, nil)
	var scores framework.NodeScoreList
	for _, name := range []string{"clean", "one", "two"} {
		ni := framework.NewNodeInfo()
		ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{Taints: nodes[name]}})
		s, _ := pl.Score(context.Background(), state, pod, ni)
		scores = append(scores, framework.NodeScore{Name: name, Score: s})
	}
	pl.NormalizeScore(context.Background(), state, pod, scores)
	// "two" has one tolerated and one untolerated taint, like "one".
	want := framework.NodeScoreList{{Name: "clean", Score: 100}, {Name: "one", Score: 0}, {Name: "two", Score: 0}}
	for i := range want {
		if scores[i] != want[i] {
			t.Errorf("scores %v, want %v", scores, want)
			break
		}
	}
}
