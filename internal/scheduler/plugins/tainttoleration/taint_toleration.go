// Package tainttoleration filters out nodes with NoSchedule or NoExecute taints the pod does not
// tolerate, and prefers nodes with fewer untolerated PreferNoSchedule taints.
package tainttoleration

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "TaintToleration"

// ErrReasonUntoleratedTaint formats the reason for one untolerated taint, as kube-scheduler
// up to v1.33 wrote it: "node(s) had untolerated taint {key: value}". (Upstream v1.34+ writes
// "node(s) had untolerated taint(s)"; this project keeps the more informative form.)
func ErrReasonUntoleratedTaint(t v1.Taint) string {
	return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
}

const preScoreKey framework.StateKey = "PreScore" + Name

// TaintToleration is the filter and score plugin.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin   = TaintToleration{}
	_ framework.PreScorePlugin = TaintToleration{}
	_ framework.ScorePlugin    = TaintToleration{}
)

// Name returns Name.
func (TaintToleration) Name() string { return Name }

// UntoleratedTaint returns the first NoSchedule or NoExecute taint of taints that tolerations
// do not tolerate.
func UntoleratedTaint(taints []v1.Taint, tolerations []v1.Toleration) (v1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if t.Effect != v1.TaintEffectNoSchedule && t.Effect != v1.TaintEffectNoExecute {
			continue
		}
		if !corev1helpers.TolerationsTolerateTaint(logr.Discard(), tolerations, t, false) {
			return *t, true
		}
	}
	return v1.Taint{}, false
}

// Filter rejects a node with an untolerated NoSchedule/NoExecute taint.
func (TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	t, bad := UntoleratedTaint(ni.Node().Spec.Taints, pod.Spec.Tolerations)
	if !bad {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUntoleratedTaint(t))
}

type preScoreState []v1.Toleration

func (s preScoreState) Clone() framework.StateData { return s }

// PreScore keeps the tolerations that apply to PreferNoSchedule taints.
func (TaintToleration) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ *framework.Snapshot, _ []*framework.NodeInfo) *framework.Status {
	var tols []v1.Toleration
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == v1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(preScoreKey, preScoreState(tols))
	return nil
}

// CountIntolerable counts the PreferNoSchedule taints that tolerations do not tolerate.
func CountIntolerable(taints []v1.Taint, tolerations []v1.Toleration) int64 {
	var n int64
	for i := range taints {
		if taints[i].Effect != v1.TaintEffectPreferNoSchedule {
			continue
		}
		if !corev1helpers.TolerationsTolerateTaint(logr.Discard(), tolerations, &taints[i], false) {
			n++
		}
	}
	return n
}

// Score is the number of intolerable PreferNoSchedule taints (fewer is better).
func (TaintToleration) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	return CountIntolerable(ni.Node().Spec.Taints, d.(preScoreState)), nil
}

// ScoreExtensions returns the plugin.
func (p TaintToleration) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore reverses the counts onto [0, 100].
func (TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
	return nil
}
