package validation

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// want is one expected error: its type, field path and full Error() text.
// With prefix set, the Error() text need only start with msg (for details
// that embed a go-cmp diff, whose spacing go-cmp randomises).
type want struct {
	typ    field.ErrorType
	field  string
	msg    string
	prefix bool
}

// checkErrs compares got with the expected errors, in order.
func checkErrs(t *testing.T, got field.ErrorList, wants []want) {
	t.Helper()
	ok := len(got) == len(wants)
	for i := 0; ok && i < len(got); i++ {
		w, g := wants[i], got[i]
		ok = g.Type == w.typ && g.Field == w.field &&
			((w.prefix && strings.HasPrefix(g.Error(), w.msg)) || (!w.prefix && g.Error() == w.msg))
	}
	if !ok {
		var b strings.Builder
		for _, g := range got {
			fmt.Fprintf(&b, "\n\t{%q, %q, %q},", g.Type, g.Field, g.Error())
		}
		t.Errorf("errors differ\n got:%s\nwant: %v", b.String(), wants)
	}
}

// Short constructors for expectations.
func required(f, msg string) want  { return want{typ: field.ErrorTypeRequired, field: f, msg: msg} }
func invalid(f, msg string) want   { return want{typ: field.ErrorTypeInvalid, field: f, msg: msg} }
func forbidden(f, msg string) want { return want{typ: field.ErrorTypeForbidden, field: f, msg: msg} }
func unsupported(f, msg string) want {
	return want{typ: field.ErrorTypeNotSupported, field: f, msg: msg}
}
func duplicate(f, msg string) want { return want{typ: field.ErrorTypeDuplicate, field: f, msg: msg} }
func notFound(f, msg string) want  { return want{typ: field.ErrorTypeNotFound, field: f, msg: msg} }
func tooLong(f, msg string) want   { return want{typ: field.ErrorTypeTooLong, field: f, msg: msg} }

func ptr[T any](v T) *T { return &v }

// dns1123LabelMsg is upstream's message for an invalid RFC 1123 label.
const dns1123LabelMsg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

// validContainer returns a fully defaulted container.
func validContainer(name string) corev1.Container {
	return corev1.Container{
		Name:  name,
		Image: "nginx:1.27",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
		Env:   []corev1.EnvVar{{Name: "MODE", Value: "prod"}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		VolumeMounts:             []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		ImagePullPolicy:          corev1.PullIfNotPresent,
	}
}

// validPodSpec returns a fully defaulted pod spec with one container that
// mounts an emptyDir volume.
func validPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Volumes:                       []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		Containers:                    []corev1.Container{validContainer("app")},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptr(int64(30)),
		DNSPolicy:                     corev1.DNSClusterFirst,
		ServiceAccountName:            "default",
		SecurityContext:               &corev1.PodSecurityContext{},
		SchedulerName:                 corev1.DefaultSchedulerName,
		EnableServiceLinks:            ptr(true),
		PreemptionPolicy:              ptr(corev1.PreemptLowerPriority),
	}
}

// validPod returns a fully defaulted pod.
func validPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:       validPodSpec(),
	}
}

// validTemplate returns a pod template with the given labels.
func validTemplate(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: validPodSpec()}
}

// validDeployment returns a fully defaulted deployment.
func validDeployment() *appsv1.Deployment {
	pct := intstr.FromString("25%")
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: validTemplate(map[string]string{"app": "web"}),
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &pct, MaxSurge: &pct},
			},
			RevisionHistoryLimit:    ptr(int32(10)),
			ProgressDeadlineSeconds: ptr(int32(600)),
		},
	}
}

// validJob returns a defaulted job with a generated selector.
func validJob() *batchv1.Job {
	labels := map[string]string{batchv1.ControllerUidLabel: "uid-1", batchv1.JobNameLabel: "pi", "controller-uid": "uid-1", "job-name": "pi"}
	t := validTemplate(labels)
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "uid-1"},
		Spec: batchv1.JobSpec{
			Parallelism:          ptr(int32(1)),
			Completions:          ptr(int32(1)),
			BackoffLimit:         ptr(int32(6)),
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: "uid-1"}},
			ManualSelector:       nil,
			Template:             t,
			CompletionMode:       ptr(batchv1.NonIndexedCompletion),
			Suspend:              ptr(false),
			PodReplacementPolicy: ptr(batchv1.TerminatingOrFailed),
		},
	}
}

// validCronJob returns a defaulted cron job.
func validCronJob() *batchv1.CronJob {
	t := validTemplate(nil)
	t.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default"},
		Spec: batchv1.CronJobSpec{
			Schedule:                   "*/5 * * * *",
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    ptr(false),
			SuccessfulJobsHistoryLimit: ptr(int32(3)),
			FailedJobsHistoryLimit:     ptr(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Parallelism:          ptr(int32(1)),
				Completions:          ptr(int32(1)),
				BackoffLimit:         ptr(int32(6)),
				Template:             t,
				CompletionMode:       ptr(batchv1.NonIndexedCompletion),
				Suspend:              ptr(false),
				PodReplacementPolicy: ptr(batchv1.TerminatingOrFailed),
			}},
		},
	}
}

const field_Forbidden = field.ErrorTypeForbidden

// intstrPort returns a numeric port.
func intstrPort(p int32) intstr.IntOrString { return intstr.FromInt32(p) }

// typeString is the %T of v.
func typeString(v interface{}) string { return fmt.Sprintf("%T", v) }
