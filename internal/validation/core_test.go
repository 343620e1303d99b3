package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// validService returns a defaulted ClusterIP service with one port.
func validService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeClusterIP,
			Selector:              map[string]string{"app": "web"},
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
			ClusterIP:             "10.0.0.10",
			ClusterIPs:            []string{"10.0.0.10"},
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy:        ptr(corev1.IPFamilyPolicySingleStack),
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: ptr(corev1.ServiceInternalTrafficPolicyCluster),
		},
	}
}

func TestValidateService(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Service)
		want   []want
	}{
		{"valid", func(*corev1.Service) {}, nil},
		{"ports required", func(s *corev1.Service) { s.Spec.Ports = nil }, []want{
			required("spec.ports", "spec.ports: Required value"),
		}},
		{"port names required with several ports", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443, TargetPort: intstr.FromInt32(8443), Protocol: corev1.ProtocolTCP})
		}, []want{
			required("spec.ports[1].name", "spec.ports[1].name: Required value"),
		}},
		{"port out of range", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }, []want{
			invalid("spec.ports[0].port", "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
		}},
		{"type enum", func(s *corev1.Service) { s.Spec.Type = "Internal" }, []want{
			unsupported("spec.type", `spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`),
		}},
		{"nodePort on ClusterIP", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }, []want{
			forbidden("spec.ports[0].nodePort", "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
		}},
		{"duplicate port", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "http2", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP})
		}, []want{
			duplicate("spec.ports[1]", `spec.ports[1]: Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,"NodePort":0}`),
		}},
		{"clusterIPs must match clusterIP", func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.0.0.11"} }, []want{
			invalid("spec.clusterIPs", "spec.clusterIPs: Invalid value: [\"10.0.0.11\"]: first value must match `clusterIP`"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validService()
			tc.mutate(s)
			checkErrs(t, ValidateCreate(s), tc.want)
		})
	}

	old := validService()
	s := old.DeepCopy()
	s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.20", []string{"10.0.0.20"}
	checkErrs(t, ValidateUpdate(s, old), []want{
		invalid("spec.clusterIPs[0]", `spec.clusterIPs[0]: Invalid value: ["10.0.0.20"]: may not change once set`),
	})
}

func TestValidateConfigMapAndSecret(t *testing.T) {
	big := strings.Repeat("x", maxSecretSize+1)
	cases := []struct {
		name string
		obj  runtime.Object
		want []want
	}{
		{"valid configmap", &corev1.ConfigMap{Data: map[string]string{"app.conf": "x"}, BinaryData: map[string][]byte{"logo.png": {1}}}, nil},
		{"configmap bad key", &corev1.ConfigMap{Data: map[string]string{"a b": "x"}}, []want{
			invalid("data[a b]", `data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`),
		}},
		{"configmap key in both bags", &corev1.ConfigMap{Data: map[string]string{"k": "x"}, BinaryData: map[string][]byte{"k": {1}}}, []want{
			invalid("data[k]", `data[k]: Invalid value: "k": duplicate of key present in binaryData`),
		}},
		{"configmap too large", &corev1.ConfigMap{Data: map[string]string{"k": big}}, []want{
			tooLong("[]", "[]: Too long: may not be more than 1048576 bytes"),
		}},
		{"valid opaque secret", &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte("x")}}, nil},
		{"secret too large", &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte(big)}}, []want{
			tooLong("data", "data: Too long: may not be more than 1048576 bytes"),
		}},
		{"tls secret keys required", &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("x")}}, []want{
			required("data[tls.key]", "data[tls.key]: Required value"),
		}},
		{"dockerconfigjson must be JSON", &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{")}}, []want{
			invalid("data[.dockerconfigjson]", `data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input`),
		}},
		{"service account token needs annotation", &corev1.Secret{Type: corev1.SecretTypeServiceAccountToken}, []want{
			required("metadata.annotations[kubernetes.io/service-account.name]", "metadata.annotations[kubernetes.io/service-account.name]: Required value"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	oldS := &corev1.Secret{Type: corev1.SecretTypeOpaque, Immutable: ptr(true), Data: map[string][]byte{"k": []byte("a")}}
	newS := &corev1.Secret{Type: corev1.SecretTypeTLS, Immutable: ptr(true), Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}
	checkErrs(t, ValidateUpdate(newS, oldS), []want{
		invalid("type", `type: Invalid value: "kubernetes.io/tls": field is immutable`),
		forbidden("data", "data: Forbidden: field is immutable when `immutable` is set"),
	})
	oldC := &corev1.ConfigMap{Immutable: ptr(true), Data: map[string]string{"k": "a"}}
	newC := &corev1.ConfigMap{Data: map[string]string{"k": "a"}}
	checkErrs(t, ValidateUpdate(newC, oldC), []want{
		forbidden("immutable", "immutable: Forbidden: field is immutable when `immutable` is set"),
	})
}

func TestValidateOtherCoreKinds(t *testing.T) {
	rcTemplate := validTemplate(map[string]string{"app": "web"})
	cases := []struct {
		name string
		obj  runtime.Object
		want []want
	}{
		{"namespace finalizer", &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes", "custom"}}}, []want{
			invalid("spec.finalizers", `spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified`),
		}},
		{"node taint effect", &corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: "Never"}}}}, []want{
			unsupported("metadata.taints[0].effect", `metadata.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`),
		}},
		{"node pod CIDR", &corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.0.0.0/33"}}}, []want{
			invalid("spec.podCIDRs[0]", `spec.podCIDRs[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`),
		}},
		{"valid replication controller", &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr(int32(1)), Selector: map[string]string{"app": "web"}, Template: &rcTemplate,
		}}, nil},
		{"replication controller selector mismatch", &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr(int32(1)), Selector: map[string]string{"app": "api"}, Template: &rcTemplate,
		}}, []want{
			invalid("spec.template.metadata.labels", "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"),
		}},
		{"pod template invalid container", &corev1.PodTemplate{Template: func() corev1.PodTemplateSpec {
			t := validTemplate(nil)
			t.Spec.Containers[0].Name = ""
			return t
		}()}, []want{
			required("template.spec.containers[0].name", "template.spec.containers[0].name: Required value"),
		}},
		{"endpoints need addresses", &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}}, []want{
			required("subsets[0]", "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"),
		}},
		{"pvc storage request required", &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeMode: ptr(corev1.PersistentVolumeFilesystem),
		}}, []want{
			required("spec.resources[storage]", "spec.resources[storage]: Required value"),
		}},
		{"pvc access mode enum", &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{"ReadWriteSometimes"},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}, []want{
			unsupported("spec.accessModes", `spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`),
		}},
		{"limit range min above max", &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer,
			Min:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			Max:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		}}}}, []want{
			invalid("spec.limits[0].min[cpu]", `spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1`),
		}},
		{"resource quota non-integer pods", &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1500m")}}}, []want{
			invalid("spec.hard[pods]", `spec.hard[pods]: Invalid value: "1500m": must be an integer`),
		}},
		{"event namespace mismatch", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "a"}, InvolvedObject: corev1.ObjectReference{Namespace: "b"}}, []want{
			invalid("involvedObject.namespace", `involvedObject.namespace: Invalid value: "b": does not match event.namespace`),
		}},
		{"valid service account", &corev1.ServiceAccount{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	oldNode := &corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.0.0.0/24"}, ProviderID: "aws://1"}}
	newNode := &corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.0.1.0/24"}, ProviderID: "aws://2"}}
	checkErrs(t, ValidateUpdate(newNode, oldNode), []want{
		forbidden("spec.podCIDRs", `spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid`),
		forbidden("spec.providerID", `spec.providerID: Forbidden: node updates may not change providerID except from "" to valid`),
	})
}

func TestNodeDuplicates(t *testing.T) {
	taint := corev1.Taint{Key: "a", Value: "b", Effect: corev1.TaintEffectNoSchedule}
	n := &corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{taint, taint}}}
	checkErrs(t, ValidateCreate(n), []want{
		duplicate("metadata.taints[1]", `metadata.taints[1]: Duplicate value: {"Key":"a","Value":"b","Effect":"NoSchedule","TimeAdded":null}: taints must be unique by key and effect pair`),
	})
	addr := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}
	n = &corev1.Node{Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{addr, addr}}}
	checkErrs(t, ValidateUpdate(n, n.DeepCopy()), []want{
		duplicate("status.addresses[1]", `status.addresses[1]: Duplicate value: {"Type":"InternalIP","Address":"10.0.0.1"}`),
	})
}
