package job

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/controller/replicaset"
)

// CompletionIndexEnv is the variable that tells an Indexed Job's containers their index.
const CompletionIndexEnv = "JOB_COMPLETION_INDEX"

// noIndex is the index of a pod without a valid completion index.
const noIndex = -1

// maxGeneratedNameLength is the API server's limit for a generateName prefix (a name is at
// most 63 characters, and 5 random ones are appended).
const maxGeneratedNameLength = 63 - 5

var jobGVK = batchv1.SchemeGroupVersion.WithKind("Job")

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

func hasBackoffLimitPerIndex(job *batchv1.Job) bool {
	return isIndexed(job) && job.Spec.BackoffLimitPerIndex != nil
}

// completionIndex is pod's batch.kubernetes.io/job-completion-index annotation, or noIndex.
func completionIndex(pod *corev1.Pod) int {
	v, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return noIndex
	}
	return i
}

// NewPod returns the pod to create for job: its template with the tracking finalizer and the
// Job as controller. For an Indexed Job, index is the pod's completion index, which it
// carries as upstream: the batch.kubernetes.io/job-completion-index annotation and label,
// the JOB_COMPLETION_INDEX variable in every container (from the label), the hostname
// <job>-<index> and the name prefix <job>-<index>-. With backoffLimitPerIndex, replaced is the
// last failed pod of the index (nil for the first), whose failure counts the new pod carries
// on in the batch.kubernetes.io/job-index-failure-count and job-index-ignored-failure-count
// annotations.
func NewPod(job *batchv1.Job, index int, replaced *corev1.Pod) *corev1.Pod {
	pod := replicaset.PodFromTemplate(&job.Spec.Template, job, jobGVK)
	if !slices.Contains(pod.Finalizers, TrackingFinalizer) {
		pod.Finalizers = append(pod.Finalizers, TrackingFinalizer)
	}
	if !isIndexed(job) || index < 0 {
		return pod
	}
	ix := strconv.Itoa(index)
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Annotations[batchv1.JobCompletionIndexAnnotation] = ix
	pod.Labels[batchv1.JobCompletionIndexAnnotation] = ix
	pod.Spec.Hostname = job.Name + "-" + ix
	pod.GenerateName = indexedNamePrefix(job.Name, index)
	for i := range pod.Spec.InitContainers {
		addIndexEnv(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		addIndexEnv(&pod.Spec.Containers[i])
	}
	if hasBackoffLimitPerIndex(job) {
		failures, ignored := newIndexFailureCounts(job, replaced)
		pod.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(int(failures))
		if ignored > 0 {
			pod.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
		}
	}
	return pod
}

// indexedNamePrefix is "<job>-<index>-", the job's name cut so that the prefix fits.
func indexedNamePrefix(jobName string, index int) string {
	suffix := "-" + strconv.Itoa(index) + "-"
	if len(jobName)+len(suffix) > maxGeneratedNameLength {
		jobName = jobName[:maxGeneratedNameLength-len(suffix)]
	}
	return jobName + suffix
}

func addIndexEnv(c *corev1.Container) {
	for _, e := range c.Env {
		if e.Name == CompletionIndexEnv {
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: CompletionIndexEnv, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation)},
	}})
}

// newIndexFailureCounts are the failure counts of the pod replacing replaced in its index:
// replaced's, plus its own failure (ignored if the pod failure policy says Ignore).
func newIndexFailureCounts(job *batchv1.Job, replaced *corev1.Pod) (failures, ignored int32) {
	if replaced == nil {
		return 0, 0
	}
	failures, ignored = indexFailureCount(replaced), indexIgnoredFailureCount(replaced)
	if MatchPodFailurePolicy(job.Spec.PodFailurePolicy, replaced).Counts {
		failures++
	} else {
		ignored++
	}
	return failures, ignored
}

// indexFailureCount is the failures of pod's index before pod, from its annotation (0 if
// it is missing or not a valid count, as upstream).
func indexFailureCount(pod *corev1.Pod) int32 {
	return annotationCount(pod, batchv1.JobIndexFailureCountAnnotation)
}

func indexIgnoredFailureCount(pod *corev1.Pod) int32 {
	return annotationCount(pod, batchv1.JobIndexIgnoredFailureCountAnnotation)
}

func annotationCount(pod *corev1.Pod, key string) int32 {
	n, err := strconv.Atoi(pod.Annotations[key])
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0
	}
	return int32(n)
}
