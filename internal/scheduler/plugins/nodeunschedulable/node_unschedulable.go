// Package nodeunschedulable filters out nodes marked spec.unschedulable (cordoned), unless the
// pod tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
package nodeunschedulable

import (
	"context"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name in upstream's configuration.
const Name = "NodeUnschedulable"

// ErrReasonUnschedulable is upstream's reason for a cordoned node.
const ErrReasonUnschedulable = "node(s) were unschedulable"

// NodeUnschedulable is the filter plugin.
type NodeUnschedulable struct{}

var _ framework.FilterPlugin = NodeUnschedulable{}

// Name returns Name.
func (NodeUnschedulable) Name() string { return Name }

var unschedulableTaint = v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}

// Fits reports whether pod may be placed on node as far as cordoning goes.
func Fits(pod *v1.Pod, node *v1.Node) bool {
	if !node.Spec.Unschedulable {
		return true
	}
	return corev1helpers.TolerationsTolerateTaint(logr.Discard(), pod.Spec.Tolerations, &unschedulableTaint, false)
}

// Filter rejects cordoned nodes.
func (NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	if Fits(pod, ni.Node()) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)
}
