// Package nodeports filters out nodes where a host port the pod asks for is already taken.
package nodeports

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodePorts"

// ErrReason is upstream's reason.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

const stateKey framework.StateKey = "PreFilter" + Name

// NodePorts is the filter plugin.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin = NodePorts{}
	_ framework.FilterPlugin    = NodePorts{}
)

type preFilterState []v1.ContainerPort

func (s preFilterState) Clone() framework.StateData { return s }

// Name returns Name.
func (NodePorts) Name() string { return Name }

// PreFilter collects the pod's host ports; it skips the Filter for pods that want none.
func (NodePorts) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ *framework.Snapshot) *framework.Status {
	ports := framework.HostPorts(pod)
	if len(ports) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(stateKey, preFilterState(ports))
	return nil
}

// PreFilterExtensions returns nil: the state is the pod's own.
func (NodePorts) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Fits reports whether none of wanted collides with the ports in use on the node.
func Fits(wanted []v1.ContainerPort, used framework.HostPortInfo) bool {
	for _, p := range wanted {
		if used.CheckConflict(p.HostIP, string(p.Protocol), p.HostPort) {
			return false
		}
	}
	return true
}

// Filter rejects nodes with a conflicting port.
func (NodePorts) Filter(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(stateKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	if Fits(d.(preFilterState), ni.UsedPorts) {
		return nil
	}
	return framework.NewStatus(framework.Unschedulable, ErrReason)
}
