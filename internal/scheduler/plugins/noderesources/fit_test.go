package noderesources

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

func rl(cpu, mem string, extra ...string) v1.ResourceList {
	l := v1.ResourceList{}
	if cpu != "" {
		l[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		l[v1.ResourceMemory] = resource.MustParse(mem)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		l[v1.ResourceName(extra[i])] = resource.MustParse(extra[i+1])
	}
	return l
}

func ctr(req v1.ResourceList) v1.Container {
	return v1.Container{Name: "c", Resources: v1.ResourceRequirements{Requests: req}}
}

func node(cpu, mem, pods string, extra ...string) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	a := rl(cpu, mem, extra...)
	a[v1.ResourcePods] = resource.MustParse(pods)
	ni.SetNode(&v1.Node{Status: v1.NodeStatus{Allocatable: a}})
	return ni
}

func TestFilter(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	for _, tc := range []struct {
		name     string
		pod      v1.PodSpec
		existing []v1.PodSpec
		node     *framework.NodeInfo
		want     *framework.Status
	}{
		{"fits", v1.PodSpec{Containers: []v1.Container{ctr(rl("1", "1Gi"))}}, nil, node("2", "2Gi", "10"), nil},
		{"cpu short", v1.PodSpec{Containers: []v1.Container{ctr(rl("1", "1Gi"))}},
			[]v1.PodSpec{{Containers: []v1.Container{ctr(rl("1500m", ""))}}}, node("2", "2Gi", "10"),
			framework.NewStatus(framework.Unschedulable, ReasonInsufficientCPU)},
		{"cpu and memory short, both reasons", v1.PodSpec{Containers: []v1.Container{ctr(rl("1", "1Gi"))}},
			[]v1.PodSpec{{Containers: []v1.Container{ctr(rl("1500m", "1500Mi"))}}}, node("2", "2Gi", "10"),
			framework.NewStatus(framework.Unschedulable, ReasonInsufficientCPU, ReasonInsufficientMemory)},
		{"more than the whole node is unresolvable", v1.PodSpec{Containers: []v1.Container{ctr(rl("3", ""))}}, nil, node("2", "2Gi", "10"),
			framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonInsufficientCPU)},
		{"init containers count by their maximum", v1.PodSpec{InitContainers: []v1.Container{ctr(rl("3", ""))}, Containers: []v1.Container{ctr(rl("1", ""))}},
			nil, node("2", "2Gi", "10"), framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonInsufficientCPU)},
		{"init container below the app containers fits", v1.PodSpec{InitContainers: []v1.Container{ctr(rl("2", ""))}, Containers: []v1.Container{ctr(rl("1", ""))}},
			nil, node("2", "2Gi", "10"), nil},
		{"sidecars add to app containers", v1.PodSpec{InitContainers: []v1.Container{{Name: "side", RestartPolicy: &always, Resources: v1.ResourceRequirements{Requests: rl("1", "")}}},
			Containers: []v1.Container{ctr(rl("1500m", ""))}}, nil, node("2", "2Gi", "10"), framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonInsufficientCPU)},
		{"overhead counts", v1.PodSpec{Overhead: rl("600m", ""), Containers: []v1.Container{ctr(rl("1500m", ""))}}, nil, node("2", "2Gi", "10"),
			framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonInsufficientCPU)},
		{"too many pods", v1.PodSpec{Containers: []v1.Container{ctr(nil)}}, []v1.PodSpec{{}}, node("2", "2Gi", "1"),
			framework.NewStatus(framework.Unschedulable, ReasonTooManyPods)},
		{"extended resource short", v1.PodSpec{Containers: []v1.Container{ctr(rl("", "", "example.com/gpu", "2"))}},
			[]v1.PodSpec{{Containers: []v1.Container{ctr(rl("", "", "example.com/gpu", "1"))}}}, node("2", "2Gi", "10", "example.com/gpu", "2"),
			framework.NewStatus(framework.Unschedulable, "Insufficient example.com/gpu")},
		{"extended resource absent from node", v1.PodSpec{Containers: []v1.Container{ctr(rl("", "", "example.com/gpu", "1"))}}, nil, node("2", "2Gi", "10"),
			framework.NewStatus(framework.UnschedulableAndUnresolvable, "Insufficient example.com/gpu")},
		{"ephemeral-storage", v1.PodSpec{Containers: []v1.Container{ctr(rl("", "", "ephemeral-storage", "2Gi"))}}, nil, node("2", "2Gi", "10", "ephemeral-storage", "1Gi"),
			framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonInsufficientEphemeralDisk)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, spec := range tc.existing {
				p := &v1.Pod{Spec: spec}
				p.UID = types.UID(fmt.Sprint("e", i))
				tc.node.AddPod(p)
			}
			pod := &v1.Pod{Spec: tc.pod}
			state := framework.NewCycleState()
			Fit{}.PreFilter(context.Background(), state, pod, nil)
			if got := (Fit{}).Filter(context.Background(), state, pod, tc.node); !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScores(t *testing.T) {
	// Upstream's documented example: node 4000m/10000 bytes with 3000m/5000 requested after
	// the pod: LeastAllocated = ((4000-3000)*100/4000 + (10000-5000)*100/10000)/2 = (25+50)/2.
	ni := node("4", "10000", "10")
	ni.AddPod(&v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{ctr(rl("2", "3000"))}}})
	if got := LeastAllocatedScore(1000, 2000, ni); got != 37 {
		t.Errorf("LeastAllocated %d, want 37", got)
	}
	// Balanced: with the pod cpu 3/4, memory 5000/10000: std = |0.75-0.5|/2 = 0.125 -> 87;
	// without: cpu 0.5, memory 0.3: std 0.1 -> 90; 50 + (50 + 87 - 90)/2 = 73.
	if got := BalancedScore(1000, 2000, ni); got != 73 {
		t.Errorf("Balanced %d, want 73", got)
	}
	empty := node("4", "10000", "10")
	if got := BalancedScore(1000, 2500, empty); got != 75 {
		t.Errorf("Balanced on empty node with a proportional pod %d, want 75", got)
	}
}
