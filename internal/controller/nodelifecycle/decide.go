package nodelifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Taints the controller manages, as upstream's.
var (
	UnreachableNoExecute  = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	NotReadyNoExecute     = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
	UnreachableNoSchedule = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}
	NotReadyNoSchedule    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
)

func managed(t corev1.Taint) bool {
	return (t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady) &&
		(t.Effect == corev1.TaintEffectNoExecute || t.Effect == corev1.TaintEffectNoSchedule)
}

// ReadyStatus returns node's Ready condition status (Unknown if it has none).
func ReadyStatus(node *corev1.Node) corev1.ConditionStatus {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// WantedTaints is the set of managed taints a node with Ready status ready should carry:
// not-ready for False, unreachable for Unknown, none for True.
func WantedTaints(ready corev1.ConditionStatus) []corev1.Taint {
	switch ready {
	case corev1.ConditionFalse:
		return []corev1.Taint{NotReadyNoSchedule, NotReadyNoExecute}
	case corev1.ConditionUnknown:
		return []corev1.Taint{UnreachableNoSchedule, UnreachableNoExecute}
	}
	return nil
}

// Reconcile returns node's taints with the managed ones replaced by wanted (a taint already
// there keeps its timeAdded), and whether anything changed.
func Reconcile(current, wanted []corev1.Taint, now time.Time) ([]corev1.Taint, bool) {
	var out []corev1.Taint
	have := map[corev1.Taint]bool{}
	changed := false
	for _, t := range current {
		if !managed(t) {
			out = append(out, t)
			continue
		}
		keep := false
		for _, w := range wanted {
			if w.Key == t.Key && w.Effect == t.Effect {
				keep = true
			}
		}
		if keep {
			out = append(out, t)
			have[corev1.Taint{Key: t.Key, Effect: t.Effect}] = true
		} else {
			changed = true
		}
	}
	for _, w := range wanted {
		if have[w] {
			continue
		}
		t := w
		if t.Effect == corev1.TaintEffectNoExecute {
			at := metav1.NewTime(now)
			t.TimeAdded = &at
		}
		out = append(out, t)
		changed = true
	}
	return out, changed
}

// Health is what the controller last saw of a node's heartbeats.
type Health struct {
	// Heartbeat is the newest of the Lease's renewTime and the Ready condition's
	// lastHeartbeatTime, as the node reported it.
	Heartbeat time.Time
	// Observed is when the controller saw Heartbeat change (its own clock, so that clock skew
	// between node and control plane does not matter).
	Observed time.Time
}

// Observe updates h with a heartbeat seen at now.
func (h Health) Observe(heartbeat, now time.Time) Health {
	if heartbeat.After(h.Heartbeat) || h.Observed.IsZero() {
		return Health{Heartbeat: heartbeat, Observed: now}
	}
	return h
}

// Stale reports whether a node has been silent for longer than grace.
func (h Health) Stale(now time.Time, grace time.Duration) bool {
	return now.Sub(h.Observed) > grace
}

// EvictionDelay is how long a pod may stay on a node with taints: 0 to evict now, -1 for
// never (every NoExecute taint tolerated forever); otherwise the shortest tolerationSeconds
// counted from the taint's timeAdded.
func EvictionDelay(pod *corev1.Pod, taints []corev1.Taint, now time.Time) time.Duration {
	delay := time.Duration(-1)
	for _, taint := range taints {
		if taint.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		var tol *corev1.Toleration
		for i := range pod.Spec.Tolerations {
			if Tolerates(&pod.Spec.Tolerations[i], &taint) {
				tol = &pod.Spec.Tolerations[i]
				break
			}
		}
		if tol == nil {
			return 0
		}
		if tol.TolerationSeconds == nil {
			continue
		}
		added := now
		if taint.TimeAdded != nil {
			added = taint.TimeAdded.Time
		}
		d := added.Add(time.Duration(max(*tol.TolerationSeconds, 0)) * time.Second).Sub(now)
		if d < 0 {
			d = 0
		}
		if delay < 0 || d < delay {
			delay = d
		}
	}
	return delay
}

// Tolerates reports whether tol tolerates taint (an empty key with Exists tolerates every
// taint; an empty effect, every effect).
func Tolerates(tol *corev1.Toleration, taint *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return tol.Key != "" && tol.Value == taint.Value
	}
	return false
}
