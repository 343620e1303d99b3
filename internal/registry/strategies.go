package registry

import (
	"context"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-project/skiff/internal/defaults"
	"github.com/skiff-project/skiff/internal/validation"
)

// create adapts a typed PrepareForCreate function.
func create[T runtime.Object](fn func(T)) func(context.Context, runtime.Object) {
	return func(_ context.Context, obj runtime.Object) { fn(obj.(T)) }
}

// createStrategies are upstream's PrepareForCreate behaviours, by kind (internal/defaults).
var createStrategies = map[string]func(context.Context, runtime.Object){
	"Pod": func(_ context.Context, obj runtime.Object) {
		pod := obj.(*corev1.Pod)
		defaults.PrepareForCreatePod(pod)
		defaults.PodTolerations(pod)
	},
	"Service": func(_ context.Context, obj runtime.Object) {
		defaults.PrepareForCreateService(obj.(*corev1.Service), []corev1.IPFamily{corev1.IPv4Protocol})
	},
	"Namespace":             create(defaults.PrepareForCreateNamespace),
	"Node":                  create(defaults.PrepareForCreateNode),
	"PersistentVolumeClaim": create(defaults.PrepareForCreatePersistentVolumeClaim),
	"PersistentVolume": func(_ context.Context, obj runtime.Object) {
		defaults.PrepareForCreatePersistentVolume(obj.(*corev1.PersistentVolume), metav1.NewTime(time.Now().Truncate(time.Second)))
	},
	"ResourceQuota":           create(defaults.PrepareForCreateResourceQuota),
	"ReplicationController":   create(defaults.PrepareForCreateReplicationController),
	"PodTemplate":             create(defaults.PrepareForCreatePodTemplate),
	"Secret":                  create(defaults.MergeSecretStringData),
	"Deployment":              create(defaults.PrepareForCreateDeployment),
	"ReplicaSet":              create(defaults.PrepareForCreateReplicaSet),
	"StatefulSet":             create(defaults.PrepareForCreateStatefulSet),
	"DaemonSet":               create(defaults.PrepareForCreateDaemonSet),
	"Job":                     create(defaults.PrepareForCreateJob),
	"CronJob":                 create(defaults.PrepareForCreateCronJob),
	"HorizontalPodAutoscaler": create(func(h *autoscalingv2.HorizontalPodAutoscaler) { defaults.PrepareForCreateHorizontalPodAutoscaler(h) }),
	"Ingress":                 create(func(i *networkingv1.Ingress) { defaults.PrepareForCreateIngress(i) }),
	"IngressClass":            create(func(i *networkingv1.IngressClass) { defaults.PrepareForCreateIngressClass(i) }),
	"NetworkPolicy":           create(func(n *networkingv1.NetworkPolicy) { defaults.PrepareForCreateNetworkPolicy(n) }),
	"ServiceCIDR":             create(func(c *networkingv1.ServiceCIDR) { defaults.PrepareForCreateServiceCIDR(c) }),
	"EndpointSlice":           create(func(e *discoveryv1.EndpointSlice) { defaults.PrepareForCreateEndpointSlice(e) }),
	"PodDisruptionBudget":     create(func(p *policyv1.PodDisruptionBudget) { defaults.PrepareForCreatePodDisruptionBudget(p) }),
	"VolumeAttachment":        create(func(v *storagev1.VolumeAttachment) { defaults.PrepareForCreateVolumeAttachment(v) }),
	"PriorityClass":           create(defaults.PrepareForCreatePriorityClass),
	"CustomResourceDefinition": create(func(c *apiextensionsv1.CustomResourceDefinition) {
		defaults.PrepareForCreateCustomResourceDefinition(c)
	}),
	"ValidatingAdmissionPolicy": create(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
		defaults.PrepareForCreateValidatingAdmissionPolicy(p)
	}),
	"ValidatingAdmissionPolicyBinding": create(func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		defaults.PrepareForCreateValidatingAdmissionPolicyBinding(b)
	}),
	"ValidatingWebhookConfiguration": create(func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
		defaults.PrepareForCreateValidatingWebhookConfiguration(c)
	}),
	"MutatingWebhookConfiguration": create(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
		defaults.PrepareForCreateMutatingWebhookConfiguration(c)
	}),
	"ResourceClaim":         create(defaults.PrepareForCreateResourceClaim),
	"ResourceClaimTemplate": create(defaults.PrepareForCreateResourceClaimTemplate),
	"ResourceSlice":         create(defaults.PrepareForCreateResourceSlice),
	"DeviceTaintRule":       create(defaults.PrepareForCreateDeviceTaintRule),
	"CertificateSigningRequest": func(ctx context.Context, obj runtime.Object) {
		u, _ := UserFrom(ctx)
		defaults.PrepareForCreateCertificateSigningRequest(obj.(*certificatesv1.CertificateSigningRequest), u.Name, u.UID, u.Groups, u.Extra)
	},
}

// updateStrategies are upstream's PrepareForUpdate behaviours that differ from "keep the
// server-owned metadata": what is derived again on every write.
var updateStrategies = map[string]func(context.Context, runtime.Object, runtime.Object){
	"Secret": func(_ context.Context, obj, _ runtime.Object) { defaults.MergeSecretStringData(obj.(*corev1.Secret)) },
	"Namespace": func(_ context.Context, obj, _ runtime.Object) {
		ns := obj.(*corev1.Namespace)
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	},
	"ResourceClaim":         update(defaults.PrepareForUpdateResourceClaim),
	"ResourceClaimTemplate": update(defaults.PrepareForUpdateResourceClaimTemplate),
	"ResourceSlice":         update(defaults.PrepareForUpdateResourceSlice),
	"DeviceTaintRule": update(func(r, old *resourcev1.DeviceTaintRule) {
		defaults.PrepareForUpdateDeviceTaintRule(r, old, time.Now())
	}),
	"Job": func(_ context.Context, obj, old runtime.Object) {
		// The generated selector and labels are immutable; keep what create made.
		j, o := obj.(*batchv1.Job), old.(*batchv1.Job)
		if j.Spec.Selector == nil {
			j.Spec.Selector = o.Spec.Selector
		}
	},
	"DaemonSet": func(_ context.Context, obj, old runtime.Object) {
		ds, o := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
		if ds.Annotations == nil {
			ds.Annotations = map[string]string{}
		}
		gen := o.Annotations[appsv1.DeprecatedTemplateGeneration]
		if !specEqual(ds, o) {
			gen = itoa(o.Generation + 1)
		}
		if gen != "" {
			ds.Annotations[appsv1.DeprecatedTemplateGeneration] = gen
		}
	},
}

// statusUpdateStrategies are upstream's status strategies' PrepareForUpdate behaviours beyond
// "the status changes, nothing else does".
var statusUpdateStrategies = map[string]func(context.Context, runtime.Object, runtime.Object){
	"ResourceClaim": update(defaults.PrepareForStatusUpdateResourceClaim),
}

// update adapts a typed PrepareForUpdate function.
func update[T runtime.Object](fn func(obj, old T)) func(context.Context, runtime.Object, runtime.Object) {
	return func(_ context.Context, obj, old runtime.Object) { fn(obj.(T), old.(T)) }
}

func itoa(n int64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{digits[n%10]}, b...)
		n /= 10
	}
	return string(b)
}

// withStrategies fills every resource's strategy hooks from the tables above and from
// internal/validation.
func withStrategies(rs []*Resource) []*Resource {
	for _, r := range rs {
		if f, ok := createStrategies[r.GVK.Kind]; ok && r.PrepareForCreate == nil {
			r.PrepareForCreate = f
		}
		if f, ok := updateStrategies[r.GVK.Kind]; ok && r.PrepareForUpdate == nil {
			r.PrepareForUpdate = f
		}
		if f, ok := statusUpdateStrategies[r.GVK.Kind]; ok && r.PrepareForStatusUpdate == nil {
			r.PrepareForStatusUpdate = f
		}
		if r.Validate == nil {
			r.Validate = func(obj runtime.Object) field.ErrorList { return validation.ValidateCreate(obj) }
		}
		if r.ValidateUpdate == nil {
			r.ValidateUpdate = validation.ValidateUpdate
		}
		if r.ValidateStatusUpdate == nil {
			r.ValidateStatusUpdate = validation.ValidateStatusUpdate
		}
	}
	return rs
}
