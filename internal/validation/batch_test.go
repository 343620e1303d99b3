package validation

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// indexedJob makes j an Indexed Job of completions.
func indexedJob(j *batchv1.Job, completions int32) {
	j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
	j.Spec.Completions = ptr(completions)
}

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
		{"successPolicy needs Indexed", func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr(int32(1))}}}
		}, []want{
			{typ: field.ErrorTypeInvalid, field: "spec.successPolicy", msg: "spec.successPolicy: Invalid value:", prefix: true},
		}},
		{"successPolicy rules", func(j *batchv1.Job) {
			indexedJob(j, 5)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{
				{},
				{SucceededIndexes: ptr("0,2-4"), SucceededCount: ptr(int32(4))},
				{SucceededIndexes: ptr("3,1")},
				{SucceededIndexes: ptr("1-7")},
				{SucceededIndexes: ptr("1-2-3")},
				{SucceededCount: ptr(int32(6))},
				{SucceededIndexes: ptr("0,1-4"), SucceededCount: ptr(int32(5))}, // adjacent intervals are fine
				{SucceededIndexes: ptr("0,2"), SucceededCount: ptr(int32(3))},
			}}
		}, []want{
			required("spec.successPolicy.rules[0]", "spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified"),
			invalid("spec.successPolicy.rules[2].succeededIndexes", `spec.successPolicy.rules[2].succeededIndexes: Invalid value: "3,1": error parsing succeededIndexes: non-increasing order, previous: 3, current: 1`),
			invalid("spec.successPolicy.rules[3].succeededIndexes", `spec.successPolicy.rules[3].succeededIndexes: Invalid value: "1-7": error parsing succeededIndexes: too large index: "7"`),
			invalid("spec.successPolicy.rules[4].succeededIndexes", `spec.successPolicy.rules[4].succeededIndexes: Invalid value: "1-2-3": error parsing succeededIndexes: the fragment "1-2-3" violates the requirement that an index interval can have at most two parts separated by '-'`),
			invalid("spec.successPolicy.rules[5].succeededCount", "spec.successPolicy.rules[5].succeededCount: Invalid value: 6: must be less than or equal to 5 (the number of specified completions)"),
			invalid("spec.successPolicy.rules[7].succeededCount", "spec.successPolicy.rules[7].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)"),
		}},
		{"podFailurePolicy rules", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
				{Action: "", OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("nope"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{0, 3, 3, 1}}},
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}, {Type: "bad type", Status: "Maybe"}}},
				{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					Operator: "Is", Values: nil}},
			}}
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
		}, []want{
			{typ: field.ErrorTypeRequired, field: "spec.podFailurePolicy.rules[1].action", msg: "spec.podFailurePolicy.rules[1].action: Required value: valid values:", prefix: true},
			invalid("spec.podFailurePolicy.rules[1].onExitCodes.containerName", `spec.podFailurePolicy.rules[1].onExitCodes.containerName: Invalid value: "nope": must be one of the container or initContainer names in the pod template`),
			invalid("spec.podFailurePolicy.rules[1].onExitCodes.values[0]", "spec.podFailurePolicy.rules[1].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator"),
			duplicate("spec.podFailurePolicy.rules[1].onExitCodes.values[2]", "spec.podFailurePolicy.rules[1].onExitCodes.values[2]: Duplicate value: 3"),
			invalid("spec.podFailurePolicy.rules[1].onExitCodes.values", "spec.podFailurePolicy.rules[1].onExitCodes.values: Invalid value: [0,3,3,1]: must be ordered"),
			{typ: field.ErrorTypeInvalid, field: "spec.podFailurePolicy.rules[2].onPodConditions[1].type", msg: `spec.podFailurePolicy.rules[2].onPodConditions[1].type: Invalid value: "bad type"`, prefix: true},
			{typ: field.ErrorTypeNotSupported, field: "spec.podFailurePolicy.rules[2].onPodConditions[1].status", msg: `spec.podFailurePolicy.rules[2].onPodConditions[1].status: Unsupported value: "Maybe"`, prefix: true},
			invalid("spec.podFailurePolicy.rules[3].action", `spec.podFailurePolicy.rules[3].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set`),
			{typ: field.ErrorTypeNotSupported, field: "spec.podFailurePolicy.rules[3].onExitCodes.operator", msg: `spec.podFailurePolicy.rules[3].onExitCodes.operator: Unsupported value: "Is"`, prefix: true},
			invalid("spec.podFailurePolicy.rules[3].onExitCodes.values", "spec.podFailurePolicy.rules[3].onExitCodes.values: Invalid value: null: at least one value is required"),
		}},
		{"podFailurePolicy needs podReplacementPolicy Failed", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}}}
		}, []want{
			unsupported("spec.podReplacementPolicy", `spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"`),
		}},
		{"podFailurePolicy needs restartPolicy Never", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}}}
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}, []want{
			invalid("spec.template.spec.restartPolicy", `spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`),
		}},
		{"maxFailedIndexes limits", func(j *batchv1.Job) {
			indexedJob(j, 200_000)
			j.Spec.BackoffLimitPerIndex = ptr(int32(1))
			j.Spec.Parallelism = ptr(int32(20_000))
		}, []want{
			required("spec.maxFailedIndexes", "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000"),
			invalid("spec.parallelism", "spec.parallelism: Invalid value: 20000: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index"),
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
