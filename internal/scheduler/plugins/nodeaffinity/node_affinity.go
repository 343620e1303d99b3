// Package nodeaffinity filters nodes by a pod's nodeSelector and required node affinity, and
// scores them by its preferred node affinity terms.
package nodeaffinity

import (
	"context"

	v1 "k8s.io/api/core/v1"
	helper "k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeAffinity"

// ErrReasonPod is upstream's reason.
const ErrReasonPod = "node(s) didn't match Pod's node affinity/selector"

const (
	preFilterKey framework.StateKey = "PreFilter" + Name
	preScoreKey  framework.StateKey = "PreScore" + Name
)

// NodeAffinity is the filter and score plugin.
type NodeAffinity struct{}

var (
	_ framework.PreFilterPlugin = NodeAffinity{}
	_ framework.FilterPlugin    = NodeAffinity{}
	_ framework.PreScorePlugin  = NodeAffinity{}
	_ framework.ScorePlugin     = NodeAffinity{}
)

type preFilterState struct{ required helper.RequiredNodeAffinity }

func (s *preFilterState) Clone() framework.StateData { return s }

type preScoreState struct {
	preferred *helper.PreferredSchedulingTerms
}

func (s *preScoreState) Clone() framework.StateData { return s }

// Name returns Name.
func (NodeAffinity) Name() string { return Name }

// PreFilter parses the pod's selector and required terms; it skips pods that have neither.
func (NodeAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ *framework.Snapshot) *framework.Status {
	a := pod.Spec.Affinity
	if len(pod.Spec.NodeSelector) == 0 && (a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil) {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preFilterKey, &preFilterState{required: helper.GetRequiredNodeAffinity(pod)})
	return nil
}

// PreFilterExtensions returns nil.
func (NodeAffinity) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Fits reports whether node satisfies the pod's nodeSelector and required node affinity.
func Fits(pod *v1.Pod, node *v1.Node) bool {
	ok, _ := helper.GetRequiredNodeAffinity(pod).Match(node)
	return ok
}

// Filter rejects nodes that do not match.
func (NodeAffinity) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	if ok, _ := d.(*preFilterState).required.Match(ni.Node()); ok {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
}

// PreScore parses the preferred terms; it skips pods without any.
func (NodeAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ *framework.Snapshot, _ []*framework.NodeInfo) *framework.Status {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	terms, err := helper.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return framework.AsStatus(err)
	}
	state.Write(preScoreKey, &preScoreState{preferred: terms})
	return nil
}

// Score sums the weights of the preferred terms node matches.
func (NodeAffinity) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	return d.(*preScoreState).preferred.Score(ni.Node()), nil
}

// ScoreExtensions returns the plugin: scores are scaled to the best node.
func (p NodeAffinity) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore scales scores to [0, 100].
func (NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
	return nil
}
