package validation

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateJob(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*batchv1.Job)
		want   []want
	}{
		{"valid", func(*batchv1.Job) {}, nil},
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways }, []want{
			required("spec.template.spec.restartPolicy", `spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`),
		}},
		{"negative parallelism", func(j *batchv1.Job) { j.Spec.Parallelism = ptr(int32(-1)) }, []want{
			invalid("spec.parallelism", "spec.parallelism: Invalid value: -1: must be greater than or equal to 0"),
		}},
		{"indexed job needs completions", func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, []want{
			required("spec.completions", "spec.completions: Required value: when completion mode is Indexed"),
		}},
		{"selector not generated", func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"job-name": "pi"}}
		}, []want{
			invalid("spec.selector", "spec.selector: Invalid value: {\"matchLabels\":{\"job-name\":\"pi\"}}: `selector` not auto-generated"),
		}},
		{"manual selector must match template", func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "batch"}}
		}, []want{
			invalid("spec.template.metadata.labels", "spec.template.metadata.labels: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"uid-1\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"uid-1\",\"job-name\":\"pi\"}: `selector` does not match template `labels`"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.mutate(j)
			checkErrs(t, ValidateCreate(j), tc.want)
		})
	}

	old := validJob()
	j := old.DeepCopy()
	j.Spec.Completions = ptr(int32(3))
	checkErrs(t, ValidateUpdate(j, old), []want{
		invalid("spec.completions", "spec.completions: Invalid value: 3: field is immutable"),
	})
	j = old.DeepCopy()
	j.Spec.Parallelism = ptr(int32(4))
	checkErrs(t, ValidateUpdate(j, old), nil)
	j = old.DeepCopy()
	j.Spec.Template.Spec.Containers[0].Image = "busybox"
	got := ValidateUpdate(j, old)
	if len(got) != 1 || got[0].Field != "spec.template" || !strings.HasSuffix(got[0].Error(), ": field is immutable") {
		t.Errorf("template update: got %v, want one spec.template immutable error", got)
	}
}

func TestValidateCronJob(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*batchv1.CronJob)
		want   []want
	}{
		{"valid", func(*batchv1.CronJob) {}, nil},
		{"valid descriptor", func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" }, nil},
		{"valid names and ranges", func(c *batchv1.CronJob) { c.Spec.Schedule = "0 9-17/2 * jan-jun mon,fri" }, nil},
		{"schedule required", func(c *batchv1.CronJob) { c.Spec.Schedule = "" }, []want{
			required("spec.schedule", "spec.schedule: Required value"),
		}},
		{"schedule with too few fields", func(c *batchv1.CronJob) { c.Spec.Schedule = "* * *" }, []want{
			invalid("spec.schedule", `spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]`),
		}},
		{"schedule out of range", func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" }, []want{
			invalid("spec.schedule", `spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`),
		}},
		{"schedule not a number", func(c *batchv1.CronJob) { c.Spec.Schedule = "x * * * *" }, []want{
			invalid("spec.schedule", `spec.schedule: Invalid value: "x * * * *": failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`),
		}},
		{"TZ in schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 0 * * *" }, []want{
			invalid("spec.schedule", "spec.schedule: Invalid value: \"TZ=UTC 0 0 * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
		}},
		{"unknown time zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr("Mars/Olympus") }, []want{
			invalid("spec.timeZone", `spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`),
		}},
		{"concurrency policy enum", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" }, []want{
			unsupported("spec.concurrencyPolicy", `spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"`),
		}},
		{"name longer than 52 characters", func(c *batchv1.CronJob) { c.Name = strings.Repeat("a", 53) }, []want{
			invalid("metadata.name", `metadata.name: Invalid value: "`+strings.Repeat("a", 53)+`": must be no more than 52 characters`),
		}},
		{"job template selector", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
		}, []want{
			invalid("spec.jobTemplate.spec.selector", "spec.jobTemplate.spec.selector: Invalid value: {\"matchLabels\":{\"a\":\"b\"}}: `selector` will be auto-generated"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validCronJob()
			tc.mutate(c)
			checkErrs(t, ValidateCreate(c), tc.want)
		})
	}
	// The name limit does not apply to updates.
	old := validCronJob()
	old.Name = strings.Repeat("a", 60)
	c := old.DeepCopy()
	c.Spec.Schedule = "0 * * * *"
	checkErrs(t, ValidateUpdate(c, old), nil)
}
