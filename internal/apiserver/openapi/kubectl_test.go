package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

var (
	deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	configMapGVK  = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
)

// kubectlRoot returns the openapi3.Root kubectl builds: client-go's discovery
// client talking HTTP to a server that serves the documents.
func kubectlRoot(t *testing.T) openapi3.Root {
	t.Helper()
	d := testDocuments(t)
	mux := http.NewServeMux()
	mux.Handle("/openapi/v3", d)
	mux.Handle("/openapi/v3/", d)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return openapi3.NewRoot(dc.OpenAPIV3())
}

// gvSpec fetches the document of gvk's group-version through root.
func gvSpec(t *testing.T, root openapi3.Root, gvk schema.GroupVersionKind) *spec3.OpenAPI {
	t.Helper()
	doc, err := root.GVSpec(gvk.GroupVersion())
	if err != nil {
		t.Fatalf("GVSpec(%v): %v", gvk.GroupVersion(), err)
	}
	return doc
}

// schemaForGVK finds, as kubectl explain does, the component schema whose
// x-kubernetes-group-version-kind lists gvk.
func schemaForGVK(doc *spec3.OpenAPI, gvk schema.GroupVersionKind) (string, *spec.Schema) {
	for name, s := range doc.Components.Schemas {
		var gvks []map[string]string
		if err := s.Extensions.GetObject("x-kubernetes-group-version-kind", &gvks); err != nil {
			continue
		}
		for _, g := range gvks {
			if g["group"] == gvk.Group && g["version"] == gvk.Version && g["kind"] == gvk.Kind {
				return name, s
			}
		}
	}
	return "", nil
}

func TestKubectlFindsDeploymentSchema(t *testing.T) {
	root := kubectlRoot(t)
	gvs, err := root.GroupVersions()
	if err != nil || len(gvs) != 4 {
		t.Fatalf("GroupVersions() = %v, %v", gvs, err)
	}
	name, s := schemaForGVK(gvSpec(t, root, deploymentGVK), deploymentGVK)
	if name != "io.k8s.api.apps.v1.Deployment" {
		t.Fatalf("schema for %v is %q", deploymentGVK, name)
	}
	if s.Properties["spec"].AllOf[0].Ref.String() != "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec" {
		t.Errorf("Deployment.spec = %+v", s.Properties["spec"])
	}
}

// supportsQueryParamV3 mirrors cli-runtime's check of the same name
// (pkg/resource/query_param_verifier_v3.go): the first PATCH operation tagged
// with gvk decides, by its own inline parameters.
func supportsQueryParamV3(doc *spec3.OpenAPI, gvk schema.GroupVersionKind, queryParam string) bool {
	for _, path := range doc.Paths.Paths {
		op := path.Patch
		if op == nil {
			continue
		}
		var opGVK map[string]string
		if err := op.Extensions.GetObject("x-kubernetes-group-version-kind", &opGVK); err != nil {
			continue
		}
		if opGVK["group"] != gvk.Group || opGVK["version"] != gvk.Version || opGVK["kind"] != gvk.Kind {
			continue
		}
		for _, param := range op.Parameters {
			if param.Name == queryParam {
				return true
			}
		}
		return false
	}
	return false
}

func TestKubectlSeesFieldValidationSupport(t *testing.T) {
	root := kubectlRoot(t)
	for _, gvk := range []schema.GroupVersionKind{deploymentGVK, configMapGVK} {
		doc := gvSpec(t, root, gvk)
		// The verifier stops at the first matching PATCH operation of a map
		// iteration: every one of them must carry the parameter.
		for i := 0; i < 20; i++ {
			if !supportsQueryParamV3(doc, gvk, "fieldValidation") {
				t.Fatalf("kubectl would think %v does not support fieldValidation", gvk)
			}
		}
		if supportsQueryParamV3(doc, gvk, "noSuchParam") {
			t.Errorf("%v: unknown parameter reported as supported", gvk)
		}
	}
}

// patchMetaV3 returns kubectl's OpenAPI v3 patch meta for the Deployment.
func patchMetaV3(t *testing.T) strategicpatch.PatchMetaFromOpenAPIV3 {
	t.Helper()
	doc := gvSpec(t, kubectlRoot(t), deploymentGVK)
	_, s := schemaForGVK(doc, deploymentGVK)
	if s == nil {
		t.Fatal("no Deployment schema")
	}
	return strategicpatch.PatchMetaFromOpenAPIV3{SchemaList: doc.Components.Schemas, Schema: s}
}

func TestStrategicPatchMetaForContainers(t *testing.T) {
	var meta strategicpatch.LookupPatchMeta = patchMetaV3(t)
	var err error
	for _, field := range []string{"spec", "template", "spec"} {
		if meta, _, err = meta.LookupPatchMetadataForStruct(field); err != nil {
			t.Fatalf("field %s: %v", field, err)
		}
	}
	_, pm, err := meta.LookupPatchMetadataForSlice("containers")
	if err != nil {
		t.Fatal(err)
	}
	if got := pm.GetPatchStrategies(); !reflect.DeepEqual(got, []string{"merge"}) || pm.GetPatchMergeKey() != "name" {
		t.Errorf("spec.template.spec.containers: strategies %v, merge key %q; want [merge], name", got, pm.GetPatchMergeKey())
	}
}

// deployment returns a Deployment running the given containers.
func deployment(containers ...corev1.Container) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: containers},
			},
		},
	}
}

func TestThreeWayMergeMatchesGoStructs(t *testing.T) {
	web := corev1.Container{Name: "web", Image: "nginx:1.25", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}
	sidecar := corev1.Container{Name: "proxy", Image: "envoy:1.30"}
	original := deployment(web)
	modifiedWeb := web
	modifiedWeb.Image = "nginx:1.27"
	modified := deployment(modifiedWeb)
	// The live object also runs a sidecar injected by someone else, which
	// the patch must keep: only a merge on "name" can do that.
	current := deployment(sidecar, web)
	current.Status.Replicas = 1

	var docs [3][]byte
	for i, obj := range []*appsv1.Deployment{original, modified, current} {
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		docs[i] = b
	}
	viaOpenAPI, err := strategicpatch.CreateThreeWayMergePatch(docs[0], docs[1], docs[2], patchMetaV3(t), true)
	if err != nil {
		t.Fatal(err)
	}
	structMeta, err := strategicpatch.NewPatchMetaFromStruct(&appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	viaStruct, err := strategicpatch.CreateThreeWayMergePatch(docs[0], docs[1], docs[2], structMeta, true)
	if err != nil {
		t.Fatal(err)
	}
	var a, b interface{}
	if err := json.Unmarshal(viaOpenAPI, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(viaStruct, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("patch via OpenAPI v3:\n%s\npatch via Go struct:\n%s", viaOpenAPI, viaStruct)
	}
	if !strings.Contains(string(viaOpenAPI), `"nginx:1.27"`) || strings.Contains(string(viaOpenAPI), "envoy") {
		t.Errorf("unexpected patch %s", viaOpenAPI)
	}
}
