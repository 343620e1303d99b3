package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	// maxParallelismForIndexedJob caps parallelism of Indexed jobs.
	maxParallelismForIndexedJob = 100000
	// cronJobNameMaxLength leaves room for the 11-character job suffix.
	cronJobNameMaxLength = validation.DNS1035LabelMaxLength - 11
)

var validTimeZoneCharacters = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// validateJob validates a new job: its generated selector and its spec.
func validateJob(job *batchv1.Job) field.ErrorList {
	allErrs := generatedSelector(job)
	allErrs = append(allErrs, jobSpec(&job.Spec, field.NewPath("spec"))...)
	if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion && job.Spec.Completions != nil && *job.Spec.Completions > 0 {
		hostname := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
		if errs := validation.IsDNS1123Label(hostname); len(errs) > 0 {
			allErrs = append(allErrs, field.Invalid(field.NewPath("metadata").Child("name"), job.Name, fmt.Sprintf("will not able to create pod with invalid DNS label: %s", hostname)))
		}
	}
	return allErrs
}

// generatedSelector checks, unless the job has a manual selector, that the
// registry generated the selector and template labels from the job's uid.
func generatedSelector(job *batchv1.Job) field.ErrorList {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		return nil
	}
	if job.Spec.Selector == nil {
		return nil
	}
	var allErrs field.ErrorList
	if job.UID == "" {
		allErrs = append(allErrs, field.Required(field.NewPath("metadata").Child("uid"), ""))
	}
	tmeta := field.NewPath("spec").Child("template").Child("metadata")
	allErrs = append(allErrs, hasLabel(job.Spec.Template.ObjectMeta, tmeta, batchv1.ControllerUidLabel, string(job.UID))...)
	allErrs = append(allErrs, hasLabel(job.Spec.Template.ObjectMeta, tmeta, batchv1.JobNameLabel, job.Name)...)
	if selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil {
		if !selector.Matches(labels.Set{batchv1.ControllerUidLabel: string(job.UID)}) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("spec").Child("selector"), job.Spec.Selector, "`selector` not auto-generated"))
		}
	}
	return allErrs
}

// jobSpec validates a job spec with its selector.
func jobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	allErrs := jobSpecCommon(spec, fldPath)
	if spec.Selector == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	} else {
		allErrs = append(allErrs, labelSelector(spec.Selector, fldPath.Child("selector"))...)
	}
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	return allErrs
}

// jobSpecCommon validates what jobs and job templates share.
func jobSpecCommon(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, f := range []struct {
		name string
		v    *int32
	}{{"parallelism", spec.Parallelism}, {"completions", spec.Completions}} {
		if f.v != nil {
			allErrs = append(allErrs, nonNegative(int64(*f.v), fldPath.Child(f.name))...)
		}
	}
	if spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, nonNegative(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	for _, f := range []struct {
		name string
		v    *int32
	}{{"backoffLimit", spec.BackoffLimit}, {"ttlSecondsAfterFinished", spec.TTLSecondsAfterFinished}, {"backoffLimitPerIndex", spec.BackoffLimitPerIndex}} {
		if f.v != nil {
			allErrs = append(allErrs, nonNegative(int64(*f.v), fldPath.Child(f.name))...)
		}
	}
	if spec.MaxFailedIndexes != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.MaxFailedIndexes), fldPath.Child("maxFailedIndexes"))...)
		if spec.BackoffLimitPerIndex == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
	}
	if spec.ManagedBy != nil {
		allErrs = append(allErrs, validation.IsDomainPrefixedPath(fldPath.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > 63 {
			allErrs = append(allErrs, field.TooLong(fldPath.Child("managedBy"), *spec.ManagedBy, 63))
		}
	}
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
	if spec.CompletionMode != nil {
		if *spec.CompletionMode != batchv1.NonIndexedCompletion && *spec.CompletionMode != batchv1.IndexedCompletion {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("completionMode"), spec.CompletionMode, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
		}
		if indexed {
			if spec.Completions == nil {
				allErrs = append(allErrs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			}
			if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism, fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
			}
			if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "must be less than or equal to completions"))
			}
			allErrs = append(allErrs, indexedLimits(spec, fldPath)...)
		}
	}
	if !indexed {
		if spec.BackoffLimitPerIndex != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	if spec.PodFailurePolicy != nil {
		allErrs = append(allErrs, podFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if !indexed {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else if spec.Completions != nil {
			allErrs = append(allErrs, successPolicy(spec, fldPath.Child("successPolicy"))...)
		}
	}
	if spec.PodReplacementPolicy != nil {
		p := fldPath.Child("podReplacementPolicy")
		switch *spec.PodReplacementPolicy {
		case batchv1.TerminatingOrFailed:
			if spec.PodFailurePolicy != nil {
				allErrs = append(allErrs, field.NotSupported(p, *spec.PodReplacementPolicy, []batchv1.PodReplacementPolicy{batchv1.Failed}))
			}
		case batchv1.Failed:
		default:
			allErrs = append(allErrs, field.NotSupported(p, *spec.PodReplacementPolicy, []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}))
		}
	}
	allErrs = append(allErrs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	rp := spec.Template.Spec.RestartPolicy
	rpPath := fldPath.Child("template", "spec", "restartPolicy")
	switch {
	case rp == corev1.RestartPolicyAlways || rp == "":
		allErrs = append(allErrs, field.Required(rpPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		allErrs = append(allErrs, field.NotSupported(rpPath, rp, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	case spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		allErrs = append(allErrs, field.Invalid(rpPath, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return allErrs
}

// validateJobUpdate validates a job update: selector, completions (except
// elastic Indexed jobs), template (except scheduling directives of a
// suspended, unstarted job) and several policies are immutable.
func validateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	fldPath := field.NewPath("spec")
	spec, oldSpec := &job.Spec, &old.Spec
	allErrs := jobSpec(spec, fldPath)
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
	cp := fldPath.Child("completions")
	if !indexed {
		allErrs = append(allErrs, immutable(spec.Completions, oldSpec.Completions, cp)...)
	} else if !apiequality.Semantic.DeepEqual(spec.Completions, oldSpec.Completions) && spec.Completions != nil {
		if spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
			allErrs = append(allErrs, field.Invalid(cp, spec.Completions, fmt.Sprintf("can only be modified in tandem with %s", cp.Root().Child("parallelism").String())))
		}
	}
	allErrs = append(allErrs, immutable(spec.Selector, oldSpec.Selector, fldPath.Child("selector"))...)
	oldTemplate := oldSpec.Template.DeepCopy()
	if oldSpec.Suspend != nil && *oldSpec.Suspend && old.Status.StartTime == nil {
		t := &spec.Template
		switch {
		case t.Spec.Affinity == nil && oldTemplate.Spec.Affinity != nil:
			oldTemplate.Spec.Affinity.NodeAffinity = nil
			if apiequality.Semantic.DeepEqual(*oldTemplate.Spec.Affinity, corev1.Affinity{}) {
				oldTemplate.Spec.Affinity = nil
			}
		case t.Spec.Affinity != nil && oldTemplate.Spec.Affinity == nil:
			oldTemplate.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
		case t.Spec.Affinity != nil && oldTemplate.Spec.Affinity != nil:
			oldTemplate.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
		}
		oldTemplate.Spec.NodeSelector = t.Spec.NodeSelector
		oldTemplate.Spec.Tolerations = t.Spec.Tolerations
		oldTemplate.Annotations = t.Annotations
		oldTemplate.Labels = t.Labels
		oldTemplate.Spec.SchedulingGates = t.Spec.SchedulingGates
	}
	allErrs = append(allErrs, immutable(&spec.Template, oldTemplate, fldPath.Child("template"))...)
	allErrs = append(allErrs, immutable(spec.CompletionMode, oldSpec.CompletionMode, fldPath.Child("completionMode"))...)
	allErrs = append(allErrs, immutable(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, fldPath.Child("podFailurePolicy"))...)
	allErrs = append(allErrs, immutable(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, fldPath.Child("backoffLimitPerIndex"))...)
	allErrs = append(allErrs, immutable(spec.ManagedBy, oldSpec.ManagedBy, fldPath.Child("managedBy"))...)
	allErrs = append(allErrs, immutable(spec.SuccessPolicy, oldSpec.SuccessPolicy, fldPath.Child("successPolicy"))...)
	return allErrs
}

// validateJobStatus validates a job's status counters.
func validateJobStatus(s *batchv1.JobStatus, fldPath *field.Path) field.ErrorList {
	allErrs := nonNegative(int64(s.Active), fldPath.Child("active"))
	allErrs = append(allErrs, nonNegative(int64(s.Succeeded), fldPath.Child("succeeded"))...)
	allErrs = append(allErrs, nonNegative(int64(s.Failed), fldPath.Child("failed"))...)
	if s.Ready != nil {
		allErrs = append(allErrs, nonNegative(int64(*s.Ready), fldPath.Child("ready"))...)
	}
	if s.Terminating != nil {
		allErrs = append(allErrs, nonNegative(int64(*s.Terminating), fldPath.Child("terminating"))...)
	}
	return allErrs
}

// validateCronJobCreate validates a new cron job, including the 52-character
// limit on its name that leaves room for the jobs' suffix.
func validateCronJobCreate(cj *batchv1.CronJob) field.ErrorList {
	allErrs := cronJobSpec(&cj.Spec, nil, field.NewPath("spec"))
	if len(cj.Name) > cronJobNameMaxLength {
		allErrs = append(allErrs, field.Invalid(field.NewPath("metadata").Child("name"), cj.Name, fmt.Sprintf("must be no more than %d characters", cronJobNameMaxLength)))
	}
	return allErrs
}

// validateCronJobUpdate validates a cron job update (the name limit is not
// enforced, so old cron jobs stay updatable).
func validateCronJobUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	return cronJobSpec(&cj.Spec, &old.Spec, field.NewPath("spec"))
}

// cronJobSpec validates a cron job spec; oldSpec is nil on create.
func cronJobSpec(spec, oldSpec *batchv1.CronJobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	sp := fldPath.Child("schedule")
	if len(spec.Schedule) == 0 {
		allErrs = append(allErrs, field.Required(sp, ""))
	} else {
		allowTZ := oldSpec != nil && strings.Contains(oldSpec.Schedule, "TZ")
		if err := parseStandardCron(spec.Schedule); err != nil {
			allErrs = append(allErrs, field.Invalid(sp, spec.Schedule, err.Error()))
		}
		switch {
		case allowTZ && strings.Contains(spec.Schedule, "TZ") && spec.TimeZone != nil:
			allErrs = append(allErrs, field.Invalid(sp, spec.Schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
		case !allowTZ && strings.Contains(spec.Schedule, "TZ"):
			allErrs = append(allErrs, field.Invalid(sp, spec.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if spec.StartingDeadlineSeconds != nil {
		allErrs = append(allErrs, nonNegative(*spec.StartingDeadlineSeconds, fldPath.Child("startingDeadlineSeconds"))...)
	}
	if oldSpec == nil || !apiequality.Semantic.DeepEqual(oldSpec.TimeZone, spec.TimeZone) {
		allErrs = append(allErrs, timeZone(spec.TimeZone, fldPath.Child("timeZone"))...)
	}
	cp := fldPath.Child("concurrencyPolicy")
	switch spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		allErrs = append(allErrs, field.Required(cp, ""))
	default:
		allErrs = append(allErrs, field.NotSupported(cp, spec.ConcurrencyPolicy, []string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}))
	}
	jt := fldPath.Child("jobTemplate")
	allErrs = append(allErrs, jobSpecCommon(&spec.JobTemplate.Spec, jt.Child("spec"))...)
	if spec.JobTemplate.Spec.Selector != nil {
		allErrs = append(allErrs, field.Invalid(jt.Child("spec", "selector"), spec.JobTemplate.Spec.Selector, "`selector` will be auto-generated"))
	}
	if ms := spec.JobTemplate.Spec.ManualSelector; ms != nil && *ms {
		allErrs = append(allErrs, field.NotSupported(jt.Child("spec", "manualSelector"), ms, []string{"nil", "false"}))
	}
	if spec.SuccessfulJobsHistoryLimit != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.SuccessfulJobsHistoryLimit), fldPath.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.FailedJobsHistoryLimit), fldPath.Child("failedJobsHistoryLimit"))...)
	}
	return allErrs
}

// timeZone validates a cron job's IANA time zone name.
func timeZone(tz *string, fldPath *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if len(*tz) == 0 {
		return field.ErrorList{field.Invalid(fldPath, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var allErrs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		allErrs = append(allErrs, field.Invalid(fldPath, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, tz, err.Error()))
	}
	return allErrs
}
