package apiserver

import (
	"net/http/httptest"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/defaults"
	"github.com/skiff-project/skiff/internal/registry"
)

func testServer(t testing.TB) *Server {
	t.Helper()
	scheme, err := registry.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	if err := defaults.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(scheme, registry.BuiltinResources())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Registry: reg})
}

func TestParseRequestInfo(t *testing.T) {
	cases := []struct {
		method, path                                          string
		verb, group, version, ns, resource, name, subresource string
	}{
		{"GET", "/api/v1/pods", "list", "", "v1", "", "pods", "", ""},
		{"GET", "/api/v1/pods?watch=true", "watch", "", "v1", "", "pods", "", ""},
		{"GET", "/api/v1/namespaces/ns/pods/p/log", "get", "", "v1", "ns", "pods", "p", "log"},
		{"POST", "/api/v1/namespaces/ns/pods/p/binding", "create", "", "v1", "ns", "pods", "p", "binding"},
		{"PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", "patch", "apps", "v1", "ns", "deployments", "d", "scale"},
		{"DELETE", "/apis/apps/v1/namespaces/ns/deployments", "deletecollection", "apps", "v1", "ns", "deployments", "", ""},
		{"GET", "/api/v1/namespaces", "list", "", "v1", "", "namespaces", "", ""},
		{"GET", "/api/v1/namespaces/ns", "get", "", "v1", "ns", "namespaces", "ns", ""},
		{"PUT", "/api/v1/namespaces/ns/finalize", "update", "", "v1", "ns", "namespaces", "ns", "finalize"},
		{"GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", "get", "rbac.authorization.k8s.io", "v1", "", "clusterroles", "admin", ""},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.path, nil)
		ri := ParseRequestInfo(r)
		if !ri.IsResourceRequest || ri.Verb != c.verb || ri.Group != c.group || ri.Version != c.version || ri.Namespace != c.ns ||
			ri.Resource != c.resource || ri.Name != c.name || ri.Subresource != c.subresource {
			t.Errorf("%s %s: %+v", c.method, c.path, ri)
		}
	}
	for _, p := range []string{"/api", "/apis", "/apis/apps", "/apis/apps/v1", "/version", "/healthz"} {
		if ri := ParseRequestInfo(httptest.NewRequest("GET", p, nil)); ri.IsResourceRequest {
			t.Errorf("%s is not a resource request: %+v", p, ri)
		}
	}
}

func TestNegotiateOutput(t *testing.T) {
	cases := []struct {
		accept    string
		transform bool
		want      Output
		ok        bool
	}{
		{"", true, Output{MediaType: mediaJSON}, true},
		{"*/*", true, Output{MediaType: mediaJSON}, true},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", true,
			Output{MediaType: mediaJSON, As: "Table", AsVersion: "v1"}, true},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json", false, Output{MediaType: mediaJSON}, true},
		{"application/vnd.kubernetes.protobuf,application/json", true, Output{MediaType: mediaProtobuf}, true},
		{"application/yaml", true, Output{MediaType: mediaYAML}, true},
		{"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", true, Output{MediaType: mediaJSON, As: "PartialObjectMetadataList", AsVersion: "v1"}, true},
		{"application/json;as=Widget;v=v1;g=meta.k8s.io", true, Output{}, false},
		{"text/html", true, Output{}, false},
	}
	for _, c := range cases {
		got, ok := negotiateOutput(c.accept, c.transform)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: got %+v %v, want %+v %v", c.accept, got, ok, c.want, c.ok)
		}
	}
}

func TestWantsAggregated(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json":                true,
		"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json":           false,
		"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json": true,
		"application/json, */*": false,
		"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json": true,
	} {
		if got := wantsAggregated(accept); got != want {
			t.Errorf("%q: %v", accept, got)
		}
	}
}

// TestStorageVersionHash checks the hashes against kube-apiserver v1.37.2's discovery, which
// hashes the stored version (autoscaling/v1 HPAs are stored as v2).
func TestStorageVersionHash(t *testing.T) {
	for want, res := range map[string]*registry.Resource{
		"Yk2PTc1Ybxk=": {GVK: schema.GroupVersionKind{Group: "resource.k8s.io", Version: "v1", Kind: "DeviceClass"}},
		"qwQve8ut294=": {GVK: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler"},
			StorageGVK: schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}},
		"r2yiGXH7wu8=": {GVK: schema.GroupVersionKind{Group: "events.k8s.io", Version: "v1", Kind: "Event"},
			StorageGVK: schema.GroupVersionKind{Version: "v1", Kind: "Event"}},
	} {
		if got := storageVersionHash(res); got != want {
			t.Errorf("%s: %s, want %s", res.GVK, got, want)
		}
	}
}
