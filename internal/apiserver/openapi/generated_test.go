package openapi

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	builderutil "k8s.io/kube-openapi/pkg/builder3/util"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// TestReflectionMatchesGeneratedDefinitions compares, with the generated
// definitions switched off as a source, the schemas reflection builds with
// the ones upstream's openapi-gen generated for the types
// apiextensions-apiserver ships definitions of (apiextensions, meta,
// autoscaling/v1).
func TestReflectionMatchesGeneratedDefinitions(t *testing.T) {
	merge, err := loadMergeSchemas()
	if err != nil {
		t.Fatal(err)
	}
	defs := newDefinitions(testScheme(t), merge)
	defs.generated = func(string) (*spec.Schema, bool) { return nil, false }
	for _, v := range []interface{}{
		apiextensionsv1.CustomResourceDefinition{}, apiextensionsv1.CustomResourceDefinitionList{}, apiextensionsv1.ConversionReview{},
		autoscalingv1.Scale{}, autoscalingv1.HorizontalPodAutoscalerList{},
		metav1.Status{}, metav1.DeleteOptions{}, metav1.WatchEvent{}, metav1.APIResourceList{}, metav1.Patch{},
		metav1.ListOptions{}, metav1.APIGroupList{}, metav1.Table{}, metav1.PartialObjectMetadataList{},
	} {
		if _, err := defs.define(reflect.TypeOf(v)); err != nil {
			t.Fatal(err)
		}
	}
	generatedSchema("") // loads generatedDefs
	var names []string
	for name := range defs.schemas {
		if _, ok := generatedDefs[name]; ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) < 50 {
		t.Fatalf("only %d schemas to compare", len(names))
	}
	for _, name := range names {
		var want spec.Schema
		if err := json.Unmarshal([]byte(mustJSON(generatedDefs[name].Schema)), &want); err != nil {
			t.Fatal(err)
		}
		want = *builderutil.WrapRefs(&want)
		delete(want.Extensions, common.ExtensionV2Schema)
		if len(want.Extensions) == 0 {
			want.Extensions = nil
		}
		got := *defs.schemas[name]
		delete(got.Extensions, "x-kubernetes-group-version-kind")
		if len(got.Extensions) == 0 {
			got.Extensions = nil
		}
		// Markers invisible at run time, which production takes from the
		// merge schemas or from these very definitions: list types, enums
		// and +default values.
		ignoreMarkers(&got, &want)
		if strings.Contains(name, "apiextensions") {
			// Without SwaggerDoc, reflection has no descriptions of
			// apiextensions types, nor their +optional/+required markers.
			got.Description, want.Description = "", ""
			got.Required, want.Required = nil, nil
			for _, props := range []map[string]spec.Schema{got.Properties, want.Properties} {
				for k, p := range props {
					p.Description = ""
					props[k] = p
				}
			}
		}
		compareSchema(t, name, got, want)
	}
}

// ignoreMarkers drops from got and want what comes from comment markers
// only: x-kubernetes-list-type, enum values, and defaults reflection did not
// enforce.
func ignoreMarkers(got, want *spec.Schema) {
	for k, w := range want.Properties {
		g := got.Properties[k]
		delete(g.Extensions, "x-kubernetes-list-type")
		delete(w.Extensions, "x-kubernetes-list-type")
		if len(g.Extensions) == 0 {
			g.Extensions = nil
		}
		if len(w.Extensions) == 0 {
			w.Extensions = nil
		}
		w.Enum = nil
		if g.Default == nil {
			w.Default = nil
		}
		got.Properties[k], want.Properties[k] = g, w
	}
}

// compareSchema reports the properties in which got and want differ.
func compareSchema(t *testing.T, name string, got, want spec.Schema) {
	t.Helper()
	gp, wp := got.Properties, want.Properties
	got.Properties, want.Properties = nil, nil
	if a, b := mustJSON(got), mustJSON(want); a != b {
		t.Errorf("%s:\n got  %s\n want %s", name, a, b)
	}
	for k := range wp {
		if a, b := mustJSON(unwrap(gp[k])), mustJSON(unwrap(wp[k])); a != b {
			t.Errorf("%s.%s:\n got  %s\n want %s", name, k, a, b)
		}
	}
	for k := range gp {
		if _, ok := wp[k]; !ok {
			t.Errorf("%s.%s: not in the generated definition", name, k)
		}
	}
}

func mustJSON(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// unwrap turns {"allOf":[{"$ref":R}]} with nothing beside it back into
// {"$ref":R}, as wrapping would have left it.
func unwrap(s spec.Schema) spec.Schema {
	if len(s.AllOf) == 1 {
		rest := s
		rest.AllOf = nil
		if reflect.DeepEqual(rest, spec.Schema{}) {
			return s.AllOf[0]
		}
	}
	return s
}
