// Package nodename filters out every node but the one a pod names in spec.nodeName.
package nodename

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeName"

// ErrReason is upstream's reason.
const ErrReason = "node(s) didn't match the requested node name"

// NodeName is the filter plugin.
type NodeName struct{}

var _ framework.FilterPlugin = NodeName{}

// Name returns Name.
func (NodeName) Name() string { return Name }

// Fits reports whether pod names no node or names node.
func Fits(pod *v1.Pod, node *v1.Node) bool {
	return pod.Spec.NodeName == "" || pod.Spec.NodeName == node.Name
}

// Filter rejects other nodes.
func (NodeName) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	if Fits(pod, ni.Node()) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
}
