package podtopologyspread

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

var seq int

func mkPod(node string, cs ...v1.TopologySpreadConstraint) *v1.Pod {
	seq++
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprint("p", seq), UID: types.UID(fmt.Sprint("u", seq)),
		Labels: map[string]string{"foo": "bar"}}, Spec: v1.PodSpec{NodeName: node, TopologySpreadConstraints: cs}}
}

func constraint(key string, maxSkew int32, minDomains *int32) v1.TopologySpreadConstraint {
	return v1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: v1.DoNotSchedule, MinDomains: minDomains,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"foo": "bar"}}}
}

func mkNode(name, zone string) *v1.Node {
	l := map[string]string{v1.LabelHostname: name}
	if zone != "" {
		l["zone"] = zone
	}
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

func TestFilter(t *testing.T) {
	two := int32(3)
	// The example from the Kubernetes documentation: zoneA holds 2 matching pods (node1,
	// node2), zoneB holds 1 (node3); with maxSkew 1 the new pod must go to zoneB.
	docNodes := []*v1.Node{mkNode("node1", "zoneA"), mkNode("node2", "zoneA"), mkNode("node3", "zoneB"), mkNode("node4", "zoneB")}
	docPods := []*v1.Pod{mkPod("node1"), mkPod("node2"), mkPod("node3")}
	for _, tc := range []struct {
		name     string
		pod      *v1.Pod
		nodes    []*v1.Node
		existing []*v1.Pod
		want     map[string]string
	}{
		{"documented zone example", mkPod("", constraint("zone", 1, nil)), docNodes, docPods,
			map[string]string{"node1": ErrReasonConstraintsNotMatch, "node2": ErrReasonConstraintsNotMatch, "node3": "", "node4": ""}},
		{"maxSkew 2 allows zoneA", mkPod("", constraint("zone", 2, nil)), docNodes, docPods,
			map[string]string{"node1": "", "node3": ""}},
		{"node without the key", mkPod("", constraint("zone", 1, nil)), append(docNodes, mkNode("nozone", "")), docPods,
			map[string]string{"nozone": ErrReasonNodeLabelNotMatch}},
		{"minDomains above the domain count makes the global minimum 0",
			mkPod("", constraint("zone", 1, &two)), docNodes, []*v1.Pod{mkPod("node1"), mkPod("node3")},
			map[string]string{"node1": ErrReasonConstraintsNotMatch, "node3": ErrReasonConstraintsNotMatch}},
		{"hostname spreading", mkPod("", constraint(v1.LabelHostname, 1, nil)), docNodes, docPods,
			map[string]string{"node1": ErrReasonConstraintsNotMatch, "node4": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := framework.NewSnapshot(tc.existing, tc.nodes)
			pl := &PodTopologySpread{}
			state := framework.NewCycleState()
			if s := pl.PreFilter(context.Background(), state, tc.pod, snap); !s.IsSuccess() {
				t.Fatal(s)
			}
			for node, reason := range tc.want {
				if got := pl.Filter(context.Background(), state, tc.pod, snap.Get(node)); got.Message() != reason {
					t.Errorf("%s: got %v, want %q", node, got, reason)
				}
			}
		})
	}
}

func TestSystemDefaults(t *testing.T) {
	pod := mkPod("")
	if cs, _, _ := Constraints(pod, v1.ScheduleAnyway, nil); len(cs) != 0 {
		t.Errorf("no owner: %d constraints, want none", len(cs))
	}
	cs, defaulted, _ := Constraints(pod, v1.ScheduleAnyway, labels.SelectorFromSet(labels.Set{"foo": "bar"}))
	if !defaulted || len(cs) != 2 || cs[0].TopologyKey != v1.LabelHostname || cs[0].MaxSkew != 3 || cs[1].MaxSkew != 5 {
		t.Errorf("defaults %+v", cs)
	}
	if cs, _, _ := Constraints(pod, v1.DoNotSchedule, labels.SelectorFromSet(labels.Set{"foo": "bar"})); len(cs) != 0 {
		t.Errorf("defaults must not filter: %+v", cs)
	}
}

func TestScore(t *testing.T) {
	c := constraint("zone", 1, nil)
	c.WhenUnsatisfiable = v1.ScheduleAnyway
	pod := mkPod("", c)
	nodes := []*v1.Node{mkNode("a1", "a"), mkNode("b1", "b"), mkNode("c1", "c")}
	snap := framework.NewSnapshot([]*v1.Pod{mkPod("a1"), mkPod("a1"), mkPod("b1")}, nodes)
	pl := &PodTopologySpread{}
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
	got := map[string]int64{}
	for _, s := range scores {
		got[s.Name] = s.Score
	}
	if !(got["c1"] > got["b1"] && got["b1"] > got["a1"]) || got["c1"] != 100 {
		t.Errorf("scores %v: want emptiest zone best", got)
	}
}
