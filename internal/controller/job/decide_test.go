package job

import (
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

var t0 = time.Unix(1000, 0)

// jpod is a job pod: phase "R" running, "S" succeeded, "F" failed, "D" running and deleted;
// fin whether it has the tracking finalizer; at its finish time.
func jpod(name, phase string, fin bool, at time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0)}}
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
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: term}}}
	case "F":
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: term}}}
	}
	return p
}

func TestTrack(t *testing.T) {
	status := batchv1.JobStatus{Succeeded: 1, UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{
		Succeeded: []types.UID{"gone", "released"}, Failed: []types.UID{"still"}}}
	pods := []*corev1.Pod{
		jpod("released", "S", false, t0), // finalizer removed: counted now
		jpod("still", "F", true, t0),     // recorded, finalizer not yet removed
		jpod("new-ok", "S", true, t0),    // newly finished
		jpod("new-bad", "F", true, t0),
		jpod("deleted", "D", true, t0), // being deleted before it finished: a failure
		jpod("running", "R", true, t0),
	}
	st, release := Track(status, pods)
	if st.Succeeded != 3 || st.Failed != 0 {
		t.Errorf("succeeded %d failed %d, want 3 0", st.Succeeded, st.Failed)
	}
	u := st.UncountedTerminatedPods
	if fmt.Sprint(u.Succeeded) != "[new-ok]" || fmt.Sprint(u.Failed) != "[deleted new-bad still]" {
		t.Errorf("uncounted %v", u)
	}
	var names []string
	for _, p := range release {
		names = append(names, p.Name)
	}
	if fmt.Sprint(names) != "[still new-ok new-bad deleted]" {
		t.Errorf("release %v", names)
	}
	if status.Succeeded != 1 || len(status.UncountedTerminatedPods.Succeeded) != 2 {
		t.Error("Track modified its input")
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 6: 320 * time.Second, 7: 6 * time.Minute, 30: 6 * time.Minute} {
		if got := Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestDecide(t *testing.T) {
	job := func(completions *int32, parallelism, backoffLimit int32, mod func(*batchv1.Job)) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns"},
			Spec: batchv1.JobSpec{Completions: completions, Parallelism: ptr.To(parallelism), BackoffLimit: ptr.To(backoffLimit)}}
		if mod != nil {
			mod(j)
		}
		return j
	}
	withCond := func(t batchv1.JobConditionType, reason string) func(*batchv1.Job) {
		return func(j *batchv1.Job) {
			j.Status.Conditions = append(j.Status.Conditions, newCondition(t, reason, "", t0))
		}
	}
	now := t0.Add(time.Minute)
	tests := []struct {
		name       string
		job        *batchv1.Job
		st         batchv1.JobStatus
		pods       []*corev1.Pod
		create     int
		deletes    int
		conditions string
		requeue    time.Duration
	}{
		{"start: parallelism pods", job(ptr.To[int32](3), 2, 6, nil), batchv1.JobStatus{}, nil, 2, 0, "[]", 0},
		{"completions left cap parallelism", job(ptr.To[int32](3), 2, 6, nil), batchv1.JobStatus{Succeeded: 2},
			[]*corev1.Pod{jpod("a", "S", false, t0), jpod("b", "S", false, t0)}, 1, 0, "[]", 0},
		{"too many active", job(ptr.To[int32](3), 1, 6, nil), batchv1.JobStatus{},
			[]*corev1.Pod{jpod("a", "R", true, t0), jpod("b", "R", true, t0)}, 0, 1, "[]", 0},
		{"completions reached, pods left: SuccessCriteriaMet and delete", job(ptr.To[int32](1), 2, 6, nil),
			batchv1.JobStatus{Succeeded: 1}, []*corev1.Pod{jpod("a", "S", false, t0), jpod("b", "R", true, t0)}, 0, 1,
			"[SuccessCriteriaMet/CompletionsReached]", 0},
		{"completions reached, nothing left: Complete too", job(ptr.To[int32](1), 1, 6, nil),
			batchv1.JobStatus{Succeeded: 1}, []*corev1.Pod{jpod("a", "S", false, t0)}, 0, 0,
			"[SuccessCriteriaMet/CompletionsReached Complete/CompletionsReached]", 0},
		{"success counted but uncounted: wait for Complete", job(ptr.To[int32](1), 1, 6, nil),
			batchv1.JobStatus{UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a"}}},
			[]*corev1.Pod{jpod("a", "S", true, t0)}, 0, 0, "[SuccessCriteriaMet/CompletionsReached]", 0},
		{"work queue: one success ends it once the rest finish", job(nil, 2, 6, nil), batchv1.JobStatus{Succeeded: 1},
			[]*corev1.Pod{jpod("a", "S", false, t0), jpod("b", "R", true, t0)}, 0, 0, "[]", 0},
		{"backoff limit exceeded", job(ptr.To[int32](1), 1, 1, nil), batchv1.JobStatus{Failed: 2},
			[]*corev1.Pod{jpod("a", "F", false, t0), jpod("b", "F", false, t0)}, 0, 0,
			"[FailureTarget/BackoffLimitExceeded Failed/BackoffLimitExceeded]", 0},
		{"FailureTarget set: delete active, Failed waits", job(ptr.To[int32](5), 2, 1, withCond(batchv1.JobFailureTarget, DeadlineExceeded)),
			batchv1.JobStatus{}, []*corev1.Pod{jpod("a", "R", true, t0), jpod("b", "D", true, t0)}, 0, 1, "[]", 0},
		{"deadline exceeded", job(ptr.To[int32](1), 1, 6, func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](30) }),
			batchv1.JobStatus{StartTime: ptr.To(metav1.NewTime(t0))}, []*corev1.Pod{jpod("a", "R", true, t0)}, 0, 1,
			"[FailureTarget/DeadlineExceeded]", 0},
		{"deadline ahead: requeue for it", job(ptr.To[int32](1), 1, 6, func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](90) }),
			batchv1.JobStatus{StartTime: ptr.To(metav1.NewTime(t0))}, []*corev1.Pod{jpod("a", "R", true, t0)}, 0, 0, "[]", 30 * time.Second},
		{"one failure 5 s ago: back-off 5 s more", job(ptr.To[int32](1), 1, 6, nil), batchv1.JobStatus{Failed: 1},
			[]*corev1.Pod{jpod("a", "F", false, now.Add(-5*time.Second))}, 0, 0, "[]", 5 * time.Second},
		{"two failures 15 s ago: 20 s back-off, 5 s more", job(ptr.To[int32](1), 1, 6, nil), batchv1.JobStatus{Failed: 2},
			[]*corev1.Pod{jpod("a", "F", false, now.Add(-30*time.Second)), jpod("b", "F", false, now.Add(-15*time.Second))}, 0, 0, "[]", 5 * time.Second},
		{"failure before a success: no back-off", job(ptr.To[int32](2), 1, 6, nil), batchv1.JobStatus{Failed: 1, Succeeded: 1},
			[]*corev1.Pod{jpod("a", "F", false, now.Add(-2*time.Second)), jpod("b", "S", false, now.Add(-time.Second))}, 1, 0, "[]", 0},
		{"finished job: nothing", job(ptr.To[int32](1), 1, 6, withCond(batchv1.JobComplete, CompletionsReached)), batchv1.JobStatus{}, nil, 0, 0, "[]", 0},
		{"suspended: delete active", job(ptr.To[int32](1), 1, 6, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }), batchv1.JobStatus{},
			[]*corev1.Pod{jpod("a", "R", true, t0)}, 0, 1, "[]", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.job, tt.st, tt.pods, now)
			var conds []string
			for _, c := range d.Conditions {
				conds = append(conds, string(c.Type)+"/"+c.Reason)
			}
			if d.Create != tt.create || len(d.Delete) != tt.deletes || fmt.Sprint(conds) != tt.conditions || d.RequeueAfter != tt.requeue {
				t.Errorf("create %d delete %d conditions %v requeue %v, want %d %d %s %v",
					d.Create, len(d.Delete), conds, d.RequeueAfter, tt.create, tt.deletes, tt.conditions, tt.requeue)
			}
		})
	}
}
