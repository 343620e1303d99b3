package validation

import (
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
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCreate returns the errors of a new object, beyond its top-level
// ObjectMeta (which the registry validates itself with apimachinery's
// ValidateObjectMetaAccessor). obj is already defaulted, exactly as upstream
// validates defaulted objects. Unknown kinds return nil.
func ValidateCreate(obj runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	// core/v1
	case *corev1.Namespace:
		return validateNamespace(o)
	case *corev1.Pod:
		return validatePodCreate(o)
	case *corev1.Service:
		return validateService(o)
	case *corev1.Endpoints:
		return validateEndpoints(o)
	case *corev1.ConfigMap:
		return validateConfigMap(o)
	case *corev1.Secret:
		return validateSecret(o)
	case *corev1.ServiceAccount:
		return nil
	case *corev1.Node:
		return validateNode(o)
	case *corev1.Event:
		return validateEventCreate(o)
	case *corev1.PersistentVolume:
		return validatePersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		return validatePersistentVolumeClaim(o)
	case *corev1.ResourceQuota:
		return validateResourceQuota(o)
	case *corev1.LimitRange:
		return validateLimitRange(o)
	case *corev1.PodTemplate:
		return validatePodTemplate(o)
	case *corev1.ReplicationController:
		return validateReplicationController(o)
	// apps/v1
	case *appsv1.Deployment:
		return validateDeployment(o)
	case *appsv1.ReplicaSet:
		return validateReplicaSet(o)
	case *appsv1.StatefulSet:
		return validateStatefulSet(o)
	case *appsv1.DaemonSet:
		return validateDaemonSet(o)
	case *appsv1.ControllerRevision:
		return validateControllerRevision(o)
	// batch/v1
	case *batchv1.Job:
		return validateJob(o)
	case *batchv1.CronJob:
		return validateCronJobCreate(o)
	// autoscaling/v2
	case *autoscalingv2.HorizontalPodAutoscaler:
		return validateHPA(o)
	// networking.k8s.io/v1
	case *networkingv1.Ingress:
		return validateIngress(o)
	case *networkingv1.IngressClass:
		return validateIngressClass(o)
	case *networkingv1.NetworkPolicy:
		return validateNetworkPolicy(o)
	case *networkingv1.ServiceCIDR:
		return validateServiceCIDR(o)
	case *networkingv1.IPAddress:
		return validateIPAddress(o)
	// rbac.authorization.k8s.io/v1
	case *rbacv1.Role:
		return validateRole(o)
	case *rbacv1.ClusterRole:
		return validateClusterRole(o)
	case *rbacv1.RoleBinding:
		return validateRoleBinding(o)
	case *rbacv1.ClusterRoleBinding:
		return validateClusterRoleBinding(o)
	// storage.k8s.io/v1
	case *storagev1.StorageClass:
		return validateStorageClass(o)
	case *storagev1.CSIDriver:
		return validateCSIDriver(o)
	case *storagev1.CSINode:
		return validateCSINode(o)
	case *storagev1.VolumeAttachment:
		return validateVolumeAttachment(o)
	case *storagev1.CSIStorageCapacity:
		return validateCSIStorageCapacity(o)
	// resource.k8s.io/v1
	case *resourcev1.DeviceClass:
		return validateDeviceClass(o)
	case *resourcev1.ResourceClaim:
		return validateResourceClaim(o)
	case *resourcev1.ResourceClaimTemplate:
		return validateResourceClaimTemplate(o)
	case *resourcev1.ResourceSlice:
		return validateResourceSlice(o)
	case *resourcev1.DeviceTaintRule:
		return validateDeviceTaintRule(o)
	// certificates.k8s.io/v1
	case *certificatesv1.CertificateSigningRequest:
		return validateCSR(o)
	// coordination.k8s.io/v1
	case *coordinationv1.Lease:
		return validateLease(o)
	// discovery.k8s.io/v1
	case *discoveryv1.EndpointSlice:
		return validateEndpointSlice(o)
	// policy/v1
	case *policyv1.PodDisruptionBudget:
		return validatePDB(o)
	// scheduling.k8s.io/v1
	case *schedulingv1.PriorityClass:
		return validatePriorityClass(o)
	// node.k8s.io/v1
	case *nodev1.RuntimeClass:
		return validateRuntimeClass(o)
	// admissionregistration.k8s.io/v1
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		return validateValidatingWebhookConfiguration(o)
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		return validateMutatingWebhookConfiguration(o)
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		return validateValidatingAdmissionPolicy(o)
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		return validateValidatingAdmissionPolicyBinding(o)
	// apiextensions.k8s.io/v1
	case *apiextensionsv1.CustomResourceDefinition:
		return validateCRD(o)
	}
	return nil
}

// ValidateUpdate returns the errors of an update of old to obj, including
// immutable fields (and beyond top-level ObjectMeta's update rules, which the
// registry checks itself). old must be of the same type as obj; otherwise,
// and for unknown kinds, it returns nil.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Namespace:
		if _, ok := old.(*corev1.Namespace); ok {
			return nil
		}
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok {
			return validatePodUpdate(o, p)
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok {
			return validateServiceUpdate(o, p)
		}
	case *corev1.Endpoints:
		if _, ok := old.(*corev1.Endpoints); ok {
			return validateEndpoints(o)
		}
	case *corev1.ConfigMap:
		if p, ok := old.(*corev1.ConfigMap); ok {
			return validateConfigMapUpdate(o, p)
		}
	case *corev1.Secret:
		if p, ok := old.(*corev1.Secret); ok {
			return validateSecretUpdate(o, p)
		}
	case *corev1.ServiceAccount:
		return nil
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok {
			return validateNodeUpdate(o, p)
		}
	case *corev1.Event:
		if p, ok := old.(*corev1.Event); ok {
			return validateEventUpdate(o, p)
		}
	case *corev1.PersistentVolume:
		if p, ok := old.(*corev1.PersistentVolume); ok {
			return validatePersistentVolumeUpdate(o, p)
		}
	case *corev1.PersistentVolumeClaim:
		if p, ok := old.(*corev1.PersistentVolumeClaim); ok {
			return validatePersistentVolumeClaimUpdate(o, p)
		}
	case *corev1.ResourceQuota:
		if p, ok := old.(*corev1.ResourceQuota); ok {
			return validateResourceQuotaUpdate(o, p)
		}
	case *corev1.LimitRange:
		if _, ok := old.(*corev1.LimitRange); ok {
			return validateLimitRange(o)
		}
	case *corev1.PodTemplate:
		if _, ok := old.(*corev1.PodTemplate); ok {
			return validatePodTemplate(o)
		}
	case *corev1.ReplicationController:
		if _, ok := old.(*corev1.ReplicationController); ok {
			return validateReplicationController(o)
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok {
			return validateDeploymentUpdate(o, p)
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok {
			return validateReplicaSetUpdate(o, p)
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok {
			return validateStatefulSetUpdate(o, p)
		}
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok {
			return validateDaemonSetUpdate(o, p)
		}
	case *appsv1.ControllerRevision:
		if p, ok := old.(*appsv1.ControllerRevision); ok {
			return validateControllerRevisionUpdate(o, p)
		}
	case *batchv1.Job:
		if p, ok := old.(*batchv1.Job); ok {
			return validateJobUpdate(o, p)
		}
	case *batchv1.CronJob:
		if p, ok := old.(*batchv1.CronJob); ok {
			return validateCronJobUpdate(o, p)
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if _, ok := old.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			return validateHPA(o)
		}
	case *networkingv1.Ingress:
		if _, ok := old.(*networkingv1.Ingress); ok {
			return validateIngress(o)
		}
	case *networkingv1.IngressClass:
		if p, ok := old.(*networkingv1.IngressClass); ok {
			return validateIngressClassUpdate(o, p)
		}
	case *networkingv1.NetworkPolicy:
		if _, ok := old.(*networkingv1.NetworkPolicy); ok {
			return validateNetworkPolicy(o)
		}
	case *networkingv1.ServiceCIDR:
		if p, ok := old.(*networkingv1.ServiceCIDR); ok {
			return validateServiceCIDRUpdate(o, p)
		}
	case *networkingv1.IPAddress:
		if p, ok := old.(*networkingv1.IPAddress); ok {
			return validateIPAddressUpdate(o, p)
		}
	case *rbacv1.Role:
		if _, ok := old.(*rbacv1.Role); ok {
			return validateRole(o)
		}
	case *rbacv1.ClusterRole:
		if _, ok := old.(*rbacv1.ClusterRole); ok {
			return validateClusterRole(o)
		}
	case *rbacv1.RoleBinding:
		if p, ok := old.(*rbacv1.RoleBinding); ok {
			return validateRoleBindingUpdate(o, p)
		}
	case *rbacv1.ClusterRoleBinding:
		if p, ok := old.(*rbacv1.ClusterRoleBinding); ok {
			return validateClusterRoleBindingUpdate(o, p)
		}
	case *storagev1.StorageClass:
		if p, ok := old.(*storagev1.StorageClass); ok {
			return validateStorageClassUpdate(o, p)
		}
	case *storagev1.CSIDriver:
		if p, ok := old.(*storagev1.CSIDriver); ok {
			return validateCSIDriverUpdate(o, p)
		}
	case *storagev1.CSINode:
		if p, ok := old.(*storagev1.CSINode); ok {
			return validateCSINodeUpdate(o, p)
		}
	case *storagev1.VolumeAttachment:
		if p, ok := old.(*storagev1.VolumeAttachment); ok {
			return validateVolumeAttachmentUpdate(o, p)
		}
	case *storagev1.CSIStorageCapacity:
		if p, ok := old.(*storagev1.CSIStorageCapacity); ok {
			return validateCSIStorageCapacityUpdate(o, p)
		}
	case *resourcev1.DeviceClass:
		if p, ok := old.(*resourcev1.DeviceClass); ok {
			return validateDeviceClassUpdate(o, p)
		}
	case *resourcev1.ResourceClaim:
		if p, ok := old.(*resourcev1.ResourceClaim); ok {
			return validateResourceClaimUpdate(o, p)
		}
	case *resourcev1.ResourceClaimTemplate:
		if p, ok := old.(*resourcev1.ResourceClaimTemplate); ok {
			return validateResourceClaimTemplateUpdate(o, p)
		}
	case *resourcev1.ResourceSlice:
		if p, ok := old.(*resourcev1.ResourceSlice); ok {
			return validateResourceSliceUpdate(o, p)
		}
	case *resourcev1.DeviceTaintRule:
		if p, ok := old.(*resourcev1.DeviceTaintRule); ok {
			return validateDeviceTaintRuleUpdate(o, p)
		}
	case *certificatesv1.CertificateSigningRequest:
		if p, ok := old.(*certificatesv1.CertificateSigningRequest); ok {
			return validateCSRUpdate(o, p)
		}
	case *coordinationv1.Lease:
		if _, ok := old.(*coordinationv1.Lease); ok {
			return validateLease(o)
		}
	case *discoveryv1.EndpointSlice:
		if p, ok := old.(*discoveryv1.EndpointSlice); ok {
			return validateEndpointSliceUpdate(o, p)
		}
	case *policyv1.PodDisruptionBudget:
		if _, ok := old.(*policyv1.PodDisruptionBudget); ok {
			return validatePDB(o)
		}
	case *schedulingv1.PriorityClass:
		if p, ok := old.(*schedulingv1.PriorityClass); ok {
			return validatePriorityClassUpdate(o, p)
		}
	case *nodev1.RuntimeClass:
		if p, ok := old.(*nodev1.RuntimeClass); ok {
			return validateRuntimeClassUpdate(o, p)
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		if _, ok := old.(*admissionregistrationv1.ValidatingWebhookConfiguration); ok {
			return validateValidatingWebhookConfiguration(o)
		}
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		if _, ok := old.(*admissionregistrationv1.MutatingWebhookConfiguration); ok {
			return validateMutatingWebhookConfiguration(o)
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		if _, ok := old.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
			return validateValidatingAdmissionPolicy(o)
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		if _, ok := old.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
			return validateValidatingAdmissionPolicyBinding(o)
		}
	case *apiextensionsv1.CustomResourceDefinition:
		if p, ok := old.(*apiextensionsv1.CustomResourceDefinition); ok {
			return validateCRDUpdate(o, p)
		}
	}
	return nil
}

// ValidateStatusUpdate returns the errors of a status subresource update of
// old to obj. It checks the status fields upstream checks for the common
// kinds; for the others it returns nil.
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Namespace:
		return validateNamespaceStatus(o)
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok {
			return validatePodStatusUpdate(o, p)
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok {
			return validateNodeUpdate(o, p)
		}
	case *corev1.ReplicationController:
		return validateReplicaCounts(o.Status.Replicas, o.Status.FullyLabeledReplicas, o.Status.ReadyReplicas, o.Status.AvailableReplicas, o.Status.ObservedGeneration, field.NewPath("status"))
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok {
			return validateDeploymentStatusUpdate(o, p)
		}
	case *appsv1.ReplicaSet:
		return validateReplicaCounts(o.Status.Replicas, o.Status.FullyLabeledReplicas, o.Status.ReadyReplicas, o.Status.AvailableReplicas, o.Status.ObservedGeneration, field.NewPath("status"))
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok {
			return validateStatefulSetStatusUpdate(o, p)
		}
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok {
			return validateDaemonSetStatusUpdate(o, p)
		}
	case *batchv1.Job:
		return validateJobStatus(&o.Status, field.NewPath("status"))
	case *corev1.ResourceQuota:
		return validateResourceQuotaStatus(&o.Status, field.NewPath("status"))
	case *resourcev1.ResourceClaim:
		if p, ok := old.(*resourcev1.ResourceClaim); ok {
			return validateResourceClaimStatusUpdate(o, p)
		}
	case *resourcev1.DeviceTaintRule:
		return validateDeviceTaintRuleStatus(o)
	}
	return nil
}
