package job

import (
	"math"
	"slices"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiff-project/skiff/internal/controller/podstate"
)

// TrackingFinalizer keeps a Job's pod until the controller has counted it.
const TrackingFinalizer = batchv1.JobTrackingFinalizer // batch.kubernetes.io/job-tracking

// Condition reasons and messages, as upstream's.
const (
	BackoffLimitExceeded = batchv1.JobReasonBackoffLimitExceeded
	DeadlineExceeded     = batchv1.JobReasonDeadlineExceeded
	CompletionsReached   = batchv1.JobReasonCompletionsReached

	backoffLimitMessage = "Job has reached the specified backoff limit"
	deadlineMessage     = "Job was active longer than specified deadline"
	completionsMessage  = "Reached expected number of succeeded pods"
)

// Pod failure back-off: DefaultBackoff doubled for each failure since the last success,
// capped at MaxBackoff.
const (
	DefaultBackoff = 10 * time.Second
	MaxBackoff     = 6 * time.Minute
)

func hasFinalizer(p *corev1.Pod) bool { return slices.Contains(p.Finalizers, TrackingFinalizer) }

// isFailed is upstream's isPodFailed for Jobs without a pod failure policy: a Failed pod, or
// one being deleted that did not succeed.
func isFailed(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || (p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded)
}

// isFinished reports whether p is done for the Job's accounting.
func isFinished(p *corev1.Pod) bool { return podstate.IsTerminal(p) || p.DeletionTimestamp != nil }

// Track advances the finalizer protocol on status (a copy is returned): finished pods that
// still have the finalizer go into uncountedTerminatedPods, and UIDs there whose pods have
// lost the finalizer (or are gone) move into succeeded and failed. After writing the result,
// the controller removes the finalizer from the pods Track returns (those whose UIDs are now
// recorded), so that no pod is counted twice or lost.
func Track(status batchv1.JobStatus, pods []*corev1.Pod) (batchv1.JobStatus, []*corev1.Pod) {
	st := *status.DeepCopy()
	u := st.UncountedTerminatedPods
	if u == nil {
		u = &batchv1.UncountedTerminatedPods{}
	}
	succ, fail := sets.New(u.Succeeded...), sets.New(u.Failed...)
	withFinalizer := sets.New[types.UID]()
	var release []*corev1.Pod
	for _, p := range pods {
		if !hasFinalizer(p) {
			continue
		}
		withFinalizer.Insert(p.UID)
		if !isFinished(p) {
			continue
		}
		if !succ.Has(p.UID) && !fail.Has(p.UID) {
			if isFailed(p) {
				fail.Insert(p.UID)
			} else {
				succ.Insert(p.UID)
			}
		}
		release = append(release, p)
	}
	for _, uid := range u.Succeeded {
		if !withFinalizer.Has(uid) {
			succ.Delete(uid)
			st.Succeeded++
		}
	}
	for _, uid := range u.Failed {
		if !withFinalizer.Has(uid) {
			fail.Delete(uid)
			st.Failed++
		}
	}
	st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: sorted(succ), Failed: sorted(fail)}
	return st, release
}

func sorted(s sets.Set[types.UID]) []types.UID {
	if s.Len() == 0 {
		return nil
	}
	out := s.UnsortedList()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Decision is what Decide wants done for a Job.
type Decision struct {
	// Create is how many pods to create; Delete the active pods to delete.
	Create int
	Delete []*corev1.Pod
	// Conditions are the conditions to add (FailureTarget, SuccessCriteriaMet, Failed, Complete).
	Conditions []batchv1.JobCondition
	// Complete: set completionTime.
	Complete bool
	// RequeueAfter, if not zero, is when to look again (back-off or deadline).
	RequeueAfter time.Duration
}

// Decide computes, for job with the tracked status st (see Track) and its pods at now, the
// pods to create or delete and the conditions to add, as upstream (1.31+): the backoff limit
// (failures counted from status, uncounted ones included) or the active deadline first sets
// FailureTarget, and the completions reached SuccessCriteriaMet; the remaining active pods are
// then deleted, and once no pod is left running, terminating or uncounted, Failed or Complete
// follows with the same reason. Otherwise it keeps min(parallelism, completions left) pods
// active, creating new ones only once the failure back-off has passed.
func Decide(job *batchv1.Job, st batchv1.JobStatus, pods []*corev1.Pod, now time.Time) Decision {
	var d Decision
	if finished(job) {
		return d
	}
	var active []*corev1.Pod
	terminating := 0
	for _, p := range pods {
		switch {
		case podstate.IsActive(p):
			active = append(active, p)
		case p.DeletionTimestamp != nil && !podstate.IsTerminal(p):
			terminating++
		}
	}
	u := st.UncountedTerminatedPods
	if u == nil {
		u = &batchv1.UncountedTerminatedPods{}
	}
	succeeded := int(st.Succeeded) + len(u.Succeeded)
	failed := int(st.Failed) + len(u.Failed)
	target := condition(job, batchv1.JobFailureTarget)
	if target == nil {
		target = condition(job, batchv1.JobSuccessCriteriaMet)
	}
	if target == nil {
		t := terminalTarget(job, st, succeeded, failed, len(active), now)
		if t != nil {
			d.Conditions = append(d.Conditions, *t)
			target = t
		}
	}
	if target != nil {
		d.Delete = active
		if len(active) == 0 && terminating == 0 && len(u.Succeeded)+len(u.Failed) == 0 && !anyFinalizer(pods) {
			final := batchv1.JobFailed
			if target.Type == batchv1.JobSuccessCriteriaMet {
				final = batchv1.JobComplete
				d.Complete = true
			}
			d.Conditions = append(d.Conditions, newCondition(final, target.Reason, target.Message, now))
		}
		return d
	}
	if ads := job.Spec.ActiveDeadlineSeconds; ads != nil && st.StartTime != nil {
		d.RequeueAfter = st.StartTime.Add(time.Duration(*ads) * time.Second).Sub(now)
	}
	want := wantActive(job, succeeded, len(active))
	switch {
	case len(active) > want:
		d.Delete = podstate.RankForDeletion(active, pods, len(active)-want, now)
	case len(active) < want:
		if wait := backoffRemaining(pods, now); wait > 0 {
			if d.RequeueAfter == 0 || wait < d.RequeueAfter {
				d.RequeueAfter = wait
			}
			return d
		}
		d.Create = want - len(active)
	}
	return d
}

// terminalTarget is the FailureTarget or SuccessCriteriaMet condition job has reached, or nil.
func terminalTarget(job *batchv1.Job, st batchv1.JobStatus, succeeded, failed, active int, now time.Time) *batchv1.JobCondition {
	limit := int32(6)
	if job.Spec.BackoffLimit != nil {
		limit = *job.Spec.BackoffLimit
	}
	if failed > int(limit) {
		c := newCondition(batchv1.JobFailureTarget, BackoffLimitExceeded, backoffLimitMessage, now)
		return &c
	}
	if ads := job.Spec.ActiveDeadlineSeconds; ads != nil && st.StartTime != nil &&
		!now.Before(st.StartTime.Add(time.Duration(*ads)*time.Second)) {
		c := newCondition(batchv1.JobFailureTarget, DeadlineExceeded, deadlineMessage, now)
		return &c
	}
	done := false
	if job.Spec.Completions != nil {
		done = succeeded >= int(*job.Spec.Completions)
	} else {
		done = succeeded > 0 && active == 0
	}
	if done {
		c := newCondition(batchv1.JobSuccessCriteriaMet, CompletionsReached, completionsMessage, now)
		return &c
	}
	return nil
}

// wantActive is how many pods job should have running.
func wantActive(job *batchv1.Job, succeeded, active int) int {
	if job.Spec.Suspend != nil && *job.Spec.Suspend {
		return 0
	}
	parallelism := 1
	if job.Spec.Parallelism != nil {
		parallelism = int(*job.Spec.Parallelism)
	}
	if job.Spec.Completions == nil {
		if succeeded > 0 {
			return min(active, parallelism) // a work queue: once one succeeded, no new pods
		}
		return parallelism
	}
	return max(0, min(parallelism, int(*job.Spec.Completions)-succeeded))
}

// Backoff is the delay before new pods after n failures since the last success.
func Backoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := float64(DefaultBackoff) * math.Pow(2, float64(n-1))
	if d > float64(MaxBackoff) {
		return MaxBackoff
	}
	return time.Duration(d)
}

// backoffRemaining is how long new pods must still wait: the back-off of the failures since
// the last success, counted from the last failure.
func backoffRemaining(pods []*corev1.Pod, now time.Time) time.Duration {
	type fin struct {
		at     time.Time
		failed bool
	}
	var done []fin
	for _, p := range pods {
		if isFinished(p) {
			done = append(done, fin{finishTime(p), isFailed(p)})
		}
	}
	sort.Slice(done, func(i, j int) bool { return done[i].at.Before(done[j].at) })
	n := 0
	var last time.Time
	for _, f := range done {
		if f.failed {
			n++
			last = f.at
		} else {
			n = 0
		}
	}
	if n == 0 {
		return 0
	}
	return max(0, last.Add(Backoff(n)).Sub(now))
}

// finishTime is when p finished: its last container exit, else its deletion, else creation.
func finishTime(p *corev1.Pod) time.Time {
	var t time.Time
	for _, c := range p.Status.ContainerStatuses {
		if term := c.State.Terminated; term != nil && term.FinishedAt.After(t) {
			t = term.FinishedAt.Time
		}
	}
	if t.IsZero() && p.DeletionTimestamp != nil {
		t = p.DeletionTimestamp.Time
	}
	if t.IsZero() {
		t = p.CreationTimestamp.Time
	}
	return t
}

func anyFinalizer(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if hasFinalizer(p) {
			return true
		}
	}
	return false
}

func condition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if c := &job.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// finished reports whether job has its Complete or Failed condition.
func finished(job *batchv1.Job) bool {
	return condition(job, batchv1.JobComplete) != nil || condition(job, batchv1.JobFailed) != nil
}

func newCondition(t batchv1.JobConditionType, reason, message string, now time.Time) batchv1.JobCondition {
	ts := metav1.NewTime(now)
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: ts, LastTransitionTime: ts}
}

// Counts are the status fields counted from the pods: active, ready and terminating.
func Counts(pods []*corev1.Pod) (active, ready, terminating int32) {
	for _, p := range pods {
		switch {
		case podstate.IsActive(p):
			active++
			if podstate.IsReady(p) {
				ready++
			}
		case p.DeletionTimestamp != nil && !podstate.IsTerminal(p):
			terminating++
		}
	}
	return active, ready, terminating
}
