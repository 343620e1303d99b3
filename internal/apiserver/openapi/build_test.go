package openapi

import (
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// everyResource serves, with all verbs, every kind of s that has a List kind
// beside it: all groups and versions client-go and apiextensions know.
func everyResource(s *runtime.Scheme) []Resource {
	var out []Resource
	for gvk := range s.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal || strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		if !s.Recognizes(gvk.GroupVersion().WithKind(gvk.Kind + "List")) {
			continue
		}
		out = append(out, Resource{
			GVK:          gvk,
			Plural:       strings.ToLower(gvk.Kind) + "s",
			Namespaced:   true,
			Verbs:        allVerbs,
			Subresources: []Subresource{statusSub(gvk)},
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GVK.String() < out[j].GVK.String() })
	return out
}

func TestBuildEveryGroup(t *testing.T) {
	s := testScheme(t)
	resources := everyResource(s)
	start := time.Now()
	d, err := Build(s, resources)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("Build of %d resources in %d group-versions: %v (first Build in this process includes parsing the merge schemas)", len(resources), len(d.Paths()), took)
	// BenchmarkBuildEveryGroup measures it; a test asserts no timing.
	if len(d.Paths()) < 40 {
		t.Errorf("only %d group-versions", len(d.Paths()))
	}
	want := schema.GroupVersion{Group: "apiextensions.k8s.io", Version: "v1"}
	if !contains(d.Paths(), gvPath(want)) {
		t.Errorf("no document for %v", want)
	}
}

func BenchmarkBuild(b *testing.B) {
	s := testScheme(b)
	resources := testResources()
	for i := 0; i < b.N; i++ {
		if _, err := Build(s, resources); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildEveryGroup(b *testing.B) {
	s := testScheme(b)
	resources := everyResource(s)
	for i := 0; i < b.N; i++ {
		if _, err := Build(s, resources); err != nil {
			b.Fatal(err)
		}
	}
}
