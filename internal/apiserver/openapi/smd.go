package openapi

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsapply "k8s.io/apiextensions-apiserver/pkg/client/applyconfiguration"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// mergeSchemas holds the structured-merge-diff schemas that client-go and
// apiextensions-apiserver compile into their apply configurations. They are
// generated from upstream's own OpenAPI definitions, so they carry what the Go
// types cannot tell at run time: list types and keys (+listType,
// +listMapKey), map and struct types (+mapType, +structType) and the
// property defaults (+default and the zero values openapi-gen enforces).
type mergeSchemas struct {
	schemas []*smdschema.Schema
}

// loadMergeSchemas extracts the schemas by converting one probe object through
// each package's exported TypeConverter: the typed value it returns exposes
// the whole parsed schema, while the parser itself is in an internal package.
func loadMergeSchemas() (*mergeSchemas, error) {
	probes := runtime.NewScheme()
	if err := corev1.AddToScheme(probes); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(probes); err != nil {
		return nil, err
	}
	converters := []struct {
		tc    managedfields.TypeConverter
		probe runtime.Object
	}{
		{applyconfigurations.NewTypeConverter(probes), &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}}},
		{apiextensionsapply.NewTypeConverter(probes), &apiextensionsv1.CustomResourceDefinition{TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"}}},
	}
	m := &mergeSchemas{}
	for _, c := range converters {
		tv, err := c.tc.ObjectToTyped(c.probe)
		if err != nil {
			return nil, fmt.Errorf("reading merge schema through %T: %w", c.probe, err)
		}
		m.schemas = append(m.schemas, tv.Schema())
	}
	return m, nil
}

// mergeType is one named type of a merge schema, with the schema that can
// resolve its references.
type mergeType struct {
	schema *smdschema.Schema
	atom   smdschema.Atom
}

// lookup returns the named type (an OpenAPI schema name such as
// "io.k8s.api.core.v1.PodSpec"), if a merge schema knows it.
func (m *mergeSchemas) lookup(name string) (mergeType, bool) {
	if m == nil {
		return mergeType{}, false
	}
	for _, s := range m.schemas {
		if td, ok := s.FindNamedType(name); ok {
			return mergeType{schema: s, atom: td.Atom}, true
		}
	}
	return mergeType{}, false
}

// field returns the struct field with the given json name of a map-typed
// (struct) merge type.
func (t mergeType) field(name string) (smdschema.StructField, bool) {
	if t.atom.Map == nil {
		return smdschema.StructField{}, false
	}
	return t.atom.Map.FindField(name)
}

// structExtensions returns the OpenAPI extensions a struct schema carries for
// its merge type: x-kubernetes-map-type when the struct is atomic
// (+structType=atomic), and x-kubernetes-unions (+union). Separable is the
// default of structs and of the untyped schemas of types that describe
// themselves, so it is not reported.
func (t mergeType) structExtensions() map[string]interface{} {
	if t.atom.Map == nil {
		return nil
	}
	ext := map[string]interface{}{}
	if t.atom.Map.ElementRelationship == smdschema.Atomic {
		ext["x-kubernetes-map-type"] = "atomic"
	}
	var unions []interface{}
	for _, u := range t.atom.Map.Unions {
		union := map[string]interface{}{}
		if u.Discriminator != nil {
			union["discriminator"] = *u.Discriminator
		}
		if len(u.Fields) > 0 {
			fields := map[string]interface{}{}
			for _, f := range u.Fields {
				fields[f.FieldName] = f.DiscriminatorValue
			}
			union["fields-to-discriminateBy"] = fields
		}
		unions = append(unions, union)
	}
	if len(unions) > 0 {
		ext["x-kubernetes-unions"] = unions
	}
	return ext
}

// fieldExtensions returns the list and map extensions upstream puts on the
// property for field f: x-kubernetes-list-type and x-kubernetes-list-map-keys
// for lists, x-kubernetes-map-type for maps declared inline or overridden at
// the field.
func (t mergeType) fieldExtensions(f smdschema.StructField) map[string]interface{} {
	ext := map[string]interface{}{}
	if f.Type.ElementRelationship != nil {
		if v := mapTypeValue(*f.Type.ElementRelationship); v != "" {
			ext["x-kubernetes-map-type"] = v
		}
	}
	atom := f.Type.Inlined
	if f.Type.NamedType != nil {
		// Named types are structs; their own extensions sit on their schema.
		return ext
	}
	switch {
	case atom.List != nil:
		switch atom.List.ElementRelationship {
		case smdschema.Atomic:
			ext["x-kubernetes-list-type"] = "atomic"
		case smdschema.Associative:
			if len(atom.List.Keys) == 0 {
				ext["x-kubernetes-list-type"] = "set"
			} else {
				ext["x-kubernetes-list-type"] = "map"
				ext["x-kubernetes-list-map-keys"] = append([]string(nil), atom.List.Keys...)
			}
		}
	case atom.Map != nil && f.Type.ElementRelationship == nil:
		if v := mapTypeValue(atom.Map.ElementRelationship); v != "" {
			ext["x-kubernetes-map-type"] = v
		}
	}
	return ext
}

// mapTypeValue translates a structured-merge-diff element relationship of a
// map into the x-kubernetes-map-type value it came from, or "" if none.
func mapTypeValue(r smdschema.ElementRelationship) string {
	switch r {
	case smdschema.Atomic:
		return "atomic"
	case smdschema.Separable:
		return "granular"
	}
	return ""
}

// jsonValue converts a default value decoded from the merge schema's YAML
// (maps keyed by interface{}) into one encoding/json can marshal.
func jsonValue(v interface{}) interface{} {
	switch x := v.(type) {
	case map[interface{}]interface{}:
		out := make(map[string]interface{}, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonValue(e)
		}
		return out
	case map[string]interface{}:
		out := make(map[string]interface{}, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}
