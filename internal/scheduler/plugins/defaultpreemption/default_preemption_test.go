package defaultpreemption

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/noderesources"
)

func mkPod(name, node, cpu string, prio int32, labels map[string]string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name), Labels: labels},
		Spec: v1.PodSpec{NodeName: node, Priority: &prio, Containers: []v1.Container{{Name: "c",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}}}}
}

func mkNode(name, cpu string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse(cpu), v1.ResourcePods: resource.MustParse("10")}}}
}

func run(t *testing.T, pod *v1.Pod, nodes []*v1.Node, pods []*v1.Pod, pdbs []*policyv1.PodDisruptionBudget) (*framework.PostFilterResult, *framework.Status) {
	t.Helper()
	snap := framework.NewSnapshot(pods, nodes)
	fw := &framework.Framework{PreFilter: []framework.PreFilterPlugin{noderesources.Fit{}}, Filter: []framework.FilterPlugin{noderesources.Fit{}}}
	state := framework.NewCycleState()
	if s := fw.RunPreFilter(context.Background(), state, pod, snap); !s.IsSuccess() {
		t.Fatal(s)
	}
	m := framework.NodeToStatus{}
	for _, ni := range snap.NodeInfoList {
		if s := fw.RunFilter(context.Background(), state, pod, ni); !s.IsSuccess() {
			m[ni.Node().Name] = s
		}
	}
	pl := &DefaultPreemption{Handle: fw, Snapshot: func() *framework.Snapshot { return snap },
		PDBs: func() []*policyv1.PodDisruptionBudget { return pdbs }}
	return pl.PostFilter(context.Background(), state, pod, m)
}

func names(ps []*v1.Pod) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name)
	}
	return fmt.Sprint(s)
}

func TestPostFilter(t *testing.T) {
	never := v1.PreemptNever
	for _, tc := range []struct {
		name        string
		pod         *v1.Pod
		nodes       []*v1.Node
		pods        []*v1.Pod
		pdbs        []*policyv1.PodDisruptionBudget
		wantNode    string
		wantVictims string
		wantMsg     string
	}{
		{"evicts the lower-priority pod", mkPod("p", "", "800m", 100, nil), []*v1.Node{mkNode("n1", "1")},
			[]*v1.Pod{mkPod("low", "n1", "800m", 1, nil)}, nil, "n1", "[low]", ""},
		{"keeps what it can: only the lowest of two", mkPod("p", "", "500m", 100, nil), []*v1.Node{mkNode("n1", "1")},
			[]*v1.Pod{mkPod("low1", "n1", "500m", 1, nil), mkPod("low2", "n1", "500m", 2, nil)}, nil, "n1", "[low1]", ""},
		{"prefers the node whose victims have the lower priority", mkPod("p", "", "1", 100, nil), []*v1.Node{mkNode("n1", "1"), mkNode("n2", "1")},
			[]*v1.Pod{mkPod("a", "n1", "1", 50, nil), mkPod("b", "n2", "1", 10, nil)}, nil, "n2", "[b]", ""},
		{"prefers the node without PDB violations", mkPod("p", "", "1", 100, nil), []*v1.Node{mkNode("n1", "1"), mkNode("n2", "1")},
			[]*v1.Pod{mkPod("guarded", "n1", "1", 1, map[string]string{"app": "db"}), mkPod("free", "n2", "1", 5, nil)},
			[]*policyv1.PodDisruptionBudget{{ObjectMeta: metav1.ObjectMeta{Namespace: "default"},
				Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
				Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0}}}, "n2", "[free]", ""},
		{"equal priority is never preempted", mkPod("p", "", "1", 100, nil), []*v1.Node{mkNode("n1", "1")},
			[]*v1.Pod{mkPod("same", "n1", "1", 100, nil)}, nil, "", "[]",
			"preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."},
		{"request above allocatable: not helpful", mkPod("p", "", "2", 100, nil), []*v1.Node{mkNode("n1", "1")},
			[]*v1.Pod{mkPod("low", "n1", "1", 1, nil)}, nil, "", "[]",
			"preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."},
		{"preemptionPolicy Never", func() *v1.Pod { p := mkPod("p", "", "1", 100, nil); p.Spec.PreemptionPolicy = &never; return p }(),
			[]*v1.Node{mkNode("n1", "1")}, []*v1.Pod{mkPod("low", "n1", "1", 1, nil)}, nil, "", "[]",
			"preemption: not eligible due to preemptionPolicy=Never."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, st := run(t, tc.pod, tc.nodes, tc.pods, tc.pdbs)
			var node string
			var victims []*v1.Pod
			if res != nil {
				node, victims = res.NominatedNodeName, res.Victims
			}
			if node != tc.wantNode || names(victims) != tc.wantVictims || st.Message() != tc.wantMsg {
				t.Errorf("got node %q victims %s status %q; want %q %s %q", node, names(victims), st.Message(), tc.wantNode, tc.wantVictims, tc.wantMsg)
			}
		})
	}
}
