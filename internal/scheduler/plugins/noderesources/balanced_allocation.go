package noderesources

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// BalancedAllocationName is NodeResourcesBalancedAllocation's name.
const BalancedAllocationName = "NodeResourcesBalancedAllocation"

// BalancedAllocation prefers nodes whose cpu and memory shares stay close after placing the pod.
type BalancedAllocation struct{}

var (
	_ framework.PreScorePlugin = BalancedAllocation{}
	_ framework.ScorePlugin    = BalancedAllocation{}
)

// Name returns BalancedAllocationName.
func (BalancedAllocation) Name() string { return BalancedAllocationName }

// PreScore skips best-effort pods (no cpu or memory request), as upstream does since v1.32.
func (BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ *framework.Snapshot, _ []*framework.NodeInfo) *framework.Status {
	r := framework.PodInfoOf(state, pod).Requests
	if r.MilliCPU == 0 && r.Memory == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// BalancedScore is upstream's v1.33+ formula: 50 + (50 + with - without)/2, where with and
// without are (1 - std of the cpu and memory shares) * 100 with and without the pod.
func BalancedScore(podCPU, podMem int64, ni *framework.NodeInfo) int64 {
	a, r := &ni.Allocatable, &ni.Requested
	with := balance2(r.MilliCPU+podCPU, a.MilliCPU, r.Memory+podMem, a.Memory)
	without := balance2(r.MilliCPU, a.MilliCPU, r.Memory, a.Memory)
	return framework.MaxNodeScore/2 + (framework.MaxNodeScore/2+with-without)/2
}

// balance2 is balance for cpu and memory without allocating.
func balance2(r0, a0, r1, a1 int64) int64 {
	if a0 == 0 || a1 == 0 {
		return framework.MaxNodeScore
	}
	f0, f1 := float64(r0)/float64(a0), float64(r1)/float64(a1)
	f0, f1 = min(f0, 1), min(f1, 1)
	std := f0 - f1
	if std < 0 {
		std = -std
	}
	return int64((1 - std/2) * float64(framework.MaxNodeScore))
}

func balance(requested, allocatable []int64) int64 {
	var fr []float64
	var total float64
	for i := range requested {
		if allocatable[i] == 0 {
			continue
		}
		f := float64(requested[i]) / float64(allocatable[i])
		if f > 1 {
			f = 1
		}
		total += f
		fr = append(fr, f)
	}
	std := 0.0
	switch {
	case len(fr) == 2:
		std = math.Abs((fr[0] - fr[1]) / 2)
	case len(fr) > 2:
		mean := total / float64(len(fr))
		var sum float64
		for _, f := range fr {
			sum += (f - mean) * (f - mean)
		}
		std = math.Sqrt(sum / float64(len(fr)))
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}

// Score scores by BalancedScore.
func (BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	r := framework.PodInfoOf(state, pod).Requests
	return BalancedScore(r.MilliCPU, r.Memory, ni), nil
}

// ScoreExtensions returns nil.
func (BalancedAllocation) ScoreExtensions() framework.ScoreExtensions { return nil }
