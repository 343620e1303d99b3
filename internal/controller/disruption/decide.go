// Package disruption is the PodDisruptionBudget controller, as upstream's: it keeps each PDB's
// status (expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed, the DisruptionAllowed
// condition, disruptedPods) true to the pods its selector matches, so that the eviction
// subresource can refuse evictions that would take a workload below its budget.
//
// The decisions are plain functions: Expected works out how many pods a budget protects (the
// scale of the controllers owning the pods for percentages and maxUnavailable, the number of pods
// for an integer minAvailable), and Compute the status from that and the pods.
package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// DeletionTimeout is how long an eviction's entry in status.disruptedPods counts the pod as
// already gone while its deletion has not been observed (upstream's 2 minutes).
const DeletionTimeout = 2 * time.Minute

// Condition reasons, as upstream's.
const (
	SufficientPodsReason   = "SufficientPods"
	InsufficientPodsReason = "InsufficientPods"
	SyncFailedReason       = "SyncFailed"
)

// Owner is a controller owning pods, with its desired scale.
type Owner struct {
	UID   types.UID
	Scale int32
}

// Expected returns how many pods pdb protects: for an integer minAvailable, the pods matched;
// otherwise the sum of the scales of the distinct controllers owning them (owners maps a pod's
// controller UID to its scale; a pod without a known controller is an error, as upstream's
// "found no controllers for pod").
func Expected(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, owners map[types.UID]int32) (int32, error) {
	if mv := pdb.Spec.MinAvailable; mv != nil && mv.Type == intstr.Int && pdb.Spec.MaxUnavailable == nil {
		return int32(len(pods)), nil
	}
	seen := map[types.UID]bool{}
	var total int32
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			return 0, fmt.Errorf("found no controller ref for pod %q", p.Name)
		}
		scale, ok := owners[ref.UID]
		if !ok {
			return 0, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		if !seen[ref.UID] {
			seen[ref.UID] = true
			total += scale
		}
	}
	return total, nil
}

// Desired returns how many healthy pods pdb requires out of expected.
func Desired(pdb *policyv1.PodDisruptionBudget, expected int32) (int32, error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, err
		}
		return max(expected-int32(n), 0), nil
	case pdb.Spec.MinAvailable != nil:
		if pdb.Spec.MinAvailable.Type == intstr.Int {
			return pdb.Spec.MinAvailable.IntVal, nil
		}
		n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, err
		}
		return int32(n), nil
	}
	return 0, nil
}

// Ready reports whether pod counts as healthy: Ready and not being deleted.
func Ready(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Compute returns pdb's status from the pods it matches and how many it protects. disrupted
// entries whose pod is gone or being deleted, or older than DeletionTimeout, are dropped; the
// others count as unhealthy.
func Compute(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, expected, desired int32, now time.Time) policyv1.PodDisruptionBudgetStatus {
	disrupted := map[string]metav1.Time{}
	byName := map[string]*corev1.Pod{}
	for _, p := range pods {
		byName[p.Name] = p
	}
	for name, t := range pdb.Status.DisruptedPods {
		p, ok := byName[name]
		if !ok || p.DeletionTimestamp != nil || now.After(t.Add(DeletionTimeout)) {
			continue
		}
		disrupted[name] = t
	}
	var healthy int32
	for _, p := range pods {
		if _, gone := disrupted[p.Name]; !gone && Ready(p) {
			healthy++
		}
	}
	allowed := max(healthy-desired, 0)
	if expected <= 0 {
		allowed = 0
	}
	st := policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation,
		ExpectedPods:       expected,
		CurrentHealthy:     healthy,
		DesiredHealthy:     desired,
		DisruptionsAllowed: allowed,
		Conditions:         pdb.Status.Conditions,
	}
	if len(disrupted) > 0 {
		st.DisruptedPods = disrupted
	}
	cond := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionTrue, Reason: SufficientPodsReason, ObservedGeneration: pdb.Generation}
	if allowed == 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, InsufficientPodsReason
	}
	st.Conditions = setCondition(st.Conditions, cond, now)
	return st
}

// Failed returns pdb's status after a sync that could not count: nothing allowed, with the
// SyncFailed reason and its message.
func Failed(pdb *policyv1.PodDisruptionBudget, err error, now time.Time) policyv1.PodDisruptionBudgetStatus {
	st := *pdb.Status.DeepCopy()
	st.DisruptionsAllowed = 0
	st.ObservedGeneration = pdb.Generation
	st.Conditions = setCondition(st.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
		Reason: SyncFailedReason, Message: err.Error(), ObservedGeneration: pdb.Generation}, now)
	return st
}

// setCondition replaces or adds c, keeping the transition time when the status did not change.
func setCondition(conds []metav1.Condition, c metav1.Condition, now time.Time) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(conds)+1)
	c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
	found := false
	for _, old := range conds {
		if old.Type != c.Type {
			out = append(out, old)
			continue
		}
		found = true
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		out = append(out, c)
	}
	if !found {
		out = append(out, c)
	}
	return out
}
