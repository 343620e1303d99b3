package validation

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// allKinds returns a zero value of every kind skiff serves.
func allKinds() []runtime.Object {
	return []runtime.Object{
		&corev1.Namespace{}, &corev1.Pod{}, &corev1.Service{}, &corev1.Endpoints{}, &corev1.ConfigMap{},
		&corev1.Secret{}, &corev1.ServiceAccount{}, &corev1.Node{}, &corev1.Event{}, &corev1.PersistentVolume{},
		&corev1.PersistentVolumeClaim{}, &corev1.ResourceQuota{}, &corev1.LimitRange{}, &corev1.PodTemplate{},
		&corev1.ReplicationController{},
		&appsv1.Deployment{}, &appsv1.ReplicaSet{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{}, &appsv1.ControllerRevision{},
		&batchv1.Job{}, &batchv1.CronJob{},
		&autoscalingv2.HorizontalPodAutoscaler{},
		&networkingv1.Ingress{}, &networkingv1.IngressClass{}, &networkingv1.NetworkPolicy{}, &networkingv1.ServiceCIDR{}, &networkingv1.IPAddress{},
		&rbacv1.Role{}, &rbacv1.ClusterRole{}, &rbacv1.RoleBinding{}, &rbacv1.ClusterRoleBinding{},
		&storagev1.StorageClass{}, &storagev1.CSIDriver{}, &storagev1.CSINode{}, &storagev1.VolumeAttachment{},
		&storagev1.CSIStorageCapacity{},
		&resourcev1.DeviceClass{}, &resourcev1.ResourceClaim{}, &resourcev1.ResourceClaimTemplate{},
		&resourcev1.ResourceSlice{}, &resourcev1.DeviceTaintRule{},
		&certificatesv1.CertificateSigningRequest{},
		&coordinationv1.Lease{},
		&discoveryv1.EndpointSlice{},
		&policyv1.PodDisruptionBudget{},
		&schedulingv1.PriorityClass{},
		&nodev1.RuntimeClass{},
		&admissionregistrationv1.ValidatingWebhookConfiguration{}, &admissionregistrationv1.MutatingWebhookConfiguration{},
		&admissionregistrationv1.ValidatingAdmissionPolicy{}, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{},
		&apiextensionsv1.CustomResourceDefinition{},
	}
}

// kindsWithoutRequiredFields may be valid as zero values.
var kindsWithoutRequiredFields = map[string]bool{
	"*v1.Namespace": true, "*v1.ConfigMap": true, "*v1.Secret": true, "*v1.ServiceAccount": true, "*v1.Node": true,
	"*v1.Endpoints": true, "*v1.ResourceQuota": true, "*v1.LimitRange": true, "*v1.Event": true,
	"*v1.Role": true, "*v1.ClusterRole": true, "*v1.NetworkPolicy": true, "*v1.Lease": true,
	"*v1.PodDisruptionBudget": true, "*v1.PriorityClass": true, "*v1.CSINode": true,
	"*v1.ValidatingWebhookConfiguration": true, "*v1.MutatingWebhookConfiguration": true,
	"*v1.DeviceClass": true, "*v1.ResourceClaim": true, "*v1.ResourceClaimTemplate": true,
}

func TestZeroValuesDoNotPanic(t *testing.T) {
	for _, obj := range allKinds() {
		name := typeName(obj)
		t.Run(name, func(t *testing.T) {
			errs := ValidateCreate(obj)
			if len(errs) == 0 && !kindsWithoutRequiredFields[name] {
				t.Errorf("ValidateCreate(zero %s) returned no errors", name)
			}
			_ = ValidateUpdate(obj, obj.DeepCopyObject())
			_ = ValidateStatusUpdate(obj, obj.DeepCopyObject())
		})
	}
}

func TestUnknownKindsAndMismatchedTypes(t *testing.T) {
	if errs := ValidateCreate(&corev1.Binding{}); errs != nil {
		t.Errorf("unknown kind: got %v, want nil", errs)
	}
	if errs := ValidateUpdate(&corev1.Pod{}, &corev1.Service{}); errs != nil {
		t.Errorf("mismatched types: got %v, want nil", errs)
	}
}

// typeName names a kind by its Go type, e.g. "*v1.Pod".
func typeName(obj runtime.Object) string { return typeString(obj) }
