package openapi

import (
	"sync"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// allVerbs are the verbs of an ordinary resource.
var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// statusSub is the status subresource of kind gvk.
func statusSub(gvk schema.GroupVersionKind) Subresource {
	return Subresource{Name: "status", GVK: gvk, Verbs: []string{"get", "update", "patch"}}
}

// testResources is a served resource list for a few groups.
func testResources() []Resource {
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	svc := schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	node := schema.GroupVersionKind{Version: "v1", Kind: "Node"}
	ns := schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	deploy := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	rs := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	job := schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}
	crd := schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}
	scale := schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
	scaleSub := Subresource{Name: "scale", GVK: scale, Verbs: []string{"get", "update", "patch"}}
	return []Resource{
		{GVK: pod, Plural: "pods", Namespaced: true, Verbs: allVerbs, Subresources: []Subresource{
			statusSub(pod),
			{Name: "binding", GVK: schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, Verbs: []string{"create"}},
			{Name: "eviction", GVK: schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}, Verbs: []string{"create"}},
			{Name: "ephemeralcontainers", GVK: pod, Verbs: []string{"get", "update", "patch"}},
		}},
		{GVK: svc, Plural: "services", Namespaced: true, Verbs: allVerbs, Subresources: []Subresource{statusSub(svc)}},
		{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Plural: "configmaps", Namespaced: true, Verbs: allVerbs},
		{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, Plural: "serviceaccounts", Namespaced: true, Verbs: allVerbs, Subresources: []Subresource{
			{Name: "token", GVK: schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}, Verbs: []string{"create"}},
		}},
		{GVK: ns, Plural: "namespaces", Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}, Subresources: []Subresource{statusSub(ns)}},
		{GVK: node, Plural: "nodes", Verbs: allVerbs, Subresources: []Subresource{statusSub(node)}},
		{GVK: deploy, Plural: "deployments", Namespaced: true, Verbs: allVerbs, Subresources: []Subresource{statusSub(deploy), scaleSub}},
		{GVK: rs, Plural: "replicasets", Namespaced: true, Verbs: allVerbs, Subresources: []Subresource{statusSub(rs), scaleSub}},
		{GVK: job, Plural: "jobs", Namespaced: true, Verbs: allVerbs, Subresources: []Subresource{statusSub(job)}},
		{GVK: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}, Plural: "cronjobs", Namespaced: true, Verbs: allVerbs},
		{GVK: crd, Plural: "customresourcedefinitions", Verbs: allVerbs, Subresources: []Subresource{statusSub(crd)}},
	}
}

// testScheme registers client-go's kinds and the apiextensions v1 kinds.
func testScheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	buildOnce sync.Once
	built     *Documents
	buildErr  error
)

// testDocuments builds the documents of testResources once per test binary.
func testDocuments(t testing.TB) *Documents {
	t.Helper()
	buildOnce.Do(func() { built, buildErr = Build(testScheme(t), testResources()) })
	if buildErr != nil {
		t.Fatalf("Build: %v", buildErr)
	}
	return built
}
