package validation

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateOtherGroups(t *testing.T) {
	one, fifty := intstr.FromInt32(1), intstr.FromString("50%")
	roleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"}
	cases := []struct {
		name string
		obj  runtime.Object
		want []want
	}{
		{"valid role", &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}, nil},
		{"role rule without verbs", &rbacv1.Role{Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}}}, []want{
			required("rules[0].verbs", "rules[0].verbs: Required value: verbs must contain at least one value"),
		}},
		{"namespaced non-resource URLs", &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}}, []want{
			invalid("rules[0].nonResourceURLs", `rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs`),
		}},
		{"binding subject kind", &rbacv1.RoleBinding{RoleRef: roleRef, Subjects: []rbacv1.Subject{{Kind: "Robot", Name: "r2"}}}, []want{
			unsupported("subjects[0].kind", `subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`),
		}},
		{"cluster binding to a Role", &rbacv1.ClusterRoleBinding{RoleRef: roleRef, Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "sa"}}}, []want{
			unsupported("roleRef.kind", `roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`),
			required("subjects[0].namespace", "subjects[0].namespace: Required value"),
		}},
		{"lease duration", &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr(int32(0))}}, []want{
			invalid("spec.leaseDurationSeconds", "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"),
		}},
		{"valid endpoint slice", &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.2.3"}}},
			Ports:     []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80)), Protocol: ptr(corev1.ProtocolTCP)}},
		}, nil},
		{"endpoint slice address type", &discoveryv1.EndpointSlice{AddressType: "IPv5"}, []want{
			unsupported("addressType", `addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"`),
		}},
		{"endpoint slice loopback", &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}}}}, []want{
			invalid("endpoints[0].addresses[0]", `endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`),
		}},
		{"pdb both set", &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, MaxUnavailable: &fifty}}, []want{
			invalid("spec", `spec: Invalid value: {"MinAvailable":1,"Selector":null,"MaxUnavailable":"50%","UnhealthyPodEvictionPolicy":null}: minAvailable and maxUnavailable cannot be both set`),
		}},
		{"pdb percentage", &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromString("150%"))}}, []want{
			invalid("spec.minAvailable", `spec.minAvailable: Invalid value: "150%": must not be greater than 100%`),
		}},
		{"priority class too high", &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "vip"}, Value: 2000000000}, []want{
			forbidden("value", "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"),
		}},
		{"priority class reserved prefix", &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-mine"}, Value: 5}, []want{
			forbidden("metadata.name", "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"),
		}},
		{"hpa replicas", &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    ptr(int32(5)), MaxReplicas: 2,
		}}, []want{
			invalid("spec.maxReplicas", "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"),
		}},
		{"hpa resource metric target", &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    ptr(int32(1)), MaxReplicas: 3,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType},
			}}},
		}}, []want{
			required("spec.metrics[0].resource.target.averageUtilization", "spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization"),
		}},
		{"storage class binding mode", &storagev1.StorageClass{Provisioner: "ebs.csi.aws.com", ReclaimPolicy: ptr(corev1.PersistentVolumeReclaimDelete)}, []want{
			required("volumeBindingMode", "volumeBindingMode: Required value"),
		}},
		{"runtime class handler", &nodev1.RuntimeClass{Handler: "Run_C"}, []want{
			invalid("handler", `handler: Invalid value: "Run_C": `+dns1123LabelMsg),
		}},
		{"csr request and signer", &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: []byte("x"), SignerName: "example", Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth},
		}}, []want{
			invalid("spec.request", `spec.request: Invalid value: "eA==": PEM block type must be CERTIFICATE REQUEST`),
			invalid("spec.signerName", `spec.signerName: Invalid value: "example": must be a fully qualified domain and path of the form 'example.com/signer-name'`),
		}},
		{"webhook client config", &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "check.example.com", SideEffects: ptr(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
		}}}, []want{
			required("webhooks[0].clientConfig", "webhooks[0].clientConfig: Required value: exactly one of url or service is required"),
		}},
		{"policy binding actions", &admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p"}}, []want{
			required("spec.validationActions", "spec.validationActions: Required value: at least one validation action is required"),
		}},
		{"crd group and name", &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "example", Scope: apiextensionsv1.NamespaceScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object"}}}},
			},
		}, []want{
			invalid("metadata.name", `metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group`),
			invalid("spec.group", `spec.group: Invalid value: "example": should be a domain with at least one dot`),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	oldRB := &rbacv1.RoleBinding{RoleRef: roleRef}
	newRB := &rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "writer"}}
	checkErrs(t, ValidateUpdate(newRB, oldRB), []want{
		invalid("roleRef", `roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"Role","Name":"writer"}: cannot change roleRef`),
	})
}
