package job

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
)

var (
	t0  = time.Unix(1000, 0)
	now = t0.Add(time.Hour)
)

type podOpt func(*corev1.Pod)

// index gives the pod a completion index (annotation and label).
func index(ix int) podOpt {
	return func(p *corev1.Pod) {
		p.Annotations[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(ix)
	}
}

// failures sets the pod's index failure count annotations.
func failures(n, ignored int) podOpt {
	return func(p *corev1.Pod) {
		p.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(n)
		if ignored > 0 {
			p.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(ignored)
		}
	}
}

// exit sets the exit code of the pod's container "main".
func exit(code int32) podOpt {
	return func(p *corev1.Pod) {
		for i := range p.Status.ContainerStatuses {
			p.Status.ContainerStatuses[i].State.Terminated.ExitCode = code
		}
	}
}

func podCondition(t corev1.PodConditionType) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue})
	}
}

func ready(p *corev1.Pod) {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
}

// jpod is a job pod: phase "R" running, "S" succeeded, "F" failed, "D" running and deleted;
// fin whether it has the tracking finalizer; at its finish time.
func jpod(name, phase string, fin bool, at time.Time, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name),
		CreationTimestamp: metav1.NewTime(t0), Annotations: map[string]string{}}}
	if fin {
		p.Finalizers = []string{TrackingFinalizer}
	}
	term := &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(at)}
	switch phase {
	case "R":
		p.Status.Phase = corev1.PodRunning
	case "D":
		p.Status.Phase = corev1.PodRunning
		p.DeletionTimestamp = ptr.To(metav1.NewTime(at))
	case "S":
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{Terminated: term}}}
	case "F":
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{Terminated: term.DeepCopy()}}}
		p.Status.ContainerStatuses[0].State.Terminated.ExitCode = 1
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func pods(ps ...*corev1.Pod) []*corev1.Pod { return ps }

// newJob is a Job default/j of completions (nil: a work queue), parallelism and backoffLimit.
func newJob(completions *int32, parallelism, backoffLimit int32, mods ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", UID: "job-uid"},
		Spec: batchv1.JobSpec{Completions: completions, Parallelism: ptr.To(parallelism), BackoffLimit: ptr.To(backoffLimit),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}}}}
	for _, m := range mods {
		m(j)
	}
	return j
}

func withCond(t batchv1.JobConditionType, reason string) func(*batchv1.Job) {
	return func(j *batchv1.Job) {
		j.Status.Conditions = append(j.Status.Conditions, newCondition(t, reason, "", t0))
	}
}

func withStatus(st batchv1.JobStatus) func(*batchv1.Job) {
	return func(j *batchv1.Job) {
		conds := j.Status.Conditions
		j.Status = st
		j.Status.Conditions = append(conds, st.Conditions...)
	}
}

func indexed(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }

func perIndex(limit int32) func(*batchv1.Job) {
	return func(j *batchv1.Job) {
		indexed(j)
		j.Spec.BackoffLimitPerIndex = ptr.To(limit)
	}
}

func withPolicy(rules ...batchv1.PodFailurePolicyRule) func(*batchv1.Job) {
	return func(j *batchv1.Job) { j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: rules} }
}

func suspend(s bool) func(*batchv1.Job) { return func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(s) } }

// result summarises a Decision for a table: what changes in the conditions, the pods to
// create (by index for an Indexed Job), delete (counted) and delete uncounted, released, the
// requeue, and a few status fields.
type result struct {
	conds     string // conditions added or changed, "Type/Reason" (False ones "Type=False/Reason")
	create    string // "n" pods, or their indexes "[0 1]" for an Indexed Job
	delete    string // names
	discard   string // names (DeleteUncounted)
	release   string // names
	requeue   time.Duration
	uncounted string // "succeeded/failed" UIDs
	counts    string // "succeeded/failed"
	indexes   string // "completedIndexes/failedIndexes"
}

func summarise(job *batchv1.Job, d Decision) result {
	var r result
	var conds []string
	for i, c := range d.Status.Conditions {
		if i < len(job.Status.Conditions) && job.Status.Conditions[i].Status == c.Status && job.Status.Conditions[i].Reason == c.Reason {
			continue
		}
		s := string(c.Type)
		if c.Status != corev1.ConditionTrue {
			s += "=" + string(c.Status)
		}
		conds = append(conds, s+"/"+c.Reason)
	}
	r.conds = strings.Join(conds, " ")
	if isIndexed(job) {
		var ixs []int
		for _, p := range d.Create {
			ixs = append(ixs, completionIndex(p))
		}
		if len(ixs) > 0 {
			r.create = fmt.Sprint(ixs)
		}
	} else if len(d.Create) > 0 {
		r.create = strconv.Itoa(len(d.Create))
	}
	r.delete, r.discard, r.release = names(d.Delete), names(d.DeleteUncounted), names(d.Release)
	r.requeue = d.RequeueAfter
	if u := d.Status.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		r.uncounted = fmt.Sprintf("%v/%v", u.Succeeded, u.Failed)
	}
	r.counts = fmt.Sprintf("%d/%d", d.Status.Succeeded, d.Status.Failed)
	if isIndexed(job) {
		r.indexes = d.Status.CompletedIndexes + "/" + ptr.Deref(d.Status.FailedIndexes, "-")
	}
	return r
}

func names(ps []*corev1.Pod) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

type decideCase struct {
	name    string
	job     *batchv1.Job
	pods    []*corev1.Pod
	backoff Backoff
	manage  *bool // default true
	want    result
}

func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.job.DeepCopy()
			d := Decide(Input{Job: tt.job, Pods: tt.pods, Now: now, Manage: ptr.Deref(tt.manage, true), Backoff: tt.backoff})
			got := summarise(tt.job, d)
			if got.counts == "0/0" && tt.want.counts == "" {
				got.counts = ""
			}
			if got != tt.want {
				t.Errorf("got\n  %+v\nwant\n  %+v", got, tt.want)
			}
			if !apiequality.Semantic.DeepEqual(before, tt.job) {
				t.Error("Decide modified its input")
			}
		})
	}
}

func TestDecide(t *testing.T) {
	c := ptr.To[int32]
	runDecide(t, []decideCase{
		{name: "start: parallelism pods", job: newJob(c(3), 2, 6),
			want: result{create: "2"}},
		{name: "completions left cap parallelism", job: newJob(c(3), 2, 6, withStatus(batchv1.JobStatus{Succeeded: 2})),
			pods: pods(jpod("a", "S", false, t0), jpod("b", "S", false, t0)),
			want: result{create: "1", counts: "2/0"}},
		{name: "too many active: the extra pod goes uncounted", job: newJob(c(3), 1, 6),
			pods: pods(jpod("a", "R", true, t0, ready), jpod("b", "R", true, t0)),
			want: result{discard: "b"}},
		{name: "a success is recorded, then released", job: newJob(c(3), 2, 6),
			pods: pods(jpod("a", "S", true, t0), jpod("b", "R", true, t0)),
			want: result{create: "1", release: "a", uncounted: "[a]/[]"}},
		{name: "a released success is counted", job: newJob(c(3), 2, 6, withStatus(batchv1.JobStatus{
			UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a"}}})),
			pods: pods(jpod("a", "S", false, t0), jpod("b", "R", true, t0)),
			want: result{create: "1", counts: "1/0"}},
		{name: "a recorded success whose finalizer stays is released again", job: newJob(c(3), 2, 6, withStatus(batchv1.JobStatus{
			UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a"}}})),
			pods: pods(jpod("a", "S", true, t0), jpod("b", "R", true, t0)),
			want: result{create: "1", release: "a", uncounted: "[a]/[]"}},
		{name: "completions reached, a pod left: SuccessCriteriaMet, the pod goes", job: newJob(c(1), 2, 6, withStatus(batchv1.JobStatus{Succeeded: 1})),
			pods: pods(jpod("a", "S", false, t0), jpod("b", "R", true, t0)),
			want: result{conds: "SuccessCriteriaMet/CompletionsReached", discard: "b", release: "b", counts: "1/0"}},
		{name: "SuccessCriteriaMet: remaining pods deleted and released uncounted", job: newJob(c(1), 2, 6,
			withStatus(batchv1.JobStatus{Succeeded: 1}), withCond(batchv1.JobSuccessCriteriaMet, CompletionsReached)),
			pods: pods(jpod("a", "S", false, t0), jpod("b", "R", true, t0)),
			want: result{delete: "b", release: "b", counts: "1/0"}},
		{name: "completions reached, nothing left: Complete too", job: newJob(c(1), 1, 6, withStatus(batchv1.JobStatus{Succeeded: 1})),
			pods: pods(jpod("a", "S", false, t0)),
			want: result{conds: "SuccessCriteriaMet/CompletionsReached Complete/CompletionsReached", counts: "1/0"}},
		{name: "success recorded but uncounted: Complete waits", job: newJob(c(1), 1, 6, withStatus(batchv1.JobStatus{
			UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a"}}})),
			pods: pods(jpod("a", "S", true, t0)),
			want: result{conds: "SuccessCriteriaMet/CompletionsReached", release: "a", uncounted: "[a]/[]"}},
		{name: "work queue: one success ends it once the rest finish", job: newJob(nil, 2, 6, withStatus(batchv1.JobStatus{Succeeded: 1})),
			pods: pods(jpod("a", "S", false, t0), jpod("b", "R", true, t0)),
			want: result{counts: "1/0"}},
		{name: "work queue: the rest finished", job: newJob(nil, 2, 6, withStatus(batchv1.JobStatus{Succeeded: 2})),
			pods: pods(jpod("a", "S", false, t0), jpod("b", "S", false, t0)),
			want: result{conds: "SuccessCriteriaMet/CompletionsReached Complete/CompletionsReached", counts: "2/0"}},
		{name: "backoff limit exceeded", job: newJob(c(1), 1, 1, withStatus(batchv1.JobStatus{Failed: 2})),
			pods: pods(jpod("a", "F", false, t0), jpod("b", "F", false, t0)),
			want: result{conds: "FailureTarget/BackoffLimitExceeded Failed/BackoffLimitExceeded", counts: "0/2"}},
		{name: "a new failure exceeds the backoff limit: running pods are deleted and counted", job: newJob(c(2), 2, 0),
			pods: pods(jpod("a", "F", true, t0), jpod("b", "R", true, t0)),
			want: result{conds: "FailureTarget/BackoffLimitExceeded", delete: "b", release: "a,b", uncounted: "[]/[a b]"}},
		{name: "FailureTarget set: Failed waits for the terminating pod", job: newJob(c(5), 2, 1, withCond(batchv1.JobFailureTarget, DeadlineExceeded)),
			pods: pods(jpod("a", "R", true, t0), jpod("b", "D", true, t0)),
			want: result{delete: "a", release: "a,b", uncounted: "[]/[a b]"}},
		{name: "FailureTarget set, all counted: Failed", job: newJob(c(5), 2, 1, withCond(batchv1.JobFailureTarget, DeadlineExceeded),
			withStatus(batchv1.JobStatus{Failed: 2})),
			pods: pods(jpod("a", "F", false, t0), jpod("b", "F", false, t0)),
			want: result{conds: "Failed/DeadlineExceeded", counts: "0/2"}},
		{name: "deadline exceeded", job: newJob(c(1), 1, 6, func(j *batchv1.Job) {
			j.Spec.ActiveDeadlineSeconds = ptr.To[int64](30)
			j.Status.StartTime = ptr.To(metav1.NewTime(now.Add(-time.Minute)))
		}),
			pods: pods(jpod("a", "R", true, t0)),
			want: result{conds: "FailureTarget/DeadlineExceeded", delete: "a", release: "a", uncounted: "[]/[a]"}},
		{name: "deadline ahead: requeue for it", job: newJob(c(1), 1, 6, func(j *batchv1.Job) {
			j.Spec.ActiveDeadlineSeconds = ptr.To[int64](90)
			j.Status.StartTime = ptr.To(metav1.NewTime(now.Add(-time.Minute)))
		}),
			pods: pods(jpod("a", "R", true, t0)),
			want: result{requeue: 30 * time.Second}},
		{name: "one failure 5 s ago: back-off 5 s more", job: newJob(c(1), 1, 6, withStatus(batchv1.JobStatus{Failed: 1})),
			pods:    pods(jpod("a", "F", false, now.Add(-5*time.Second))),
			backoff: Backoff{Failures: 1, LastFailure: now.Add(-5 * time.Second)},
			want:    result{requeue: 5 * time.Second, counts: "0/1"}},
		{name: "a new failure starts the back-off", job: newJob(c(1), 1, 6),
			pods: pods(jpod("a", "F", true, now.Add(-5*time.Second))),
			want: result{requeue: 5 * time.Second, release: "a", uncounted: "[]/[a]"}},
		{name: "two failures 15 s ago: 20 s back-off, 5 s more", job: newJob(c(1), 1, 6, withStatus(batchv1.JobStatus{Failed: 2})),
			backoff: Backoff{Failures: 2, LastFailure: now.Add(-15 * time.Second)},
			want:    result{requeue: 5 * time.Second, counts: "0/2"}},
		{name: "back-off passed", job: newJob(c(1), 1, 6, withStatus(batchv1.JobStatus{Failed: 2})),
			backoff: Backoff{Failures: 2, LastFailure: now.Add(-25 * time.Second)},
			want:    result{create: "1", counts: "0/2"}},
		{name: "failure before a success: no back-off", job: newJob(c(2), 1, 6),
			pods: pods(jpod("a", "F", true, now.Add(-2*time.Second)), jpod("b", "S", true, now.Add(-time.Second))),
			want: result{create: "1", release: "a,b", uncounted: "[b]/[a]"}},
		{name: "pod deleted (TerminatingOrFailed): a failure, replaced", job: newJob(c(2), 2, 6),
			pods: pods(jpod("a", "R", true, t0), jpod("b", "D", true, now.Add(-time.Hour))),
			want: result{create: "1", release: "b", uncounted: "[]/[b]"}},
		{name: "pod deleted (Failed): neither counted nor replaced until it fails", job: newJob(c(2), 2, 6, func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		}),
			pods: pods(jpod("a", "R", true, t0), jpod("b", "D", true, now.Add(-time.Hour))),
			want: result{}},
		{name: "restartPolicy OnFailure: restarts exceed the limit", job: newJob(c(1), 1, 2, func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}),
			pods: pods(jpod("a", "R", true, t0, func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", RestartCount: 2}}
			})),
			want: result{conds: "FailureTarget/BackoffLimitExceeded", delete: "a", release: "a", uncounted: "[]/[a]"}},
		{name: "expectations not met: tracking only", job: newJob(c(3), 2, 6), manage: ptr.To(false),
			pods: pods(jpod("a", "S", true, t0)),
			want: result{release: "a", uncounted: "[a]/[]"}},
		{name: "Job being deleted: every finalizer goes", job: newJob(c(3), 2, 6, func(j *batchv1.Job) {
			j.DeletionTimestamp = ptr.To(metav1.NewTime(now))
		}), manage: ptr.To(false),
			pods: pods(jpod("a", "S", true, t0), jpod("b", "R", true, t0)),
			want: result{release: "a,b", uncounted: "[a]/[]"}},
		{name: "finished Job: pods released, status untouched", job: newJob(c(1), 1, 6, withCond(batchv1.JobComplete, CompletionsReached)),
			pods: pods(jpod("a", "S", true, t0)),
			want: result{release: "a"}},
	})
}

func TestDecideStartTimeAndCounts(t *testing.T) {
	job := newJob(ptr.To[int32](3), 2, 6)
	d := Decide(Input{Job: job, Pods: pods(jpod("a", "R", true, t0, ready), jpod("b", "R", true, t0), jpod("c", "D", false, t0)), Now: now, Manage: true})
	st := d.Status
	if st.StartTime == nil || !st.StartTime.Time.Equal(now) || st.Active != 2 || *st.Ready != 1 || *st.Terminating != 1 {
		t.Errorf("status %+v", st)
	}
	again := Decide(Input{Job: newJob(ptr.To[int32](3), 2, 6, withStatus(st)), Pods: nil, Now: now.Add(time.Minute), Manage: true})
	if !again.Status.StartTime.Time.Equal(now) {
		t.Errorf("startTime moved to %v", again.Status.StartTime)
	}
}

func TestDecideEvents(t *testing.T) {
	tests := []struct {
		name string
		job  *batchv1.Job
		pods []*corev1.Pod
		want string
	}{
		{"complete", newJob(ptr.To[int32](1), 1, 6, withStatus(batchv1.JobStatus{Succeeded: 1})), nil, "[{Normal Completed Job completed}]"},
		{"too many succeeded", newJob(ptr.To[int32](1), 1, 6, withStatus(batchv1.JobStatus{Succeeded: 2})), nil,
			"[{Warning TooManySucceededPods Too many succeeded pods running after completion count reached} {Normal Completed Job completed}]"},
		{"failed", newJob(ptr.To[int32](1), 1, 0, withStatus(batchv1.JobStatus{Failed: 1})), nil,
			"[{Warning BackoffLimitExceeded Job has reached the specified backoff limit}]"},
		{"FailureTarget alone records nothing", newJob(ptr.To[int32](1), 1, 0), pods(jpod("a", "F", true, t0)), "[]"},
		{"suspended", newJob(ptr.To[int32](1), 1, 6, suspend(true)), nil, "[{Normal Suspended Job suspended}]"},
		{"resumed", newJob(ptr.To[int32](1), 1, 6, withCond(batchv1.JobSuspended, JobSuspended)), nil, "[{Normal Resumed Job resumed}]"},
		{"never suspended: no Resumed", newJob(ptr.To[int32](1), 1, 6), nil, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(Input{Job: tt.job, Pods: tt.pods, Now: now, Manage: true})
			if got := fmt.Sprint(d.Events); got != tt.want && !(got == "[]" && tt.want == "[]") {
				t.Errorf("events %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecideIndexed(t *testing.T) {
	c := ptr.To[int32]
	st := func(completed string) func(*batchv1.Job) {
		return withStatus(batchv1.JobStatus{CompletedIndexes: completed, Succeeded: int32(ParseIndexes(completed, 100).Total())})
	}
	runDecide(t, []decideCase{
		{name: "start: the lowest indexes", job: newJob(c(5), 2, 6, indexed),
			want: result{create: "[0 1]", indexes: "/-"}},
		{name: "a success goes into completedIndexes, the next index starts", job: newJob(c(5), 2, 6, indexed),
			pods: pods(jpod("p0", "S", true, t0, index(0)), jpod("p1", "R", true, t0, index(1))),
			want: result{create: "[2]", release: "p0", counts: "1/0", indexes: "0/-"}},
		{name: "completed indexes are skipped", job: newJob(c(5), 2, 6, indexed, st("0,1")),
			pods: pods(jpod("p0", "S", false, t0, index(0)), jpod("p1", "S", false, t0, index(1))),
			want: result{create: "[2 3]", counts: "2/0", indexes: "0,1/-"}},
		{name: "gaps are filled first", job: newJob(c(6), 3, 6, indexed, st("1,3")),
			pods: pods(jpod("p0", "R", true, t0, index(0))),
			want: result{create: "[2 4]", counts: "2/0", indexes: "1,3/-"}},
		{name: "a repeated index: the less advanced pod goes", job: newJob(c(5), 2, 6, indexed),
			pods: pods(jpod("p1a", "R", true, t0, index(1), ready), jpod("p1b", "R", true, t0, index(1))),
			want: result{discard: "p1b", indexes: "/-"}},
		{name: "pods without a valid index go", job: newJob(c(5), 2, 6, indexed),
			pods: pods(jpod("p0", "R", true, t0, index(0)), jpod("p9", "R", true, t0, index(9)), jpod("px", "R", true, t0)),
			want: result{discard: "p9,px", indexes: "/-"}},
		{name: "a success is counted once", job: newJob(c(5), 2, 6, indexed, st("0")),
			pods: pods(jpod("p0", "S", true, t0, index(0)), jpod("p0b", "S", true, t0, index(0)), jpod("p1", "R", true, t0, index(1))),
			want: result{create: "[2]", release: "p0,p0b", counts: "1/0", indexes: "0/-"}},
		{name: "a failed index is retried, after the back-off", job: newJob(c(5), 2, 6, indexed),
			pods: pods(jpod("p0", "F", true, now.Add(-4*time.Second), index(0)), jpod("p1", "R", true, t0, index(1))),
			want: result{requeue: 6 * time.Second, release: "p0", uncounted: "[]/[p0]", indexes: "/-"}},
		{name: "a failed index is retried", job: newJob(c(5), 2, 6, indexed, withStatus(batchv1.JobStatus{Failed: 1})),
			pods: pods(jpod("p0", "F", false, now.Add(-time.Hour), index(0)), jpod("p1", "R", true, t0, index(1))),
			want: result{create: "[0]", counts: "0/1", indexes: "/-"}},
		{name: "all indexes done: Complete", job: newJob(c(5), 2, 6, indexed, st("0-4")),
			want: result{conds: "SuccessCriteriaMet/CompletionsReached Complete/CompletionsReached", counts: "5/0", indexes: "0-4/-"}},
		{name: "the last index succeeds: SuccessCriteriaMet, Complete after the release", job: newJob(c(3), 2, 6, indexed, st("0,1")),
			pods: pods(jpod("p2", "S", true, t0, index(2))),
			want: result{conds: "SuccessCriteriaMet/CompletionsReached", release: "p2", counts: "3/0", indexes: "0-2/-"}},
		{name: "podReplacementPolicy Failed: a terminating index is not replaced", job: newJob(c(3), 3, 6, indexed, func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		}),
			pods: pods(jpod("p0", "D", true, t0, index(0)), jpod("p1", "R", true, t0, index(1))),
			want: result{create: "[2]", indexes: "/-"}},
		{name: "podReplacementPolicy TerminatingOrFailed: it is", job: newJob(c(3), 3, 6, indexed),
			pods: pods(jpod("p0", "D", true, t0, index(0)), jpod("p1", "R", true, t0, index(1))),
			want: result{create: "[0 2]", release: "p0", uncounted: "[]/[p0]", indexes: "/-"}},
	})
}

func TestDecidePerIndex(t *testing.T) {
	c := ptr.To[int32]
	runDecide(t, []decideCase{
		{name: "first failure of an index: kept until its replacement, which waits for the back-off", job: newJob(c(3), 3, 6, perIndex(1)),
			pods: pods(jpod("p0", "F", true, now.Add(-4*time.Second), index(0), failures(0, 0)), jpod("p1", "R", true, t0, index(1)), jpod("p2", "R", true, t0, index(2))),
			want: result{requeue: 6 * time.Second, counts: "0/0", indexes: "/"}},
		{name: "back-off passed: the replacement carries the failure count", job: newJob(c(3), 3, 6, perIndex(1)),
			pods: pods(jpod("p0", "F", true, now.Add(-time.Minute), index(0), failures(0, 0)), jpod("p1", "R", true, t0, index(1)), jpod("p2", "R", true, t0, index(2))),
			want: result{create: "[0]", indexes: "/"}},
		{name: "second failure: 20 s back-off", job: newJob(c(3), 3, 6, perIndex(3)),
			pods: pods(jpod("p0", "F", true, now.Add(-15*time.Second), index(0), failures(1, 0)), jpod("p1", "R", true, t0, index(1)), jpod("p2", "R", true, t0, index(2))),
			want: result{requeue: 5 * time.Second, indexes: "/"}},
		{name: "replacement running: the failed pod is counted and released", job: newJob(c(3), 3, 6, perIndex(1)),
			pods: pods(jpod("p0", "F", true, now.Add(-time.Minute), index(0), failures(0, 0)), jpod("p0b", "R", true, t0, index(0), failures(1, 0)),
				jpod("p1", "R", true, t0, index(1)), jpod("p2", "R", true, t0, index(2))),
			want: result{release: "p0", uncounted: "[]/[p0]", indexes: "/"}},
		{name: "index out of retries: failedIndexes, not retried", job: newJob(c(3), 3, 6, perIndex(1)),
			pods: pods(jpod("p0", "F", true, now.Add(-time.Minute), index(0), failures(1, 0)), jpod("p1", "R", true, t0, index(1)), jpod("p2", "R", true, t0, index(2))),
			want: result{release: "p0", uncounted: "[]/[p0]", indexes: "/0"}},
		{name: "maxFailedIndexes exceeded", job: newJob(c(3), 3, 6, perIndex(0), func(j *batchv1.Job) { j.Spec.MaxFailedIndexes = ptr.To[int32](0) }),
			pods: pods(jpod("p0", "F", true, now.Add(-time.Minute), index(0), failures(0, 0)), jpod("p1", "R", true, t0, index(1))),
			want: result{conds: "FailureTarget/MaxFailedIndexesExceeded", delete: "p1", release: "p0,p1", uncounted: "[]/[p0 p1]", indexes: "/0"}},
		{name: "failed indexes, the others succeeded: FailedIndexes", job: newJob(c(3), 3, 6, perIndex(0), withStatus(batchv1.JobStatus{
			CompletedIndexes: "1,2", Succeeded: 2, Failed: 1, FailedIndexes: ptr.To("0")})),
			want: result{conds: "FailureTarget/FailedIndexes Failed/FailedIndexes", counts: "2/1", indexes: "1,2/0"}},
		{name: "failed indexes, some running: the others go on", job: newJob(c(3), 3, 6, perIndex(0), withStatus(batchv1.JobStatus{
			CompletedIndexes: "1", Succeeded: 1, Failed: 1, FailedIndexes: ptr.To("0")})),
			pods: pods(jpod("p2", "R", true, t0, index(2))),
			want: result{counts: "1/1", indexes: "1/0"}},
		{name: "FailIndex fails the index at once", job: newJob(c(3), 3, 6, perIndex(5), withPolicy(exitRule(batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyOnExitCodesOpIn, "", 7))),
			pods: pods(jpod("p0", "F", true, now.Add(-time.Minute), index(0), failures(0, 0), exit(7)), jpod("p1", "R", true, t0, index(1)), jpod("p2", "R", true, t0, index(2))),
			want: result{release: "p0", uncounted: "[]/[p0]", indexes: "/0"}},
		{name: "an ignored failure does not use up the index's retries", job: newJob(c(3), 3, 6, perIndex(0), withPolicy(exitRule(batchv1.PodFailurePolicyActionIgnore, batchv1.PodFailurePolicyOnExitCodesOpIn, "", 7))),
			pods: pods(jpod("p0", "F", true, now.Add(-time.Minute), index(0), failures(0, 0), exit(7)), jpod("p1", "R", true, t0, index(1)), jpod("p2", "R", true, t0, index(2))),
			want: result{create: "[0]", indexes: "/"}},
	})
}

func TestNewPod(t *testing.T) {
	job := newJob(ptr.To[int32](5), 2, 6, indexed, func(j *batchv1.Job) {
		j.Spec.Template.Labels = map[string]string{"app": "x"}
		j.Spec.Template.Spec.Subdomain = "svc"
		j.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	})
	p := NewPod(job, 3, nil)
	if p.GenerateName != "j-3-" || p.Spec.Hostname != "j-3" || p.Spec.Subdomain != "svc" ||
		p.Annotations[batchv1.JobCompletionIndexAnnotation] != "3" || p.Labels[batchv1.JobCompletionIndexAnnotation] != "3" || p.Labels["app"] != "x" {
		t.Errorf("pod %+v", p.ObjectMeta)
	}
	if len(p.Finalizers) != 1 || p.Finalizers[0] != TrackingFinalizer || p.OwnerReferences[0].UID != job.UID || !*p.OwnerReferences[0].Controller {
		t.Errorf("finalizers %v owners %v", p.Finalizers, p.OwnerReferences)
	}
	for _, ctr := range append(p.Spec.InitContainers, p.Spec.Containers...) {
		if len(ctr.Env) != 1 || ctr.Env[0].Name != CompletionIndexEnv ||
			ctr.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("container %s env %+v", ctr.Name, ctr.Env)
		}
	}
	if job.Spec.Template.Annotations != nil || len(job.Spec.Template.Spec.Containers[0].Env) != 0 || len(job.Spec.Template.Labels) != 1 {
		t.Error("NewPod modified the template")
	}

	long := newJob(ptr.To[int32](5), 2, 6, indexed, func(j *batchv1.Job) { j.Name = strings.Repeat("a", 60) })
	if g := NewPod(long, 12, nil).GenerateName; len(g) != maxGeneratedNameLength || !strings.HasSuffix(g, "a-12-") {
		t.Errorf("long name prefix %q", g)
	}
	if p := NewPod(newJob(ptr.To[int32](5), 2, 6), noIndex, nil); p.GenerateName != "j-" || p.Spec.Hostname != "" || len(p.Annotations) != 0 {
		t.Errorf("NonIndexed pod %+v", p.ObjectMeta)
	}

	per := newJob(ptr.To[int32](5), 2, 6, perIndex(3), withPolicy(exitRule(batchv1.PodFailurePolicyActionIgnore, batchv1.PodFailurePolicyOnExitCodesOpIn, "", 7)))
	for _, tt := range []struct {
		replaced          *corev1.Pod
		failures, ignored string
	}{
		{nil, "0", ""},
		{jpod("a", "F", true, t0, index(1), failures(1, 0)), "2", ""},
		{jpod("a", "F", true, t0, index(1), failures(1, 2), exit(7)), "1", "3"},
	} {
		p := NewPod(per, 1, tt.replaced)
		if p.Annotations[batchv1.JobIndexFailureCountAnnotation] != tt.failures || p.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] != tt.ignored {
			t.Errorf("replacing %v: annotations %v", tt.replaced != nil, p.Annotations)
		}
	}
}

func TestDecidePodFailurePolicy(t *testing.T) {
	const in = batchv1.PodFailurePolicyOnExitCodesOpIn
	c := ptr.To[int32]
	failJob := withPolicy(exitRule(batchv1.PodFailurePolicyActionFailJob, in, "", 42))
	ignore := withPolicy(exitRule(batchv1.PodFailurePolicyActionIgnore, in, "", 43), condRule(batchv1.PodFailurePolicyActionIgnore, corev1.DisruptionTarget))
	count := withPolicy(exitRule(batchv1.PodFailurePolicyActionCount, in, "", 44))
	runDecide(t, []decideCase{
		{name: "FailJob: the Job fails at the first match, running pods counted", job: newJob(c(3), 2, 6, failJob),
			pods: pods(jpod("x", "F", true, now, exit(42)), jpod("b", "R", true, t0)),
			want: result{conds: "FailureTarget/PodFailurePolicy", delete: "b", release: "b,x", uncounted: "[]/[b x]"}},
		{name: "FailJob, all counted: Failed", job: newJob(c(3), 2, 6, failJob, withStatus(batchv1.JobStatus{Failed: 2}),
			withCond(batchv1.JobFailureTarget, PodFailurePolicy)),
			pods: pods(jpod("x", "F", false, now, exit(42)), jpod("b", "F", false, now)),
			want: result{conds: "Failed/PodFailurePolicy", counts: "0/2"}},
		{name: "another exit code: counted as usual", job: newJob(c(3), 2, 6, failJob),
			pods: pods(jpod("x", "F", true, now.Add(-time.Hour), exit(1)), jpod("b", "R", true, t0)),
			want: result{create: "1", release: "x", uncounted: "[]/[x]"}},
		{name: "Ignore: released uncounted, within backoffLimit 0", job: newJob(c(3), 1, 0, ignore),
			pods: pods(jpod("x", "F", true, now.Add(-time.Hour), exit(43))),
			want: result{create: "1", release: "x"}},
		{name: "Ignore on DisruptionTarget", job: newJob(c(3), 1, 0, ignore),
			pods: pods(jpod("x", "F", true, now.Add(-time.Hour), podCondition(corev1.DisruptionTarget))),
			want: result{create: "1", release: "x"}},
		{name: "ignored failures still back off", job: newJob(c(3), 1, 0, ignore),
			pods: pods(jpod("x", "F", true, now.Add(-time.Second), exit(43))),
			want: result{requeue: 9 * time.Second, release: "x"}},
		{name: "Count: counted, beyond backoffLimit 0", job: newJob(c(3), 1, 0, count),
			pods: pods(jpod("x", "F", true, now, exit(44))),
			want: result{conds: "FailureTarget/BackoffLimitExceeded", release: "x", uncounted: "[]/[x]"}},
		{name: "with a policy a deleted pod waits to fail", job: newJob(c(3), 2, 6, failJob),
			pods: pods(jpod("x", "D", true, now), jpod("b", "R", true, t0)),
			want: result{}},
	})
	d := Decide(Input{Job: newJob(c(3), 2, 6, failJob), Pods: pods(jpod("x", "F", true, now, exit(42))), Now: now, Manage: true})
	if got := d.Status.Conditions[0].Message; got != "Container main for pod default/x failed with exit code 42 matching FailJob rule at index 0" {
		t.Errorf("message %q", got)
	}
}

func TestDecideSuccessPolicy(t *testing.T) {
	c := ptr.To[int32]
	policy := func(j *batchv1.Job) {
		j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0")}}}
	}
	runDecide(t, []decideCase{
		{name: "rule met: SuccessCriteriaMet, the others deleted", job: newJob(c(5), 2, 6, indexed, policy),
			pods: pods(jpod("p0", "S", true, t0, index(0)), jpod("p1", "R", true, t0, index(1))),
			want: result{conds: "SuccessCriteriaMet/SuccessPolicy", delete: "p1", release: "p0,p1", counts: "1/0", indexes: "0/-"}},
		{name: "terminating pods: Complete waits", job: newJob(c(5), 2, 6, indexed, policy, withStatus(batchv1.JobStatus{CompletedIndexes: "0", Succeeded: 1}),
			withCond(batchv1.JobSuccessCriteriaMet, SuccessPolicy)),
			pods: pods(jpod("p0", "S", false, t0, index(0)), jpod("p1", "D", false, t0, index(1))),
			want: result{counts: "1/0", indexes: "0/-"}},
		{name: "nothing left: Complete with the same reason", job: newJob(c(5), 2, 6, indexed, policy, withStatus(batchv1.JobStatus{CompletedIndexes: "0", Succeeded: 1}),
			withCond(batchv1.JobSuccessCriteriaMet, SuccessPolicy)),
			pods: pods(jpod("p0", "S", false, t0, index(0))),
			want: result{conds: "Complete/SuccessPolicy", counts: "1/0", indexes: "0/-"}},
		{name: "rule not met", job: newJob(c(5), 2, 6, indexed, policy, withStatus(batchv1.JobStatus{CompletedIndexes: "1", Succeeded: 1})),
			pods: pods(jpod("p2", "R", true, t0, index(2))),
			want: result{create: "[0]", counts: "1/0", indexes: "1/-"}},
	})
	d := Decide(Input{Job: newJob(c(5), 2, 6, indexed, policy), Pods: pods(jpod("p0", "S", true, t0, index(0))), Now: now, Manage: true})
	if got := d.Status.Conditions[0].Message; got != "Matched rules at index 0" {
		t.Errorf("message %q", got)
	}
}

func TestDecideSuspend(t *testing.T) {
	c := ptr.To[int32]
	started := func(at time.Time) func(*batchv1.Job) {
		return func(j *batchv1.Job) { j.Status.StartTime = ptr.To(metav1.NewTime(at)) }
	}
	deadline := func(s int64) func(*batchv1.Job) {
		return func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To(s) }
	}
	runDecide(t, []decideCase{
		{name: "suspend: active pods deleted uncounted, Suspended", job: newJob(c(3), 2, 6, suspend(true), started(t0)),
			pods: pods(jpod("a", "R", true, t0), jpod("b", "R", true, t0)),
			want: result{conds: "Suspended/JobSuspended", discard: "a,b"}},
		{name: "suspended: no new pods, no deadline", job: newJob(c(3), 2, 6, suspend(true), started(t0), deadline(1),
			withCond(batchv1.JobSuspended, JobSuspended)),
			want: result{}},
		{name: "resume: Suspended False, pods again, deadline counted from now", job: newJob(c(3), 2, 6, started(t0), deadline(30),
			withCond(batchv1.JobSuspended, JobSuspended)),
			want: result{conds: "Suspended=False/JobResumed", create: "2", requeue: 30 * time.Second}},
		{name: "resume before expectations: the deadline still waits", job: newJob(c(3), 2, 6, started(t0), deadline(30),
			withCond(batchv1.JobSuspended, JobSuspended)), manage: ptr.To(false),
			want: result{requeue: 30 * time.Second}},
		{name: "resumed earlier: the deadline counts from then", job: newJob(c(3), 2, 6, started(now.Add(-time.Minute)), deadline(30), func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionFalse, Reason: JobResumed}}
		}),
			pods: pods(jpod("a", "R", true, t0)),
			want: result{conds: "FailureTarget/DeadlineExceeded", delete: "a", release: "a", uncounted: "[]/[a]"}},
	})

	job := newJob(c(3), 2, 6, suspend(true))
	d := Decide(Input{Job: job, Now: now, Manage: true})
	if d.Status.StartTime != nil {
		t.Errorf("a Job created suspended started at %v", d.Status.StartTime)
	}
	job = newJob(c(3), 2, 6, withStatus(d.Status))
	d = Decide(Input{Job: job, Now: now.Add(time.Minute), Manage: true})
	if d.Status.StartTime == nil || !d.Status.StartTime.Time.Equal(now.Add(time.Minute)) {
		t.Errorf("resumed Job's startTime %v", d.Status.StartTime)
	}
	if s := d.Status.Conditions[0]; s.Type != batchv1.JobSuspended || s.Status != corev1.ConditionFalse || s.Reason != JobResumed || s.Message != "Job resumed" {
		t.Errorf("condition %+v", s)
	}
	job = newJob(c(3), 2, 6, started(t0), withCond(batchv1.JobSuspended, JobSuspended))
	d = Decide(Input{Job: job, Now: now, Manage: true})
	if !d.Status.StartTime.Time.Equal(now) {
		t.Errorf("startTime %v after resume, want now", d.Status.StartTime)
	}
}

func TestBackoffDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 6: 320 * time.Second, 7: 6 * time.Minute, 30: 6 * time.Minute} {
		if got := BackoffDelay(n); got != want {
			t.Errorf("BackoffDelay(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestBackoffNext(t *testing.T) {
	job := newJob(ptr.To[int32](5), 1, 6)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name     string
		prev     Backoff
		pods     []*corev1.Pod
		failures int
		last     time.Time
	}{
		{"nothing new", Backoff{Failures: 2, LastFailure: at(5)}, nil, 2, at(5)},
		{"new failures add up", Backoff{Failures: 1, LastFailure: at(5)}, pods(jpod("a", "F", true, at(7)), jpod("b", "F", true, at(6))), 3, at(7)},
		{"a success resets", Backoff{Failures: 3, LastFailure: at(5)}, pods(jpod("a", "S", true, at(7))), 0, time.Time{}},
		{"failures after the success count", Backoff{Failures: 3, LastFailure: at(5)},
			pods(jpod("a", "F", true, at(6)), jpod("b", "S", true, at(7)), jpod("c", "F", true, at(8))), 1, at(8)},
		{"released pods are not news", Backoff{}, pods(jpod("a", "F", false, at(6))), 0, time.Time{}},
		{"running pods neither", Backoff{}, pods(jpod("a", "R", true, at(6))), 0, time.Time{}},
		{"seen pods neither", Backoff{Failures: 1, LastFailure: at(6), seen: sets.New[types.UID]("a")}, pods(jpod("a", "F", true, at(6))), 1, at(6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.prev.next(job, tt.pods)
			if b.Failures != tt.failures || !b.LastFailure.Equal(tt.last) {
				t.Errorf("got %d %v, want %d %v", b.Failures, b.LastFailure, tt.failures, tt.last)
			}
			if again := b.next(job, tt.pods); again.Failures != b.Failures || !again.LastFailure.Equal(b.LastFailure) {
				t.Errorf("the same pods counted twice: %d %v", again.Failures, again.LastFailure)
			}
		})
	}
}

func TestFinishTime(t *testing.T) {
	p := jpod("a", "F", true, t0.Add(time.Minute))
	if got := finishTime(p); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("from containers: %v", got)
	}
	p = jpod("a", "D", true, t0.Add(time.Minute))
	p.DeletionGracePeriodSeconds = ptr.To[int64](30)
	if got := finishTime(p); !got.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("from deletion: %v", got)
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(t0.Add(10 * time.Second))}}
	if got := finishTime(p); !got.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("from Ready False: %v", got)
	}
	if got := finishTime(jpod("a", "R", true, t0)); !got.Equal(t0) {
		t.Errorf("from creation: %v", got)
	}
}
