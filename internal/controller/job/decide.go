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
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller/podstate"
)

// TrackingFinalizer keeps a Job's pod until the controller has counted it.
const TrackingFinalizer = batchv1.JobTrackingFinalizer // batch.kubernetes.io/job-tracking

// Condition reasons and messages, as upstream's.
const (
	BackoffLimitExceeded     = batchv1.JobReasonBackoffLimitExceeded
	DeadlineExceeded         = batchv1.JobReasonDeadlineExceeded
	CompletionsReached       = batchv1.JobReasonCompletionsReached
	PodFailurePolicy         = batchv1.JobReasonPodFailurePolicy
	FailedIndexes            = batchv1.JobReasonFailedIndexes
	MaxFailedIndexesExceeded = batchv1.JobReasonMaxFailedIndexesExceeded
	SuccessPolicy            = batchv1.JobReasonSuccessPolicy
	JobSuspended             = "JobSuspended"
	JobResumed               = "JobResumed"

	backoffLimitMessage     = "Job has reached the specified backoff limit"
	deadlineMessage         = "Job was active longer than specified deadline"
	completionsMessage      = "Reached expected number of succeeded pods"
	failedIndexesMessage    = "Job has failed indexes"
	maxFailedIndexesMessage = "Job has exceeded the specified maximal number of failed indexes"
	suspendedMessage        = "Job suspended"
	resumedMessage          = "Job resumed"
)

// Event reasons, as upstream's (a Job's failure is also recorded with its condition's reason).
const (
	SuccessfulCreate     = "SuccessfulCreate"
	FailedCreate         = "FailedCreate"
	SuccessfulDelete     = "SuccessfulDelete"
	FailedDelete         = "FailedDelete"
	Completed            = "Completed"
	Suspended            = "Suspended"
	Resumed              = "Resumed"
	TooManySucceededPods = "TooManySucceededPods"
)

// Limits per sync, as upstream's: pods newly recorded in status.uncountedTerminatedPods (so
// that the status stays small) and pods created or deleted.
const (
	MaxUncountedPods          = 500
	MaxPodCreateDeletePerSync = 500
)

// Input is what Decide looks at.
type Input struct {
	Job *batchv1.Job
	// Pods are the pods the Job controls.
	Pods []*corev1.Pod
	Now  time.Time
	// Manage: the controller may create and delete pods and finish the Job (the pods it
	// created and deleted have all been seen, and the Job is not being deleted).
	Manage bool
	// Backoff is the Job's pod failure back-off, as the last Decision left it.
	Backoff Backoff
}

// Decision is what Decide wants done for a Job, in this order: write Status (when it
// differs) and then record Events and keep Backoff; remove the tracking finalizer from
// Release; delete Delete; remove the finalizer from DeleteUncounted and delete them; create
// Create; look again after RequeueAfter.
type Decision struct {
	Status  batchv1.JobStatus
	Release []*corev1.Pod
	// Delete are active pods to delete keeping their finalizer, so that they are counted
	// (failed, unless they succeed) when they finish: the Job is finishing.
	Delete []*corev1.Pod
	// DeleteUncounted are active pods the Job no longer wants (beyond parallelism, of a
	// suspended Job, repeated indexes): they are not counted.
	DeleteUncounted []*corev1.Pod
	Create          []*corev1.Pod
	Events          []Event
	Backoff         Backoff
	// RequeueAfter, if not zero, is when to look again (back-off or deadline).
	RequeueAfter time.Duration
}

// Event is an event to record on the Job.
type Event struct{ Type, Reason, Message string }

func (d *Decision) requeue(after time.Duration) {
	if after > 0 && (d.RequeueAfter == 0 || after < d.RequeueAfter) {
		d.RequeueAfter = after
	}
}

func (d *Decision) event(typ, reason, message string) {
	d.Events = append(d.Events, Event{typ, reason, message})
}

// Decide computes what to do for a Job, as upstream's controller (1.33) does:
//
//  1. Tracking: finished pods that carry the tracking finalizer are recorded in
//     status.uncountedTerminatedPods (an Indexed Job's successes in status.completedIndexes)
//     and released; UIDs there whose pods have lost the finalizer move into status.succeeded
//     and status.failed. A failure matching an Ignore rule of the pod failure policy is
//     released without being counted.
//  2. Finishing: a failure matching a FailJob rule (reason PodFailurePolicy), more counted
//     failures than backoffLimit, a run longer than activeDeadlineSeconds, failed indexes
//     beyond maxFailedIndexes or failed indexes with all others succeeded (backoffLimitPerIndex)
//     add FailureTarget; a met success policy, or the completions reached, SuccessCriteriaMet.
//     Then the active pods are deleted, every pod is counted (the running ones as failures if
//     the Job fails), and once none is left running, terminating or uncounted, Failed or
//     Complete follows with the same reason.
//  3. Managing: a suspended Job's pods are deleted (uncounted) and it gets the Suspended
//     condition; on resume, the condition turns False (JobResumed) and startTime restarts.
//     Otherwise min(parallelism, completions left) pods are kept active, pending indexes first
//     for an Indexed Job, new ones only once the failure back-off has passed (per index with
//     backoffLimitPerIndex).
func Decide(in Input) Decision {
	job, now := in.Job, in.Now
	d := Decision{Status: *job.Status.DeepCopy(), Backoff: in.Backoff}
	if finished(job) {
		for _, p := range in.Pods {
			if hasFinalizer(p) {
				d.Release = append(d.Release, p)
			}
		}
		return d
	}
	v := observe(job, in.Pods)
	d.Backoff = in.Backoff.next(job, in.Pods)
	st := &d.Status
	suspended := ptr.Deref(job.Spec.Suspend, false)
	if st.StartTime == nil && !suspended {
		st.StartTime = ptr.To(metav1.NewTime(now))
	}
	start := st.StartTime
	if !suspended && condition(job, batchv1.JobSuspended) != nil {
		start = ptr.To(metav1.NewTime(now)) // resuming: the deadline counts from now
	}
	target, requeue := v.target(start, now, suspended)
	added := target != nil && condition(job, target.Type) == nil
	d.requeue(requeue)

	activeAfter := len(v.active)
	switch {
	case target != nil && in.Manage:
		d.Delete, activeAfter = v.active, 0
	case target == nil && in.Manage:
		activeAfter = v.manage(now, d.Backoff, &d)
	}
	if target == nil && v.complete(activeAfter) {
		c := newCondition(batchv1.JobSuccessCriteriaMet, CompletionsReached, completionsMessage, now)
		target, added = &c, true
	} else if target == nil && in.Manage {
		suspension(st, suspended, now, &d)
	}

	truncated := v.track(st, target, job.DeletionTimestamp != nil, &d)
	active, ready, terminating := Counts(in.Pods)
	st.Active, st.Ready, st.Terminating = active, &ready, &terminating
	if added {
		st.Conditions = append(st.Conditions, *target)
	}
	if target != nil && in.Manage && !truncated && v.settled(st) {
		finish(job, st, target, now, &d)
	}
	return d
}

// finish adds the Failed or Complete condition that follows target.
func finish(job *batchv1.Job, st *batchv1.JobStatus, target *batchv1.JobCondition, now time.Time, d *Decision) {
	if target.Type != batchv1.JobSuccessCriteriaMet {
		st.Conditions = append(st.Conditions, newCondition(batchv1.JobFailed, target.Reason, target.Message, now))
		d.event(corev1.EventTypeWarning, target.Reason, target.Message)
		return
	}
	st.Conditions = append(st.Conditions, newCondition(batchv1.JobComplete, target.Reason, target.Message, now))
	st.CompletionTime = ptr.To(metav1.NewTime(now))
	if c := job.Spec.Completions; c != nil && st.Succeeded > *c {
		d.event(corev1.EventTypeWarning, TooManySucceededPods, "Too many succeeded pods running after completion count reached")
	}
	d.event(corev1.EventTypeNormal, Completed, "Job completed")
}

// suspension sets the Suspended condition: True while the Job is suspended; False when it
// resumes, which restarts startTime (activeDeadlineSeconds is the time continuously active).
func suspension(st *batchv1.JobStatus, suspended bool, now time.Time, d *Decision) {
	if suspended {
		if setCondition(st, batchv1.JobSuspended, corev1.ConditionTrue, JobSuspended, suspendedMessage, now) {
			d.event(corev1.EventTypeNormal, Suspended, suspendedMessage)
		}
		return
	}
	if setCondition(st, batchv1.JobSuspended, corev1.ConditionFalse, JobResumed, resumedMessage, now) {
		d.event(corev1.EventTypeNormal, Resumed, resumedMessage)
		st.StartTime = ptr.To(metav1.NewTime(now))
	}
}

// view is what one sync observes of a Job and its pods.
type view struct {
	job         *batchv1.Job
	pods        []*corev1.Pod
	indexed     bool
	perIndex    bool // backoffLimitPerIndex
	completions int  // for an Indexed Job
	active      []*corev1.Pod
	terminating []*corev1.Pod
	// uncountedSucceeded and uncountedFailed are status.uncountedTerminatedPods.
	uncountedSucceeded, uncountedFailed sets.Set[types.UID]
	// succeeded and failed count the pods as status will once every finished pod is
	// counted (failures matching an Ignore rule are not counted).
	succeeded, failed int
	// succeededIndexes and failedIndexes (backoffLimitPerIndex) are the status's and the
	// new ones.
	succeededIndexes, failedIndexes Indexes
	// delayed is, per index, its last failed pod when no other pod of the index runs: its
	// finalizer stays until the replacement pod, which takes its failure count, exists.
	delayed map[int]*corev1.Pod
}

func observe(job *batchv1.Job, pods []*corev1.Pod) *view {
	v := &view{job: job, pods: pods, indexed: isIndexed(job), perIndex: hasBackoffLimitPerIndex(job)}
	if v.indexed && job.Spec.Completions != nil {
		v.completions = int(*job.Spec.Completions)
	}
	u := job.Status.UncountedTerminatedPods
	if u == nil {
		u = &batchv1.UncountedTerminatedPods{}
	}
	v.uncountedSucceeded, v.uncountedFailed = sets.New(u.Succeeded...), sets.New(u.Failed...)
	newSucceeded, newFailed := 0, 0
	var succeededIxs, failedIxs []int
	for _, p := range pods {
		switch {
		case podstate.IsActive(p):
			v.active = append(v.active, p)
		case podstate.IsTerminating(p):
			v.terminating = append(v.terminating, p)
		}
		if !hasFinalizer(p) || !v.validIndex(p) {
			continue
		}
		uncounted := v.uncountedSucceeded.Has(p.UID) || v.uncountedFailed.Has(p.UID)
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !v.uncountedFailed.Has(p.UID):
			succeededIxs = append(succeededIxs, completionIndex(p))
			if !uncounted {
				newSucceeded++
			}
		case isPodFailed(p, job):
			if v.perIndex && v.indexFailed(p) {
				failedIxs = append(failedIxs, completionIndex(p))
			}
			if !uncounted && MatchPodFailurePolicy(job.Spec.PodFailurePolicy, p).Counts {
				newFailed++
			}
		}
	}
	v.succeeded = int(job.Status.Succeeded) + len(u.Succeeded) + newSucceeded
	v.failed = int(job.Status.Failed) + len(u.Failed) + newFailed
	if v.indexed {
		v.succeededIndexes = ParseIndexes(job.Status.CompletedIndexes, v.completions).With(succeededIxs...)
		v.succeeded = v.succeededIndexes.Total()
	}
	if v.perIndex {
		v.failedIndexes = ParseIndexes(ptr.Deref(job.Status.FailedIndexes, ""), v.completions).With(failedIxs...)
		v.delayed = v.delayedPerIndex()
	}
	return v
}

// validIndex: pods of an Indexed Job count only with a completion index below completions.
func (v *view) validIndex(p *corev1.Pod) bool {
	if !v.indexed {
		return true
	}
	ix := completionIndex(p)
	return ix != noIndex && ix < v.completions
}

// indexFailed reports whether the failed pod p fails its index: a FailIndex rule matched, or
// a counted failure once the index's earlier failures reached backoffLimitPerIndex.
func (v *view) indexFailed(p *corev1.Pod) bool {
	m := MatchPodFailurePolicy(v.job.Spec.PodFailurePolicy, p)
	return m.Action == batchv1.PodFailurePolicyActionFailIndex ||
		(m.Counts && indexFailureCount(p) >= *v.job.Spec.BackoffLimitPerIndex)
}

func (v *view) delayedPerIndex() map[int]*corev1.Pod {
	activeIxs := sets.New[int]()
	for _, p := range v.active {
		activeIxs.Insert(completionIndex(p))
	}
	out := map[int]*corev1.Pod{}
	for _, p := range v.pods {
		if !hasFinalizer(p) || !v.validIndex(p) || !isPodFailed(p, v.job) {
			continue
		}
		ix := completionIndex(p)
		if v.succeededIndexes.Has(ix) || v.failedIndexes.Has(ix) || activeIxs.Has(ix) {
			continue
		}
		last, ok := out[ix]
		if !ok || (absoluteFailureCount(last) <= absoluteFailureCount(p) && !finishTime(p).Before(finishTime(last))) {
			out[ix] = p
		}
	}
	return out
}

func absoluteFailureCount(p *corev1.Pod) int32 {
	return indexFailureCount(p) + indexIgnoredFailureCount(p)
}

// target is the FailureTarget or SuccessCriteriaMet condition the Job has or has now reached
// (other than by its completions), or nil; and when the active deadline falls, if ahead.
func (v *view) target(start *metav1.Time, now time.Time, suspended bool) (*batchv1.JobCondition, time.Duration) {
	job := v.job
	if c := condition(job, batchv1.JobSuccessCriteriaMet); c != nil {
		return c, 0
	}
	if c := condition(job, batchv1.JobFailureTarget); c != nil {
		return c, 0
	}
	failure := func(reason, message string) (*batchv1.JobCondition, time.Duration) {
		c := newCondition(batchv1.JobFailureTarget, reason, message, now)
		return &c, 0
	}
	if msg := v.failJobMessage(); msg != "" {
		return failure(PodFailurePolicy, msg)
	}
	if v.failed > int(backoffLimit(job)) || pastBackoffLimitOnFailure(job, v.pods) {
		return failure(BackoffLimitExceeded, backoffLimitMessage)
	}
	var requeue time.Duration
	if ads := job.Spec.ActiveDeadlineSeconds; ads != nil && !suspended && start != nil {
		deadline := start.Add(time.Duration(*ads) * time.Second)
		if !now.Before(deadline) {
			return failure(DeadlineExceeded, deadlineMessage)
		}
		requeue = deadline.Sub(now)
	}
	if v.perIndex {
		failed := v.failedIndexes.Total()
		if m := job.Spec.MaxFailedIndexes; m != nil && failed > int(*m) {
			return failure(MaxFailedIndexesExceeded, maxFailedIndexesMessage)
		}
		if failed > 0 && failed+v.succeededIndexes.Total() >= v.completions {
			return failure(FailedIndexes, failedIndexesMessage)
		}
	}
	if v.indexed {
		if msg, ok := MatchSuccessPolicy(job.Spec.SuccessPolicy, v.completions, v.succeededIndexes); ok {
			c := newCondition(batchv1.JobSuccessCriteriaMet, SuccessPolicy, msg, now)
			return &c, requeue
		}
	}
	return nil, requeue
}

// failJobMessage is the message of the first failed pod matching a FailJob rule, or "".
func (v *view) failJobMessage() string {
	if v.job.Spec.PodFailurePolicy == nil {
		return ""
	}
	for _, p := range v.pods {
		if isPodFailed(p, v.job) {
			if m := MatchPodFailurePolicy(v.job.Spec.PodFailurePolicy, p); m.Action == batchv1.PodFailurePolicyActionFailJob {
				return m.Message
			}
		}
	}
	return ""
}

func backoffLimit(job *batchv1.Job) int32 {
	if job.Spec.BackoffLimit != nil {
		return *job.Spec.BackoffLimit
	}
	if job.Spec.BackoffLimitPerIndex != nil {
		return math.MaxInt32
	}
	return 6
}

// pastBackoffLimitOnFailure: with restartPolicy OnFailure, failures are container restarts
// in running and pending pods.
func pastBackoffLimitOnFailure(job *batchv1.Job, pods []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	restarts := int32(0)
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
			for _, c := range p.Status.InitContainerStatuses {
				restarts += c.RestartCount
			}
			for _, c := range p.Status.ContainerStatuses {
				restarts += c.RestartCount
			}
		}
	}
	if limit := backoffLimit(job); limit > 0 {
		return restarts >= limit
	}
	return restarts > 0
}

// complete reports whether the Job reached its completions with activeAfter pods left
// running; without completions (a work queue), one success and no pod running.
func (v *view) complete(activeAfter int) bool {
	if activeAfter > 0 {
		return false
	}
	if c := v.job.Spec.Completions; c != nil {
		return v.succeeded >= int(*c)
	}
	return v.succeeded > 0
}

// manage decides the pods to delete or create, and returns how many will be active then.
func (v *view) manage(now time.Time, backoff Backoff, d *Decision) int {
	job := v.job
	active := len(v.active)
	if ptr.Deref(job.Spec.Suspend, false) {
		d.DeleteUncounted = v.active
		return 0
	}
	want := wantActive(job, v.succeeded, active)
	if rm := v.activeForRemoval(max(0, active-want), now); len(rm) > 0 {
		// Deleting takes precedence: no pod is created in the same sync.
		if len(rm) > MaxPodCreateDeletePerSync {
			rm = rm[:MaxPodCreateDeletePerSync]
		}
		d.DeleteUncounted = rm
		return active - len(rm)
	}
	terminating := 0
	if onlyReplaceFailedPods(job) {
		terminating = len(v.terminating)
	}
	n := min(want-terminating-active, MaxPodCreateDeletePerSync)
	if n <= 0 {
		return active
	}
	if !v.perIndex {
		if wait := backoff.remaining(now); wait > 0 {
			d.requeue(wait)
			return active
		}
	}
	if !v.indexed {
		for range n {
			d.Create = append(d.Create, NewPod(job, noIndex, nil))
		}
		return active + n
	}
	ixs := v.pendingIndexes(n)
	if v.perIndex {
		var wait time.Duration
		ixs, wait = v.readyIndexes(ixs, now)
		d.requeue(wait)
	}
	for _, ix := range ixs {
		d.Create = append(d.Create, NewPod(job, ix, v.delayed[ix]))
	}
	return active + len(ixs)
}

// wantActive is how many pods job should have running.
func wantActive(job *batchv1.Job, succeeded, active int) int {
	parallelism := int(ptr.Deref(job.Spec.Parallelism, 1))
	if job.Spec.Completions == nil {
		if succeeded > 0 {
			return min(active, parallelism) // a work queue: once one succeeded, no new pods
		}
		return parallelism
	}
	return max(0, min(parallelism, int(*job.Spec.Completions)-succeeded))
}

// activeForRemoval returns at least n active pods to delete, least valuable first; for an
// Indexed Job also every pod without a valid index and all but the most valuable pod of a
// repeated index.
func (v *view) activeForRemoval(n int, now time.Time) []*corev1.Pod {
	if !v.indexed {
		if n == 0 {
			return nil
		}
		return podstate.RankForDeletion(v.active, v.pods, n, now)
	}
	byIndex := map[int][]*corev1.Pod{}
	var rm, left []*corev1.Pod
	for _, p := range v.active {
		if !v.validIndex(p) {
			rm = append(rm, p)
			continue
		}
		byIndex[completionIndex(p)] = append(byIndex[completionIndex(p)], p)
	}
	ixs := make([]int, 0, len(byIndex))
	for ix := range byIndex {
		ixs = append(ixs, ix)
	}
	sort.Ints(ixs)
	for _, ix := range ixs {
		same := podstate.RankForDeletion(byIndex[ix], v.pods, len(byIndex[ix]), now)
		rm = append(rm, same[:len(same)-1]...)
		left = append(left, same[len(same)-1])
	}
	if len(rm) < n {
		rm = append(rm, podstate.RankForDeletion(left, v.pods, n-len(rm), now)...)
	}
	return rm
}

// pendingIndexes returns up to n indexes, lowest first, that have neither succeeded nor
// failed and have no active pod (nor, when only failed pods are replaced, a terminating one).
func (v *view) pendingIndexes(n int) []int {
	var busy []int
	for _, p := range v.active {
		busy = append(busy, completionIndex(p))
	}
	if onlyReplaceFailedPods(v.job) {
		for _, p := range v.terminating {
			busy = append(busy, completionIndex(p))
		}
	}
	busy = slices.DeleteFunc(busy, func(ix int) bool { return ix == noIndex })
	taken := v.succeededIndexes.With(busy...).Merge(v.failedIndexes)
	return taken.firstMissing(n, v.completions)
}

// readyIndexes keeps the indexes whose back-off has passed, and returns the shortest wait of
// the others.
func (v *view) readyIndexes(ixs []int, now time.Time) ([]int, time.Duration) {
	var ready []int
	var wait time.Duration
	for _, ix := range ixs {
		w := time.Duration(0)
		if last := v.delayed[ix]; last != nil {
			w = finishTime(last).Add(BackoffDelay(int(absoluteFailureCount(last)) + 1)).Sub(now)
		}
		if w <= 0 {
			ready = append(ready, ix)
		} else if wait == 0 || w < wait {
			wait = w
		}
	}
	return ready, wait
}

// track advances the finalizer protocol in st and returns (in d.Release) the pods whose
// finalizer may go once st is written: see Decide. With target set or the Job being deleted,
// every pod is released; the unfinished ones are counted as failures if the Job fails.
// It reports whether it stopped at MaxUncountedPods.
func (v *view) track(st *batchv1.JobStatus, target *batchv1.JobCondition, jobDeleting bool, d *Decision) bool {
	withFinalizer := sets.New[types.UID]()
	for _, p := range v.pods {
		if hasFinalizer(p) {
			withFinalizer.Insert(p.UID)
		}
	}
	succ, fail := v.uncountedSucceeded.Clone(), v.uncountedFailed.Clone()
	for uid := range v.uncountedSucceeded {
		if !withFinalizer.Has(uid) {
			succ.Delete(uid)
			st.Succeeded++
		}
	}
	for uid := range v.uncountedFailed {
		if !withFinalizer.Has(uid) {
			fail.Delete(uid)
			st.Failed++
		}
	}
	finishing := target != nil || jobDeleting
	failing := target != nil && target.Type != batchv1.JobSuccessCriteriaMet
	truncated := false
	for _, p := range v.pods {
		if !hasFinalizer(p) {
			continue
		}
		failed := isPodFailed(p, v.job)
		if !v.canRelease(p, failed, finishing) {
			continue
		}
		recorded := succ.Has(p.UID) || fail.Has(p.UID)
		if !recorded && succ.Len()+fail.Len() >= MaxUncountedPods {
			truncated = true
			continue
		}
		d.Release = append(d.Release, p)
		switch {
		case recorded:
		case p.Status.Phase == corev1.PodSucceeded:
			if !v.indexed { // an Indexed Job records its index in completedIndexes instead
				succ.Insert(p.UID)
			}
		case (failed || failing) && v.validIndex(p):
			if MatchPodFailurePolicy(v.job.Spec.PodFailurePolicy, p).Counts {
				fail.Insert(p.UID)
			}
		}
	}
	st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: sorted(succ), Failed: sorted(fail)}
	if v.indexed {
		st.CompletedIndexes = v.succeededIndexes.String()
		st.Succeeded = int32(v.succeededIndexes.Total())
	}
	if v.perIndex {
		st.FailedIndexes = ptr.To(v.failedIndexes.String())
	}
	return truncated
}

// canRelease reports whether p's finalizer may go: the Job is finishing, or p succeeded, or
// p failed and is not the last failed pod of an index still waiting for its replacement.
func (v *view) canRelease(p *corev1.Pod, failed, finishing bool) bool {
	if finishing || p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	if !failed {
		return false
	}
	if last, ok := v.delayed[completionIndex(p)]; ok && last.UID == p.UID {
		return false
	}
	return true
}

// settled reports whether the finishing Job may take its final condition: no pod left
// active, terminating, uncounted or with the tracking finalizer.
func (v *view) settled(st *batchv1.JobStatus) bool {
	u := st.UncountedTerminatedPods
	return len(v.active) == 0 && len(v.terminating) == 0 && len(u.Succeeded)+len(u.Failed) == 0 &&
		!slices.ContainsFunc(v.pods, hasFinalizer)
}

func hasFinalizer(p *corev1.Pod) bool { return slices.Contains(p.Finalizers, TrackingFinalizer) }

// onlyReplaceFailedPods: with podReplacementPolicy Failed (the default with a pod failure
// policy), a pod being deleted is neither replaced nor counted until it has failed.
func onlyReplaceFailedPods(job *batchv1.Job) bool {
	return ptr.Deref(job.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed) == batchv1.Failed ||
		job.Spec.PodFailurePolicy != nil
}

// isPodFailed is upstream's: a Failed pod or, unless only failed pods are replaced, one being
// deleted that did not succeed.
func isPodFailed(p *corev1.Pod, job *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailedPods(job) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

func sorted(s sets.Set[types.UID]) []types.UID {
	if s.Len() == 0 {
		return nil
	}
	out := s.UnsortedList()
	slices.Sort(out)
	return out
}

// condition returns job's condition of type t if it is True.
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

// setCondition is upstream's ensureJobConditionStatus: it sets st's condition of type t,
// unless it is already so, and adds none that would be False. It reports a change.
func setCondition(st *batchv1.JobStatus, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) bool {
	c := newCondition(t, reason, message, now)
	c.Status = status
	for i := range st.Conditions {
		if old := &st.Conditions[i]; old.Type == t {
			if old.Status == status && old.Reason == reason && old.Message == message {
				return false
			}
			*old = c
			return true
		}
	}
	if status == corev1.ConditionFalse {
		return false
	}
	st.Conditions = append(st.Conditions, c)
	return true
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
		case podstate.IsTerminating(p):
			terminating++
		}
	}
	return active, ready, terminating
}
