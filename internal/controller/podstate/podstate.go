// Package podstate answers what several controllers ask of a pod: is it active, ready,
// available, and which pods of a set matter least (upstream's ranking for scale-down).
package podstate

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// DeletionCostAnnotation ranks pods for deletion: lower cost goes first.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// IsActive reports whether pod still counts towards its controller's replicas: not terminal
// and not being deleted.
func IsActive(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed &&
		pod.DeletionTimestamp == nil
}

// Active returns the active pods of pods.
func Active(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if IsActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// ReadyCondition returns pod's Ready condition, or nil.
func ReadyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// IsReady reports whether pod's Ready condition is True.
func IsReady(pod *corev1.Pod) bool {
	c := ReadyCondition(pod)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsAvailable reports whether pod has been ready for at least minReadySeconds at now.
func IsAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := ReadyCondition(pod)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	min := time.Duration(minReadySeconds) * time.Second
	return !c.LastTransitionTime.IsZero() && !c.LastTransitionTime.Add(min).After(now)
}

var phaseOrdinal = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// DeletionCost is pod's pod-deletion-cost annotation (0 when absent or invalid).
func DeletionCost(pod *corev1.Pod) int32 {
	v, ok := pod.Annotations[DeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// Ranked is a set of pods ordered least valuable first, as upstream's ActivePodsWithRanks:
// unassigned < assigned; Pending < Unknown < Running; not ready < ready; lower deletion cost <
// higher; more co-located ready siblings (Rank) < fewer; ready for less time < longer (in
// powers of two); more container restarts < fewer; newer < older (in powers of two).
type Ranked struct {
	Pods []*corev1.Pod
	// Rank[i] is how many related ready pods share Pods[i]'s node.
	Rank []int
	Now  time.Time
}

func (s Ranked) Len() int { return len(s.Pods) }

func (s Ranked) Swap(i, j int) {
	s.Pods[i], s.Pods[j] = s.Pods[j], s.Pods[i]
	s.Rank[i], s.Rank[j] = s.Rank[j], s.Rank[i]
}

func (s Ranked) Less(i, j int) bool {
	a, b := s.Pods[i], s.Pods[j]
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrdinal[a.Status.Phase], phaseOrdinal[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	if ra, rb := IsReady(a), IsReady(b); ra != rb {
		return !ra
	}
	if ca, cb := DeletionCost(a), DeletionCost(b); ca != cb {
		return ca < cb
	}
	if s.Rank[i] != s.Rank[j] {
		return s.Rank[i] > s.Rank[j]
	}
	if IsReady(a) && IsReady(b) {
		ta, tb := readyTime(a), readyTime(b)
		if !ta.Equal(tb) {
			if s.Now.IsZero() || ta.IsZero() || tb.IsZero() {
				return afterOrZero(ta, tb)
			}
			if d := logRankDiff(ta, tb, s.Now); d != 0 {
				return d < 0
			}
			return a.UID < b.UID
		}
	}
	if ra, rb := maxRestarts(a), maxRestarts(b); ra != rb {
		return ra > rb
	}
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		if s.Now.IsZero() || ta.IsZero() || tb.IsZero() {
			return afterOrZero(ta, tb)
		}
		if d := logRankDiff(ta, tb, s.Now); d != 0 {
			return d < 0
		}
		return a.UID < b.UID
	}
	return false
}

func readyTime(pod *corev1.Pod) time.Time {
	if c := ReadyCondition(pod); c != nil && c.Status == corev1.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

// afterOrZero reports whether a is after b, a zero time counting as after every other.
func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

func logRankDiff(a, b, now time.Time) int64 {
	rank := func(t time.Time) int64 {
		if d := now.Sub(t); d > 0 {
			return int64(math.Log2(float64(d)))
		}
		return -1
	}
	return rank(a) - rank(b)
}

// maxRestarts is the highest restart count of pod's containers (sidecars count when no
// regular container restarted, as upstream compares them second).
func maxRestarts(pod *corev1.Pod) int {
	n := 0
	for _, c := range pod.Status.ContainerStatuses {
		n = max(n, int(c.RestartCount))
	}
	return n
}

// RankForDeletion returns the first n of pods in deletion order. related are all pods of the
// same owner family (for a Deployment's ReplicaSet: every ReplicaSet's pods); a pod ranks
// worse the more ready related pods share its node.
func RankForDeletion(pods, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(pods) {
		n = len(pods)
	}
	perNode := map[string]int{}
	for _, p := range related {
		if p.Spec.NodeName != "" && IsActive(p) && IsReady(p) {
			perNode[p.Spec.NodeName]++
		}
	}
	r := Ranked{Pods: append([]*corev1.Pod(nil), pods...), Rank: make([]int, len(pods)), Now: now}
	for i, p := range r.Pods {
		r.Rank[i] = perNode[p.Spec.NodeName]
	}
	sort.Sort(r)
	return r.Pods[:n]
}

// Condition is a helper for tests and controllers that build pod statuses.
func Condition(t corev1.PodConditionType, s corev1.ConditionStatus, at time.Time) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: metav1.NewTime(at)}
}

// IsTerminating reports whether pod is being deleted but has not finished (not terminal).
func IsTerminating(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// IsTerminal reports whether pod has finished: phase Succeeded or Failed.
func IsTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// InEndpoints reports whether pod belongs in a Service's endpoints, as upstream's
// ShouldPodBeInEndpoints: it has an IP and is not terminal; a pod being deleted counts only
// with includeTerminating.
func InEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if IsTerminal(pod) || (pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0) {
		return false
	}
	return includeTerminating || pod.DeletionTimestamp == nil
}

// FindPort resolves a Service port's targetPort on pod: a number is itself, a name is looked
// up in the pod's container ports with the Service port's protocol.
func FindPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, error) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == tp.StrVal && p.Protocol == sp.Protocol {
					return p.ContainerPort, nil
				}
			}
		}
		return 0, fmt.Errorf("pod %s/%s: no container port named %q (%s)", pod.Namespace, pod.Name, tp.StrVal, sp.Protocol)
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return tp.IntVal, nil
	}
	return sp.Port, nil
}
