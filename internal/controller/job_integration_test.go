package controller_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

	t.Run("Indexed: 5 completions, parallelism 2", func(t *testing.T) {
		spec := jobSpec("idx", 5, 2, 6, "1s", "0")
		spec.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		spec.Spec.Template.Spec.Subdomain = "workers"
		if _, err := cl.c.BatchV1().Jobs("default").Create(cl.ctx, spec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		maxActive := int32(0)
		j := cl.waitJob("idx", "Complete", 60*time.Second, func(j *batchv1.Job) bool {
			maxActive = max(maxActive, j.Status.Active)
			return hasCondition(j, batchv1.JobComplete, batchv1.JobReasonCompletionsReached)
		})
		if j.Status.CompletedIndexes != "0-4" || j.Status.Succeeded != 5 || j.Status.Failed != 0 || j.Status.CompletionTime == nil {
			t.Errorf("status %+v", j.Status)
		}
		if maxActive > 2 {
			t.Errorf("%d pods active at once, parallelism is 2", maxActive)
		}
		seen := map[string]bool{}
		for _, p := range cl.podsOf("default", "batch.kubernetes.io/job-name=idx") {
			ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
			if seen[ix] {
				t.Errorf("index %s ran twice", ix)
			}
			seen[ix] = true
			env := p.Spec.Containers[0].Env
			if p.Labels[batchv1.JobCompletionIndexAnnotation] != ix || !strings.HasPrefix(p.Name, "idx-"+ix+"-") ||
				p.Spec.Hostname != "idx-"+ix || p.Spec.Subdomain != "workers" || p.Status.Phase != corev1.PodSucceeded || len(p.Finalizers) != 0 ||
				len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" || env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
				t.Errorf("pod %s: index %q labels %v hostname %s.%s phase %s finalizers %v env %+v", p.Name, ix, p.Labels,
					p.Spec.Hostname, p.Spec.Subdomain, p.Status.Phase, p.Finalizers, env)
			}
		}
		if len(seen) != 5 || !seen["0"] || !seen["4"] {
			t.Errorf("indexes %v, want 0 to 4", seen)
		}
	})

	t.Run("podFailurePolicy FailJob on exit code 42", func(t *testing.T) {
		spec := jobSpec("fj", 3, 1, 6, "0s", "42")
		spec.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:      batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
		}}}
		if _, err := cl.c.BatchV1().Jobs("default").Create(cl.ctx, spec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		j := cl.waitJob("fj", "Failed", 60*time.Second, func(j *batchv1.Job) bool {
			return hasCondition(j, batchv1.JobFailed, batchv1.JobReasonPodFailurePolicy)
		})
		want := regexp.MustCompile(`^Container main for pod default/fj-[a-z0-9]+ failed with exit code 42 matching FailJob rule at index 0$`)
		for _, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobFailed || c.Type == batchv1.JobFailureTarget) && !want.MatchString(c.Message) {
				t.Errorf("%s message %q", c.Type, c.Message)
			}
		}
		if j.Status.Failed != 1 || j.Status.Active != 0 || !hasCondition(j, batchv1.JobFailureTarget, batchv1.JobReasonPodFailurePolicy) {
			t.Errorf("status %+v", j.Status)
		}
		if n := len(cl.podsOf("default", "batch.kubernetes.io/job-name=fj")); n != 1 {
			t.Errorf("%d pods, want the first only (backoffLimit 6 does not apply)", n)
		}
		cl.waitJobEvents("fj", "SuccessfulCreate", "PodFailurePolicy")
	})

	t.Run("podFailurePolicy Ignore does not consume backoffLimit", func(t *testing.T) {
		spec := jobSpec("ign", 1, 1, 0, "0s", "43")
		spec.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:      batchv1.PodFailurePolicyActionIgnore,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{43}},
		}}}
		if _, err := cl.c.BatchV1().Jobs("default").Create(cl.ctx, spec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// With backoffLimit 0, one counted failure would fail the Job: instead the ignored
		// failure is replaced (after the 10 s back-off).
		cl.poll(60*time.Second, "a second pod after an ignored failure", func() (bool, error) {
			failed := 0
			pods := cl.podsOf("default", "batch.kubernetes.io/job-name=ign")
			for _, p := range pods {
				if p.Status.Phase == corev1.PodFailed {
					failed++
				}
			}
			return failed >= 1 && len(pods) >= 2, nil
		})
		j, err := cl.c.BatchV1().Jobs("default").Get(cl.ctx, "ign", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status.Failed != 0 || hasCondition(j, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded) || hasCondition(j, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded) {
			t.Errorf("status %+v", j.Status)
		}
		if err := cl.c.BatchV1().Jobs("default").Delete(cl.ctx, "ign", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("suspend then resume", func(t *testing.T) {
		// backoffLimit 0: the pods deleted on suspension must not count as failures.
		spec := jobSpec("susp", 4, 2, 0, "1h", "0")
		spec.Spec.ActiveDeadlineSeconds = ptr.To[int64](3600)
		if _, err := cl.c.BatchV1().Jobs("default").Create(cl.ctx, spec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		j := cl.waitJob("susp", "2 active", 30*time.Second, func(j *batchv1.Job) bool { return j.Status.Active == 2 && *j.Status.Ready == 2 })
		started := j.Status.StartTime
		first := cl.podsOf("default", "batch.kubernetes.io/job-name=susp")
		cl.patchJobSuspend("susp", true)
		j = cl.waitJob("susp", "suspended", 30*time.Second, func(j *batchv1.Job) bool {
			return hasCondition(j, batchv1.JobSuspended, "JobSuspended") && j.Status.Active == 0
		})
		cl.poll(30*time.Second, "the suspended Job's pods gone", func() (bool, error) {
			return len(cl.podsOf("default", "batch.kubernetes.io/job-name=susp")) == 0, nil
		})
		time.Sleep(1100 * time.Millisecond) // startTime has a resolution of one second
		j, err := cl.c.BatchV1().Jobs("default").Get(cl.ctx, "susp", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status.Failed != 0 || j.Status.Succeeded != 0 || hasCondition(j, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded) {
			t.Errorf("suspended status %+v", j.Status)
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobSuspended && c.Message != "Job suspended" {
				t.Errorf("Suspended message %q", c.Message)
			}
		}

		cl.patchJobSuspend("susp", false)
		j = cl.waitJob("susp", "resumed", 30*time.Second, func(j *batchv1.Job) bool {
			for _, c := range j.Status.Conditions {
				if c.Type == batchv1.JobSuspended && c.Status == corev1.ConditionFalse && c.Reason == "JobResumed" {
					return j.Status.Active == 2
				}
			}
			return false
		})
		if j.Status.StartTime == nil || !j.Status.StartTime.After(started.Time) {
			t.Errorf("startTime %v after resume, was %v", j.Status.StartTime, started)
		}
		uids := map[types.UID]bool{}
		for _, p := range first {
			uids[p.UID] = true
		}
		for _, p := range cl.podsOf("default", "batch.kubernetes.io/job-name=susp") {
			if uids[p.UID] {
				t.Errorf("pod %s from before the suspension is back", p.Name)
			}
		}
		cl.waitJobEvents("susp", "SuccessfulCreate", "SuccessfulDelete", "Suspended", "Resumed")
		if err := cl.c.BatchV1().Jobs("default").Delete(cl.ctx, "susp", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
			t.Fatal(err)
		}
	})
}

// patchJobSuspend sets spec.suspend of the Job name.
func (cl *cluster) patchJobSuspend(name string, suspend bool) {
	cl.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"suspend":%v}}`, suspend)
	if _, err := cl.c.BatchV1().Jobs("default").Patch(cl.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		cl.t.Fatal(err)
	}
}

// waitJobEvents waits until events with the reasons were recorded about the Job name.
func (cl *cluster) waitJobEvents(name string, reasons ...string) {
	cl.t.Helper()
	cl.poll(20*time.Second, fmt.Sprintf("events %v of job %s", reasons, name), func() (bool, error) {
		evs, err := cl.c.CoreV1().Events("default").List(cl.ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Job,involvedObject.name=" + name})
		if err != nil {
			return false, err
		}
		seen := map[string]bool{}
		for _, e := range evs.Items {
			seen[e.Reason] = true
		}
		for _, r := range reasons {
			if !seen[r] {
				return false, fmt.Errorf("event reasons %v", seen)
			}
		}
		return true, nil
	})
}
