package defaults

import (
	"reflect"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
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

// AddToScheme registers a defaulting function for every kind skiff serves and for its List
// kind (which defaults each item), so that scheme.Default(obj) applies upstream
// kube-apiserver v1.37's scheme defaults to the external versioned object. Kinds without
// upstream defaults get a function that changes nothing, so every served kind is covered.
// Registry-strategy mutations are not applied: see the PrepareForCreate functions.
func AddToScheme(s *runtime.Scheme) error {
	return AddToSchemeWithClock(s, time.Now)
}

// AddToSchemeWithClock is AddToScheme with the clock that dates what defaulting stamps with
// the current time (a device taint's timeAdded).
func AddToSchemeWithClock(s *runtime.Scheme, now func() time.Time) error {
	for _, d := range defaulters(now) {
		s.AddTypeDefaultingFunc(d.obj, d.fn)
	}
	return nil
}

// defaulter is one registration: a zero object of the type and its defaulting function.
type defaulter struct {
	obj runtime.Object
	fn  func(interface{})
}

// defaulters lists the registrations, grouped as in the package's files.
func defaulters(now func() time.Time) []defaulter {
	return concat(
		// core/v1
		kind(&corev1.Namespace{}, &corev1.NamespaceList{}, defaultNamespace),
		kind(&corev1.Pod{}, &corev1.PodList{}, defaultPod),
		kind(&corev1.Service{}, &corev1.ServiceList{}, defaultService),
		kind(&corev1.Endpoints{}, &corev1.EndpointsList{}, defaultEndpoints),
		kind(&corev1.ConfigMap{}, &corev1.ConfigMapList{}, defaultConfigMap),
		kind(&corev1.Secret{}, &corev1.SecretList{}, defaultSecret),
		kind(&corev1.ServiceAccount{}, &corev1.ServiceAccountList{}, none[*corev1.ServiceAccount]),
		kind(&corev1.Node{}, &corev1.NodeList{}, defaultNode),
		kind(&corev1.Event{}, &corev1.EventList{}, none[*corev1.Event]),
		kind(&corev1.PersistentVolume{}, &corev1.PersistentVolumeList{}, defaultPersistentVolume),
		kind(&corev1.PersistentVolumeClaim{}, &corev1.PersistentVolumeClaimList{}, defaultPersistentVolumeClaim),
		kind(&corev1.ResourceQuota{}, &corev1.ResourceQuotaList{}, defaultResourceQuota),
		kind(&corev1.LimitRange{}, &corev1.LimitRangeList{}, defaultLimitRange),
		kind(&corev1.PodTemplate{}, &corev1.PodTemplateList{}, defaultPodTemplate),
		kind(&corev1.ReplicationController{}, &corev1.ReplicationControllerList{}, defaultReplicationController),
		// apps/v1
		kind(&appsv1.Deployment{}, &appsv1.DeploymentList{}, defaultDeployment),
		kind(&appsv1.ReplicaSet{}, &appsv1.ReplicaSetList{}, defaultReplicaSet),
		kind(&appsv1.StatefulSet{}, &appsv1.StatefulSetList{}, defaultStatefulSet),
		kind(&appsv1.DaemonSet{}, &appsv1.DaemonSetList{}, defaultDaemonSet),
		kind(&appsv1.ControllerRevision{}, &appsv1.ControllerRevisionList{}, none[*appsv1.ControllerRevision]),
		// batch/v1
		kind(&batchv1.Job{}, &batchv1.JobList{}, defaultJob),
		kind(&batchv1.CronJob{}, &batchv1.CronJobList{}, defaultCronJob),
		// autoscaling/v1, autoscaling/v2
		kind(&autoscalingv1.HorizontalPodAutoscaler{}, &autoscalingv1.HorizontalPodAutoscalerList{}, defaultHorizontalPodAutoscalerV1),
		kind(&autoscalingv2.HorizontalPodAutoscaler{}, &autoscalingv2.HorizontalPodAutoscalerList{}, defaultHorizontalPodAutoscalerV2),
		// networking.k8s.io/v1
		kind(&networkingv1.Ingress{}, &networkingv1.IngressList{}, none[*networkingv1.Ingress]),
		kind(&networkingv1.IngressClass{}, &networkingv1.IngressClassList{}, defaultIngressClass),
		kind(&networkingv1.NetworkPolicy{}, &networkingv1.NetworkPolicyList{}, defaultNetworkPolicy),
		kind(&networkingv1.ServiceCIDR{}, &networkingv1.ServiceCIDRList{}, none[*networkingv1.ServiceCIDR]),
		kind(&networkingv1.IPAddress{}, &networkingv1.IPAddressList{}, none[*networkingv1.IPAddress]),
		// rbac.authorization.k8s.io/v1
		kind(&rbacv1.Role{}, &rbacv1.RoleList{}, none[*rbacv1.Role]),
		kind(&rbacv1.ClusterRole{}, &rbacv1.ClusterRoleList{}, none[*rbacv1.ClusterRole]),
		kind(&rbacv1.RoleBinding{}, &rbacv1.RoleBindingList{}, defaultRoleBinding),
		kind(&rbacv1.ClusterRoleBinding{}, &rbacv1.ClusterRoleBindingList{}, defaultClusterRoleBinding),
		// storage.k8s.io/v1
		kind(&storagev1.StorageClass{}, &storagev1.StorageClassList{}, defaultStorageClass),
		kind(&storagev1.CSIDriver{}, &storagev1.CSIDriverList{}, defaultCSIDriver),
		kind(&storagev1.CSINode{}, &storagev1.CSINodeList{}, none[*storagev1.CSINode]),
		kind(&storagev1.VolumeAttachment{}, &storagev1.VolumeAttachmentList{}, defaultVolumeAttachment),
		kind(&storagev1.CSIStorageCapacity{}, &storagev1.CSIStorageCapacityList{}, none[*storagev1.CSIStorageCapacity]),
		// resource.k8s.io/v1
		kind(&resourcev1.DeviceClass{}, &resourcev1.DeviceClassList{}, none[*resourcev1.DeviceClass]),
		kind(&resourcev1.ResourceClaim{}, &resourcev1.ResourceClaimList{}, defaultResourceClaim),
		kind(&resourcev1.ResourceClaimTemplate{}, &resourcev1.ResourceClaimTemplateList{}, defaultResourceClaimTemplate),
		kind(&resourcev1.ResourceSlice{}, &resourcev1.ResourceSliceList{}, resourceSliceDefaulter(now)),
		kind(&resourcev1.DeviceTaintRule{}, &resourcev1.DeviceTaintRuleList{}, deviceTaintRuleDefaulter(now)),
		// Groups with one kind each.
		kind(&certificatesv1.CertificateSigningRequest{}, &certificatesv1.CertificateSigningRequestList{}, none[*certificatesv1.CertificateSigningRequest]),
		kind(&coordinationv1.Lease{}, &coordinationv1.LeaseList{}, none[*coordinationv1.Lease]),
		kind(&discoveryv1.EndpointSlice{}, &discoveryv1.EndpointSliceList{}, defaultEndpointSlice),
		kind(&eventsv1.Event{}, &eventsv1.EventList{}, none[*eventsv1.Event]),
		kind(&policyv1.PodDisruptionBudget{}, &policyv1.PodDisruptionBudgetList{}, none[*policyv1.PodDisruptionBudget]),
		kind(&schedulingv1.PriorityClass{}, &schedulingv1.PriorityClassList{}, defaultPriorityClass),
		kind(&nodev1.RuntimeClass{}, &nodev1.RuntimeClassList{}, none[*nodev1.RuntimeClass]),
		// admissionregistration.k8s.io/v1
		kind(&admissionregistrationv1.ValidatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfigurationList{}, defaultValidatingWebhookConfiguration),
		kind(&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.MutatingWebhookConfigurationList{}, defaultMutatingWebhookConfiguration),
		kind(&admissionregistrationv1.ValidatingAdmissionPolicy{}, &admissionregistrationv1.ValidatingAdmissionPolicyList{}, defaultValidatingAdmissionPolicy),
		kind(&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{}, defaultValidatingAdmissionPolicyBinding),
		// apiextensions.k8s.io/v1
		kind(&apiextensionsv1.CustomResourceDefinition{}, &apiextensionsv1.CustomResourceDefinitionList{}, defaultCustomResourceDefinition),
	)
}

// kind returns the registrations of an object type and its List type. The List function
// applies fn to every element of the list's Items.
func kind[T runtime.Object](obj T, list runtime.Object, fn func(T)) []defaulter {
	return []defaulter{
		{obj: obj, fn: func(o interface{}) { fn(o.(T)) }},
		{obj: list, fn: func(o interface{}) {
			items := reflect.ValueOf(o).Elem().FieldByName("Items")
			for i := 0; i < items.Len(); i++ {
				fn(items.Index(i).Addr().Interface().(T))
			}
		}},
	}
}

// none is the defaulting function of kinds that upstream does not default.
func none[T runtime.Object](T) {}

func concat(groups ...[]defaulter) []defaulter {
	var out []defaulter
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
