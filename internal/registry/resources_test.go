package registry

import (
	"reflect"
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// TestDynamicResourceAllocationResources pins what kube-apiserver v1.37.2 says about the
// resources kube-scheduler watches beyond the core ones: scope, subresources, generation,
// whether a PUT needs a resourceVersion, and upstream's etcd keys.
func TestDynamicResourceAllocationResources(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := New(scheme, BuiltinResources())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		gvr                                schema.GroupVersionResource
		namespaced, status, generation, rv bool
		prefix                             string
	}{
		{gvr: schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "csistoragecapacities"}, namespaced: true, rv: true,
			prefix: "/registry/csistoragecapacities/"},
		{gvr: resourcev1.SchemeGroupVersion.WithResource("deviceclasses"), generation: true, prefix: "/registry/deviceclasses/"},
		{gvr: resourcev1.SchemeGroupVersion.WithResource("resourceclaims"), namespaced: true, status: true, prefix: "/registry/resourceclaims/"},
		{gvr: resourcev1.SchemeGroupVersion.WithResource("resourceclaimtemplates"), namespaced: true, prefix: "/registry/resourceclaimtemplates/"},
		{gvr: resourcev1.SchemeGroupVersion.WithResource("resourceslices"), generation: true, prefix: "/registry/resourceslices/"},
		{gvr: resourcev1.SchemeGroupVersion.WithResource("devicetaintrules"), status: true, generation: true, rv: true, prefix: "/registry/devicetaintrules/"},
	} {
		r, _, ok := reg.Lookup(want.gvr)
		if !ok {
			t.Errorf("%s is not served", want.gvr)
			continue
		}
		if r.Namespaced != want.namespaced || r.Status != want.status || r.Generation != want.generation ||
			r.RequireResourceVersion != want.rv || r.EtcdPrefix != want.prefix || len(r.ShortNames) > 0 || len(r.Categories) > 0 {
			t.Errorf("%s: %+v", want.gvr, r)
		}
	}
}

func TestResourceSliceFields(t *testing.T) {
	s := &resourcev1.ResourceSlice{Spec: resourcev1.ResourceSliceSpec{Driver: "gpu.example.com", Pool: resourcev1.ResourcePool{Name: "p"}}}
	if got, want := resourceSliceFields(s), (fields.Set{"spec.nodeName": "", "spec.driver": "gpu.example.com", "spec.pool.name": "p"}); !reflect.DeepEqual(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	s.Spec.NodeName = ptr.To("node-1")
	if got := resourceSliceFields(s)["spec.nodeName"]; got != "node-1" {
		t.Errorf("spec.nodeName %q", got)
	}
}
