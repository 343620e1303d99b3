package defaults

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// testNow is the clock of defaulting in tests: it dates device taints.
var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

var update = flag.Bool("update", false, "rewrite testdata/*.defaulted.yaml from the current output")

// servedKinds is the list of kinds skiff serves, written independently of scheme.go.
var servedKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Namespace"}, {Version: "v1", Kind: "Pod"}, {Version: "v1", Kind: "Service"},
	{Version: "v1", Kind: "Endpoints"}, {Version: "v1", Kind: "ConfigMap"}, {Version: "v1", Kind: "Secret"},
	{Version: "v1", Kind: "ServiceAccount"}, {Version: "v1", Kind: "Node"}, {Version: "v1", Kind: "Event"},
	{Version: "v1", Kind: "PersistentVolume"}, {Version: "v1", Kind: "PersistentVolumeClaim"},
	{Version: "v1", Kind: "ResourceQuota"}, {Version: "v1", Kind: "LimitRange"}, {Version: "v1", Kind: "PodTemplate"},
	{Version: "v1", Kind: "ReplicationController"},
	{Group: "apps", Version: "v1", Kind: "Deployment"}, {Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}, {Group: "apps", Version: "v1", Kind: "DaemonSet"},
	{Group: "apps", Version: "v1", Kind: "ControllerRevision"},
	{Group: "batch", Version: "v1", Kind: "Job"}, {Group: "batch", Version: "v1", Kind: "CronJob"},
	{Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler"},
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}, {Group: "networking.k8s.io", Version: "v1", Kind: "IngressClass"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}, {Group: "networking.k8s.io", Version: "v1", Kind: "ServiceCIDR"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "IPAddress"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"},
	{Group: "storage.k8s.io", Version: "v1", Kind: "StorageClass"}, {Group: "storage.k8s.io", Version: "v1", Kind: "CSIDriver"},
	{Group: "storage.k8s.io", Version: "v1", Kind: "CSINode"}, {Group: "storage.k8s.io", Version: "v1", Kind: "VolumeAttachment"},
	{Group: "storage.k8s.io", Version: "v1", Kind: "CSIStorageCapacity"},
	{Group: "resource.k8s.io", Version: "v1", Kind: "DeviceClass"}, {Group: "resource.k8s.io", Version: "v1", Kind: "ResourceClaim"},
	{Group: "resource.k8s.io", Version: "v1", Kind: "ResourceClaimTemplate"}, {Group: "resource.k8s.io", Version: "v1", Kind: "ResourceSlice"},
	{Group: "resource.k8s.io", Version: "v1", Kind: "DeviceTaintRule"},
	{Group: "certificates.k8s.io", Version: "v1", Kind: "CertificateSigningRequest"},
	{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"},
	{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"},
	{Group: "events.k8s.io", Version: "v1", Kind: "Event"},
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
	{Group: "scheduling.k8s.io", Version: "v1", Kind: "PriorityClass"},
	{Group: "node.k8s.io", Version: "v1", Kind: "RuntimeClass"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingWebhookConfiguration"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingWebhookConfiguration"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicy"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicyBinding"},
	{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"},
}

// typesScheme knows the Go types of the served kinds, for decoding test manifests.
func typesScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, autoscalingv1.AddToScheme, autoscalingv2.AddToScheme,
		networkingv1.AddToScheme, rbacv1.AddToScheme, storagev1.AddToScheme, certificatesv1.AddToScheme,
		coordinationv1.AddToScheme, discoveryv1.AddToScheme, eventsv1.AddToScheme, policyv1.AddToScheme,
		schedulingv1.AddToScheme, nodev1.AddToScheme, admissionregistrationv1.AddToScheme, apiextensionsv1.AddToScheme,
		resourcev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func defaultingScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := AddToSchemeWithClock(s, func() time.Time { return testNow }); err != nil {
		t.Fatal(err)
	}
	return s
}

// decode reads a YAML manifest into the typed object named by its apiVersion and kind,
// rejecting unknown fields so that a typo in a manifest cannot go unnoticed.
func decode(t *testing.T, types *runtime.Scheme, data []byte) runtime.Object {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		t.Fatal(err)
	}
	obj, err := types.New(tm.GroupVersionKind())
	if err != nil {
		t.Fatalf("kind %v: %v", tm.GroupVersionKind(), err)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func encode(t *testing.T, obj runtime.Object) []byte {
	t.Helper()
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden defaults every testdata/<case>.yaml and compares the result with
// testdata/<case>.defaulted.yaml, whose content was checked against upstream's defaulting
// code. It also checks that defaulting is idempotent on the result and on the golden file.
func TestGolden(t *testing.T) {
	types, defaulting := typesScheme(t), defaultingScheme(t)
	inputs, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, input := range inputs {
		if strings.HasSuffix(input, ".defaulted.yaml") {
			continue
		}
		cases++
		name := strings.TrimSuffix(filepath.Base(input), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(input)
			if err != nil {
				t.Fatal(err)
			}
			obj := decode(t, types, data)
			defaulting.Default(obj)
			got := encode(t, obj)

			goldenPath := filepath.Join("testdata", name+".defaulted.yaml")
			if *update {
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("defaulted %s differs from %s:\n--- got\n%s\n--- want\n%s", input, goldenPath, got, want)
			}

			defaulting.Default(obj)
			if again := encode(t, obj); !bytes.Equal(again, got) {
				t.Errorf("defaulting twice is not idempotent:\n--- once\n%s\n--- twice\n%s", got, again)
			}
			golden := decode(t, types, want)
			defaulting.Default(golden)
			if again := encode(t, golden); !bytes.Equal(again, want) {
				t.Errorf("defaulting %s changes it:\n%s", goldenPath, again)
			}
		})
	}
	if cases == 0 {
		t.Fatal("no test manifests in testdata")
	}
}

// TestAddToSchemeCoversServedKinds checks that every served kind and its List kind has a
// registered defaulting function, that nothing else is registered, and that defaulting zero
// objects (and a list of one zero item) does not panic.
func TestAddToSchemeCoversServedKinds(t *testing.T) {
	types, defaulting := typesScheme(t), defaultingScheme(t)
	registered := map[reflect.Type]bool{}
	for _, d := range defaulters(time.Now) {
		typ := reflect.TypeOf(d.obj)
		if registered[typ] {
			t.Errorf("%v is registered twice", typ)
		}
		registered[typ] = true
	}
	want := map[reflect.Type]bool{}
	for _, gvk := range servedKinds {
		for _, k := range []string{gvk.Kind, gvk.Kind + "List"} {
			g := gvk
			g.Kind = k
			obj, err := types.New(g)
			if err != nil {
				t.Fatalf("%v: %v", g, err)
			}
			typ := reflect.TypeOf(obj)
			want[typ] = true
			if !registered[typ] {
				t.Errorf("no defaulting function registered for %v", g)
			}
			defaulting.Default(obj)
		}
		list, _ := types.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		items := reflect.ValueOf(list).Elem().FieldByName("Items")
		items.Set(reflect.MakeSlice(items.Type(), 1, 1))
		defaulting.Default(list)
	}
	for typ := range registered {
		if !want[typ] {
			t.Errorf("%v is registered but not a served kind", typ)
		}
	}
}

// TestListDefaultsItems checks that a List's defaulting function defaults its items.
func TestListDefaultsItems(t *testing.T) {
	defaulting := defaultingScheme(t)
	list := &corev1.SecretList{Items: []corev1.Secret{{}, {Type: corev1.SecretTypeTLS}}}
	defaulting.Default(list)
	if list.Items[0].Type != corev1.SecretTypeOpaque || list.Items[1].Type != corev1.SecretTypeTLS {
		t.Errorf("got types %q and %q", list.Items[0].Type, list.Items[1].Type)
	}
}

func TestPullPolicyForImage(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                        corev1.PullAlways,
		"nginx:latest":                 corev1.PullAlways,
		"nginx:1.27":                   corev1.PullIfNotPresent,
		"localhost:5000/app":           corev1.PullAlways,
		"localhost:5000/app:v2":        corev1.PullIfNotPresent,
		"Registry.Example/team/app":    corev1.PullAlways,
		"nginx@sha256:" + hex64:        corev1.PullIfNotPresent,
		"nginx:latest@sha256:" + hex64: corev1.PullAlways,
		"nginx@sha256:abc":             corev1.PullIfNotPresent, // invalid digest: no tag
		"Nginx":                        corev1.PullIfNotPresent, // not a valid reference
		"":                             corev1.PullIfNotPresent,
		hex64:                          corev1.PullIfNotPresent, // bare image ID
	} {
		if got := pullPolicyForImage(image); got != want {
			t.Errorf("pullPolicyForImage(%q) = %s, want %s", image, got, want)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
