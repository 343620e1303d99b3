package job

import (
	"math"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller/podstate"
)

// Pod failure back-off: DefaultBackoff doubled for each failure since the last success,
// capped at MaxBackoff.
const (
	DefaultBackoff = 10 * time.Second
	MaxBackoff     = 6 * time.Minute
)

// Backoff is what the pod failure back-off remembers of a Job, as upstream's backoff store:
// the failures since the last success and when the last of them happened. Pods deleted
// without being counted (a suspended Job's, say) are not failures here.
type Backoff struct {
	Failures    int
	LastFailure time.Time
	// seen are the finished pods, still with their finalizer, already accounted for.
	seen sets.Set[types.UID]
}

// next returns b after the finished pods (with the tracking finalizer) it has not seen.
func (b Backoff) next(job *batchv1.Job, pods []*corev1.Pod) Backoff {
	seen := sets.New[types.UID]()
	var succeeded, failed []time.Time
	for _, p := range pods {
		if !hasFinalizer(p) {
			continue
		}
		isFailed := isPodFailed(p, job)
		if p.Status.Phase != corev1.PodSucceeded && !isFailed {
			continue
		}
		seen.Insert(p.UID)
		if b.seen.Has(p.UID) {
			continue
		}
		if isFailed {
			failed = append(failed, finishTime(p))
		} else {
			succeeded = append(succeeded, finishTime(p))
		}
	}
	out := Backoff{Failures: b.Failures, LastFailure: b.LastFailure, seen: seen}
	if len(succeeded) > 0 {
		last := slices.MaxFunc(succeeded, time.Time.Compare)
		out.Failures, out.LastFailure = 0, time.Time{}
		failed = slices.DeleteFunc(failed, func(t time.Time) bool { return !t.After(last) })
	}
	for _, t := range failed {
		out.Failures++
		if t.After(out.LastFailure) {
			out.LastFailure = t
		}
	}
	return out
}

// remaining is how long new pods must still wait at now.
func (b Backoff) remaining(now time.Time) time.Duration {
	if b.Failures == 0 {
		return 0
	}
	return max(0, b.LastFailure.Add(BackoffDelay(b.Failures)).Sub(now))
}

// BackoffDelay is the delay before new pods after n failures since the last success.
func BackoffDelay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := float64(DefaultBackoff) * math.Pow(2, float64(n-1))
	if d > float64(MaxBackoff) {
		return MaxBackoff
	}
	return time.Duration(d)
}

// finishTime is when p finished, as upstream estimates it: its containers' last exit if all
// exited, else when it stopped being ready, else its deletion less its grace period, else its
// creation.
func finishTime(p *corev1.Pod) time.Time {
	var t time.Time
	all := len(p.Status.ContainerStatuses) > 0
	for _, c := range p.Status.ContainerStatuses {
		term := c.State.Terminated
		if term == nil || term.FinishedAt.IsZero() {
			all = false
			break
		}
		if term.FinishedAt.After(t) {
			t = term.FinishedAt.Time
		}
	}
	if all {
		return t
	}
	if c := podstate.ReadyCondition(p); c != nil && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Add(-time.Duration(ptr.Deref(p.DeletionGracePeriodSeconds, 0)) * time.Second)
	}
	return p.CreationTimestamp.Time
}
