package controller_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
)

func cronJobSpec(name string, policy batchv1.ConcurrencyPolicy, exitAfter string, keep int32) *batchv1.CronJob {
	job := jobSpec(name, 1, 1, 0, exitAfter, "0")
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: batchv1.CronJobSpec{Schedule: "* * * * *", ConcurrencyPolicy: policy, SuccessfulJobsHistoryLimit: ptr.To(keep),
			JobTemplate: batchv1.JobTemplateSpec{Spec: job.Spec}},
	}
}

func suspended(cj *batchv1.CronJob) *batchv1.CronJob {
	cj.Spec.Suspend = ptr.To(true)
	return cj
}

// TestCronJob drives the CronJob controller with a fake clock: each step moves it to one
// second past the next minute, which is a schedule time of "* * * * *".
func TestCronJob(t *testing.T) {
	t.Parallel()
	fake := clocktesting.NewFakeClock(time.Now())
	cl := startCluster(t, controller.Options{Controllers: []string{"cronjob", "job", "garbagecollector"}, Clock: fake}, "cj-")
	for _, cj := range []*batchv1.CronJob{
		cronJobSpec("every", batchv1.AllowConcurrent, "0s", 2),
		cronJobSpec("forbid", batchv1.ForbidConcurrent, "1h", 3),
		suspended(cronJobSpec("sleeper", batchv1.AllowConcurrent, "0s", 1)),
	} {
		if _, err := cl.c.BatchV1().CronJobs("default").Create(cl.ctx, cj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The CronJobs' creation times are real: move the fake clock past them, or a first
	// schedule time between the clock's start and the creations (the cluster takes seconds to
	// start) would rightly never run.
	fake.SetTime(time.Now())
	// poll nudges the fake clock 50 ms on each look (at most 30 s in a 60 s wait, so never
	// into the next minute), so that a sync retried after a conflict, whose back-off runs on
	// the fake clock too, is not stuck until the next step.
	poll := func(what string, f func() (bool, error)) {
		t.Helper()
		cl.poll(60*time.Second, what, func() (bool, error) {
			fake.Step(50 * time.Millisecond)
			return f()
		})
	}
	getCJ := func(name string) *batchv1.CronJob {
		cj, err := cl.c.BatchV1().CronJobs("default").Get(cl.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cj
	}
	jobsOf := func(cronJob string) []string {
		l, err := cl.c.BatchV1().Jobs("default").List(cl.ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range l.Items {
			if ref := metav1.GetControllerOf(&j); ref != nil && ref.Name == cronJob && j.DeletionTimestamp == nil {
				out = append(out, j.Name)
			}
		}
		sort.Strings(out)
		return out
	}
	events := func(name, reason string) int {
		evs, err := cl.c.CoreV1().Events("default").List(cl.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name + ",reason=" + reason})
		if err != nil {
			t.Fatal(err)
		}
		n := 0 // the recorder folds repeats of an event into one with a count
		for _, e := range evs.Items {
			n += int(max(e.Count, 1))
		}
		return n
	}
	if n := len(jobsOf("every")) + len(jobsOf("forbid")); n != 0 {
		t.Fatalf("%d jobs before the first schedule time", n)
	}

	var scheduled []time.Time
	for i := 0; i < 4; i++ {
		m := fake.Now().Truncate(time.Minute).Add(time.Minute)
		fake.SetTime(m.Add(time.Second))
		scheduled = append(scheduled, m)
		name := fmt.Sprintf("every-%d", m.Unix()/60)
		var job *batchv1.Job
		poll("job "+name+" complete", func() (bool, error) {
			var err error
			job, err = cl.c.BatchV1().Jobs("default").Get(cl.ctx, name, metav1.GetOptions{})
			return err == nil && hasCondition(job, batchv1.JobComplete, batchv1.JobReasonCompletionsReached), nil
		})
		if got := job.Annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"]; got != m.UTC().Format(time.RFC3339) {
			t.Errorf("job %s scheduled-timestamp %q, want %s", name, got, m.UTC().Format(time.RFC3339))
		}
		poll("cronjob every saw "+name+" complete", func() (bool, error) {
			st := getCJ("every").Status
			return st.LastScheduleTime != nil && st.LastScheduleTime.Time.Equal(m) && len(st.Active) == 0 && st.LastSuccessfulTime != nil, nil
		})

		if i == 0 {
			forbidJob := fmt.Sprintf("forbid-%d", m.Unix()/60)
			poll("cronjob forbid running "+forbidJob, func() (bool, error) {
				st := getCJ("forbid").Status
				return len(st.Active) == 1 && st.Active[0].Name == forbidJob, nil
			})
		} else {
			poll("cronjob forbid skipping a run", func() (bool, error) { return events("forbid", "JobAlreadyActive") >= i, nil })
		}
		if got := jobsOf("forbid"); len(got) != 1 {
			t.Errorf("step %d: forbid has jobs %v, want one", i, got)
		}
	}

	// Successful history is trimmed to 2: the two newest.
	want := []string{fmt.Sprintf("every-%d", scheduled[2].Unix()/60), fmt.Sprintf("every-%d", scheduled[3].Unix()/60)}
	poll("history of every trimmed to 2", func() (bool, error) { return fmt.Sprint(jobsOf("every")) == fmt.Sprint(want), nil })
	for _, reason := range []string{"SuccessfulCreate", "SawCompletedJob", "SuccessfulDelete"} {
		if events("every", reason) == 0 {
			t.Errorf("no %s event for every", reason)
		}
	}

	// A suspended CronJob (suspended from its creation, so the controller never saw it
	// otherwise) made no Job through all those schedule times. The forbid CronJob's event for
	// the last step shows the controller handled that time.
	if got := jobsOf("sleeper"); len(got) != 0 {
		t.Errorf("suspended CronJob made jobs: %v", got)
	}
	if st := getCJ("sleeper").Status; st.LastScheduleTime != nil {
		t.Errorf("suspended CronJob scheduled at %v", st.LastScheduleTime)
	}
}
