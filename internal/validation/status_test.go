package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestInvalidStatusMessage shows the 422 message the registry builds from
// these errors, as upstream's apiserver does.
func TestInvalidStatusMessage(t *testing.T) {
	d := validDeployment()
	d.Spec.Template.Labels = map[string]string{"app": "x"}
	err := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, d.Name, ValidateCreate(d))
	want := "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
}

func TestValidateStatusUpdates(t *testing.T) {
	old := validPod()
	pod := old.DeepCopy()
	pod.Spec.NodeName = "node-1"
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}
	checkErrs(t, ValidateStatusUpdate(pod, old), []want{
		forbidden("status.nodeName", "status.nodeName: Forbidden: may not be changed directly"),
		invalid("status.podIPs", `status.podIPs: Invalid value: [{"IP":"10.0.0.1"},{"IP":"10.0.0.2"}]: may specify no more than one IP for each IP family`),
	})

	oldD := validDeployment()
	oldD.Status.CollisionCount = ptr(int32(2))
	d := oldD.DeepCopy()
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 1, CollisionCount: ptr(int32(1))}
	checkErrs(t, ValidateStatusUpdate(d, oldD), []want{
		invalid("status.readyReplicas", "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"),
		invalid("status.collisionCount", "status.collisionCount: Invalid value: 1: cannot be decremented"),
	})

	ns := &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	checkErrs(t, ValidateStatusUpdate(ns, ns.DeepCopy()), []want{
		invalid("status.Phase", "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"),
	})
}

func TestPodAnnotationsOnUpdate(t *testing.T) {
	old := validPod()
	pod := old.DeepCopy()
	pod.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
	pod.Spec.NodeName = ""
	const mirror = "metadata.annotations[kubernetes.io/config.mirror]"
	checkErrs(t, ValidateUpdate(pod, old), []want{
		invalid(mirror, mirror+`: Invalid value: "x": must set spec.nodeName if mirror pod annotation is set`),
		forbidden(mirror, mirror+": Forbidden: may not add mirror pod annotation"),
		invalid(mirror, mirror+`: Invalid value: "x": must set spec.nodeName if mirror pod annotation is set`),
	})
}
