// Package noderesources holds NodeResourcesFit (does the pod's request fit the node's free
// allocatable; prefer the least allocated node) and NodeResourcesBalancedAllocation (prefer the
// node whose cpu and memory use stay in balance).
package noderesources

import (
	"context"
	"fmt"
	"sort"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// FitName is NodeResourcesFit's name.
const FitName = "NodeResourcesFit"

// Upstream's reasons.
const (
	ReasonTooManyPods               = "Too many pods"
	ReasonInsufficientCPU           = "Insufficient cpu"
	ReasonInsufficientMemory        = "Insufficient memory"
	ReasonInsufficientEphemeralDisk = "Insufficient ephemeral-storage"
)

const preFilterKey framework.StateKey = "PreFilter" + FitName

// Fit is the NodeResourcesFit plugin, scoring with the LeastAllocated strategy (cpu and memory,
// weight 1 each, as upstream's default).
type Fit struct{}

var (
	_ framework.PreFilterPlugin = Fit{}
	_ framework.FilterPlugin    = Fit{}
	_ framework.ScorePlugin     = Fit{}
)

// Name returns FitName.
func (Fit) Name() string { return FitName }

type preFilterState struct{ framework.Resource }

func (s *preFilterState) Clone() framework.StateData { return s }

// PreFilter records the pod's effective request (init containers, sidecars, overhead).
func (Fit) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ *framework.Snapshot) *framework.Status {
	state.Write(preFilterKey, &preFilterState{framework.PodInfoOf(state, pod).Requests})
	return nil
}

// PreFilterExtensions returns nil: the state is the pod's own.
func (Fit) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Insufficient describes one resource that does not fit.
type Insufficient struct {
	Resource v1.ResourceName
	Reason   string
	// Unresolvable is true when the request exceeds the node's whole allocatable, so that
	// evicting pods cannot help.
	Unresolvable bool
}

// Fits lists what does not fit when a pod requesting req is added to ni (empty: it fits).
func Fits(req *framework.Resource, ni *framework.NodeInfo) []Insufficient {
	var out []Insufficient
	if int64(len(ni.Pods))+1 > ni.Allocatable.AllowedPodNumber {
		out = append(out, Insufficient{Resource: v1.ResourcePods, Reason: ReasonTooManyPods})
	}
	if req.MilliCPU == 0 && req.Memory == 0 && req.EphemeralStorage == 0 && len(req.ScalarResources) == 0 {
		return out
	}
	a, r := &ni.Allocatable, &ni.Requested
	if req.MilliCPU > 0 && req.MilliCPU > a.MilliCPU-r.MilliCPU {
		out = append(out, Insufficient{v1.ResourceCPU, ReasonInsufficientCPU, req.MilliCPU > a.MilliCPU})
	}
	if req.Memory > 0 && req.Memory > a.Memory-r.Memory {
		out = append(out, Insufficient{v1.ResourceMemory, ReasonInsufficientMemory, req.Memory > a.Memory})
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > a.EphemeralStorage-r.EphemeralStorage {
		out = append(out, Insufficient{v1.ResourceEphemeralStorage, ReasonInsufficientEphemeralDisk, req.EphemeralStorage > a.EphemeralStorage})
	}
	if len(req.ScalarResources) > 0 {
		names := make([]string, 0, len(req.ScalarResources))
		for n := range req.ScalarResources {
			names = append(names, string(n))
		}
		sort.Strings(names)
		for _, s := range names {
			n := v1.ResourceName(s)
			q := req.ScalarResources[n]
			if q > 0 && q > a.ScalarResources[n]-r.ScalarResources[n] {
				out = append(out, Insufficient{n, fmt.Sprintf("Insufficient %v", n), q > a.ScalarResources[n]})
			}
		}
	}
	return out
}

// Filter rejects a node where the request does not fit, with one reason per resource.
func (Fit) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	var req *framework.Resource
	if state.PodInfo != nil && state.PodInfo.Pod == pod {
		req = &state.PodInfo.Requests
	} else {
		d, err := state.Read(preFilterKey)
		if err != nil {
			return framework.AsStatus(err)
		}
		req = &d.(*preFilterState).Resource
	}
	ins := Fits(req, ni)
	if len(ins) == 0 {
		return nil
	}
	code := framework.Unschedulable
	reasons := make([]string, len(ins))
	for i, x := range ins {
		reasons[i] = x.Reason
		if x.Unresolvable {
			code = framework.UnschedulableAndUnresolvable
		}
	}
	return framework.NewStatus(code, reasons...)
}

// LeastAllocatedScore is upstream's LeastAllocated: the mean over cpu and memory of the free
// share after placing the pod, in [0, 100]. Requests count unset container requests as the
// defaults (100m cpu, 200Mi memory).
func LeastAllocatedScore(podCPU, podMem int64, ni *framework.NodeInfo) int64 {
	var sum, n int64
	if a := ni.Allocatable.MilliCPU; a > 0 {
		sum += leastRequested(ni.NonZeroRequested.MilliCPU+podCPU, a)
		n++
	}
	if a := ni.Allocatable.Memory; a > 0 {
		sum += leastRequested(ni.NonZeroRequested.Memory+podMem, a)
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

func leastRequested(requested, capacity int64) int64 {
	if requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}

// Score scores by LeastAllocated.
func (Fit) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	pi := framework.PodInfoOf(state, pod)
	return LeastAllocatedScore(pi.NonZeroCPU, pi.NonZeroMemory, ni), nil
}

// ScoreExtensions returns nil.
func (Fit) ScoreExtensions() framework.ScoreExtensions { return nil }
