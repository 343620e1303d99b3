package framework

import (
	"context"
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// MaxNodeScore and MinNodeScore bound normalized scores, as upstream's.
const (
	MaxNodeScore int64 = 100
	MinNodeScore int64 = 0
)

// Plugin is anything with a name.
type Plugin interface {
	Name() string
}

// PreFilterPlugin computes per-pod state once per cycle, before Filter runs on each node.
// Returning Skip disables the plugin's Filter for this pod; returning a rejection makes the pod
// unschedulable on every node.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *v1.Pod, snap *Snapshot) *Status
	// PreFilterExtensions returns nil when the plugin's state does not depend on other pods.
	PreFilterExtensions() PreFilterExtensions
}

// PreFilterExtensions update PreFilter state when preemption or nominated pods add or remove
// a pod on a node during a simulation.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, podToSchedule *v1.Pod, podToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, podToSchedule *v1.Pod, podToRemove *PodInfo, nodeInfo *NodeInfo) *Status
}

// FilterPlugin decides whether pod may run on one node. It is called concurrently for many
// nodes and must not write state.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status
}

// PostFilterResult is what a PostFilter plugin decides: a node to nominate and the pods to
// evict from it. The scheduler carries the decision out.
type PostFilterResult struct {
	NominatedNodeName string
	Victims           []*v1.Pod
}

// PostFilterPlugin runs when no node fits, to make one fit (preemption).
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *v1.Pod, filtered NodeToStatus) (*PostFilterResult, *Status)
}

// PreScorePlugin computes per-pod state for scoring from the nodes that passed Filter.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *v1.Pod, snap *Snapshot, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks a feasible node. Called concurrently.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) (int64, *Status)
	// ScoreExtensions returns nil when scores need no normalization.
	ScoreExtensions() ScoreExtensions
}

// ScoreExtensions normalize a plugin's scores to [MinNodeScore, MaxNodeScore].
type ScoreExtensions interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *v1.Pod, scores NodeScoreList) *Status
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// NodeScoreList is the scores of the feasible nodes, in one plugin's order.
type NodeScoreList []NodeScore

// NodeToStatus records why each rejected node failed Filter.
type NodeToStatus map[string]*Status

// FitError is the error for a pod that fits no node; its message is what users read in the
// FailedScheduling event and the PodScheduled condition.
type FitError struct {
	Pod         *v1.Pod
	NumAllNodes int
	// PreFilterMsg is set when a PreFilter plugin rejected the pod outright.
	PreFilterMsg string
	NodeToStatus NodeToStatus
	// PostFilterMsg is appended after the filter reasons (preemption's verdict).
	PostFilterMsg string
	// UnschedulablePlugins are the plugins that rejected the pod, for queueing hints.
	UnschedulablePlugins map[string]bool
}

// NoNodeAvailableMsg is upstream's prefix.
const NoNodeAvailableMsg = "0/%v nodes are available"

// Error formats the message as upstream does: reasons counted over nodes, each "count reason",
// sorted as strings, then the PostFilter message.
func (f *FitError) Error() string {
	msg := fmt.Sprintf(NoNodeAvailableMsg+":", f.NumAllNodes)
	if f.PreFilterMsg != "" {
		msg += fmt.Sprintf(" %v.", f.PreFilterMsg)
	} else if h := ReasonHistogram(f.NodeToStatus); len(h) > 0 {
		msg += fmt.Sprintf(" %v.", strings.Join(h, ", "))
	}
	if f.PostFilterMsg != "" {
		msg += " " + f.PostFilterMsg
	}
	return msg
}

// ReasonHistogram returns "count reason" for each distinct reason in statuses, sorted.
func ReasonHistogram(statuses NodeToStatus) []string {
	counts := map[string]int{}
	for _, s := range statuses {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	out := make([]string, 0, len(counts))
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%v %v", n, r))
	}
	sort.Strings(out)
	return out
}

// DefaultNormalizeScore scales scores to [0, maxPriority] by the largest; reverse flips them
// (for "fewer is better" counts). It is upstream's helper.
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores NodeScoreList) {
	var maxCount int64
	for i := range scores {
		if scores[i].Score > maxCount {
			maxCount = scores[i].Score
		}
	}
	if maxCount == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return
	}
	for i := range scores {
		s := maxPriority * scores[i].Score / maxCount
		if reverse {
			s = maxPriority - s
		}
		scores[i].Score = s
	}
}
