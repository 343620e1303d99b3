package nodeunschedulable

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

func TestFilter(t *testing.T) {
	tol := []v1.Toleration{{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}
	for _, tc := range []struct {
		name          string
		unschedulable bool
		tolerations   []v1.Toleration
		want          *framework.Status
	}{
		{"schedulable node", false, nil, nil},
		{"cordoned node", true, nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)},
		{"cordoned node, pod tolerates the unschedulable taint", true, tol, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ni := framework.NewNodeInfo()
			ni.SetNode(&v1.Node{Spec: v1.NodeSpec{Unschedulable: tc.unschedulable}})
			pod := &v1.Pod{Spec: v1.PodSpec{Tolerations: tc.tolerations}}
			if got := (NodeUnschedulable{}).Filter(context.Background(), nil, pod, ni); !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
