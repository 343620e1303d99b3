package controller_test

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
)

func jobSpec(name string, completions, parallelism, backoffLimit int32, exitAfter, exitCode string) *batchv1.Job {
	tmpl := podTemplate(name, "busybox")
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	tmpl.Annotations = map[string]string{"fake.skiff.dev/exit-after": exitAfter, "fake.skiff.dev/exit-code": exitCode}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: batchv1.JobSpec{Completions: ptr.To(completions), Parallelism: ptr.To(parallelism),
			BackoffLimit: ptr.To(backoffLimit), Template: tmpl},
	}
}

func hasCondition(j *batchv1.Job, t batchv1.JobConditionType, reason string) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue && c.Reason == reason {
			return true
		}
	}
	return false
}

func (cl *cluster) waitJob(name, what string, timeout time.Duration, f func(*batchv1.Job) bool) *batchv1.Job {
	cl.t.Helper()
	var j *batchv1.Job
	cl.poll(timeout, "job "+name+" "+what, func() (bool, error) {
		var err error
		j, err = cl.c.BatchV1().Jobs("default").Get(cl.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return f(j), nil
	})
	return j
}

func TestJob(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"job", "garbagecollector"}}, "job-")

	t.Run("completions 3 parallelism 2", func(t *testing.T) {
		if _, err := cl.c.BatchV1().Jobs("default").Create(cl.ctx, jobSpec("ok", 3, 2, 6, "1s", "0"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		maxActive := int32(0)
		j := cl.waitJob("ok", "Complete", 60*time.Second, func(j *batchv1.Job) bool {
			maxActive = max(maxActive, j.Status.Active)
			return hasCondition(j, batchv1.JobComplete, batchv1.JobReasonCompletionsReached)
		})
		if j.Status.Succeeded != 3 || j.Status.Failed != 0 || j.Status.Active != 0 || j.Status.StartTime == nil || j.Status.CompletionTime == nil ||
			!hasCondition(j, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached) {
			t.Errorf("status %+v", j.Status)
		}
		time.Sleep(2 * time.Second)
		if again, err := cl.c.BatchV1().Jobs("default").Get(cl.ctx, "ok", metav1.GetOptions{}); err != nil || again.ResourceVersion != j.ResourceVersion {
			t.Errorf("finished Job rewritten: %v", err)
		}
		if maxActive > 2 {
			t.Errorf("%d pods active at once, parallelism is 2", maxActive)
		}
		pods := cl.podsOf("default", "batch.kubernetes.io/job-name=ok")
		succeeded := 0
		for _, p := range pods {
			if len(p.Finalizers) != 0 {
				t.Errorf("pod %s still has finalizers %v", p.Name, p.Finalizers)
			}
			if p.Status.Phase == corev1.PodSucceeded {
				succeeded++
			}
		}
		if succeeded != 3 {
			t.Errorf("%d succeeded pods, want 3", succeeded)
		}
	})

	t.Run("backoffLimit exceeded", func(t *testing.T) {
		if _, err := cl.c.BatchV1().Jobs("default").Create(cl.ctx, jobSpec("bad", 1, 1, 1, "0s", "1"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Two failures (the second after a 10 s back-off) exceed backoffLimit 1.
		j := cl.waitJob("bad", "Failed", 60*time.Second, func(j *batchv1.Job) bool {
			return hasCondition(j, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded)
		})
		if j.Status.Failed != 2 || j.Status.Succeeded != 0 || j.Status.Active != 0 || j.Status.CompletionTime != nil ||
			!hasCondition(j, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded) {
			t.Errorf("status %+v", j.Status)
		}
		var finished []time.Time
		for _, p := range cl.podsOf("default", "batch.kubernetes.io/job-name=bad") {
			if len(p.Finalizers) != 0 || p.Status.Phase != corev1.PodFailed {
				t.Errorf("pod %s phase %s finalizers %v", p.Name, p.Status.Phase, p.Finalizers)
			}
			finished = append(finished, p.CreationTimestamp.Time)
		}
		if len(finished) != 2 {
			t.Fatalf("%d pods, want 2", len(finished))
		}
		if d := finished[0].Sub(finished[1]).Abs(); d < 9*time.Second {
			t.Errorf("second pod created %v after the first, want the 10 s back-off", d)
		}
	})

	t.Run("activeDeadlineSeconds", func(t *testing.T) {
		spec := jobSpec("slow", 1, 2, 6, "1h", "0")
		spec.Spec.ActiveDeadlineSeconds = ptr.To[int64](2)
		if _, err := cl.c.BatchV1().Jobs("default").Create(cl.ctx, spec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		j := cl.waitJob("slow", "Failed", 60*time.Second, func(j *batchv1.Job) bool {
			return hasCondition(j, batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded)
		})
		if j.Status.Active != 0 || j.Status.Failed != 1 {
			t.Errorf("status %+v", j.Status)
		}
	})

	t.Run("deleted Job: its pods lose the finalizer and go", func(t *testing.T) {
		if _, err := cl.c.BatchV1().Jobs("default").Create(cl.ctx, jobSpec("gone", 2, 2, 6, "1h", "0"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cl.waitJob("gone", "2 active", 30*time.Second, func(j *batchv1.Job) bool { return j.Status.Active == 2 && *j.Status.Ready == 2 })
		if err := cl.c.BatchV1().Jobs("default").Delete(cl.ctx, "gone", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
			t.Fatal(err)
		}
		cl.poll(30*time.Second, "the deleted Job's pods gone", func() (bool, error) {
			return len(cl.podsOf("default", "batch.kubernetes.io/job-name=gone")) == 0, nil
		})
	})
}
