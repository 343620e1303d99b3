package openapi

import (
	"reflect"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Query parameter sets of the operations, derived like upstream's endpoint
// installer derives them: from the fields of the versioned options types, with
// their SwaggerDoc descriptions.
var (
	listParams             = optionParams(metav1.ListOptions{})
	deleteCollectionParams = append(optionParams(metav1.DeleteOptions{}), optionParams(metav1.ListOptions{}, "watch", "allowWatchBookmarks")...)
	deleteParams           = optionParams(metav1.DeleteOptions{})
	createParams           = optionParams(metav1.CreateOptions{})
	updateParams           = optionParams(metav1.UpdateOptions{})
	patchParams            = optionParams(metav1.PatchOptions{})
	prettyParam            = queryParam("pretty", "If 'true', then the output is pretty printed.", "string")
)

// optionParams returns one inline query parameter per json field of the
// options struct obj, skipping struct, interface and pointer-to-struct fields
// and the names in exclude.
func optionParams(obj interface{}, exclude ...string) []*spec3.Parameter {
	t := reflect.TypeOf(obj)
	doc := swaggerDoc(t)
	var out []*spec3.Parameter
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct || ft.Kind() == reflect.Interface {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" || contains(exclude, name) {
			continue
		}
		if ft.Kind() == reflect.Slice {
			// go-restful cannot declare array query parameters; upstream
			// documents them with the element type.
			ft = ft.Elem()
		}
		typ, _, _ := simpleType(ft)
		if typ == "" {
			typ = "string"
		}
		out = append(out, queryParam(name, doc[name], typ))
	}
	return out
}

// queryParam returns an inline query parameter as upstream renders it.
func queryParam(name, description, typ string) *spec3.Parameter {
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{
		Name:        name,
		In:          "query",
		Description: description,
		Schema:      &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}, UniqueItems: true}},
	}}
}

// pathParam returns a required inline path parameter.
func pathParam(name, description string) *spec3.Parameter {
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{
		Name:        name,
		In:          "path",
		Description: description,
		Required:    true,
		Schema:      &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"string"}, UniqueItems: true}},
	}}
}

// namespaceParam is the {namespace} path parameter.
var namespaceParam = pathParam("namespace", "object name and auth scope, such as for teams and projects")

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// hoistParameters moves the parameters shared by every operation of a path
// item to the path item, as upstream's builder does, and sorts all parameter
// lists by name and location. A path item with a PATCH operation only shares
// path parameters and "pretty": kubectl looks for fieldValidation among the
// PATCH operation's own parameters.
func hoistParameters(p *spec3.Path) {
	ops := operations(p)
	if len(ops) == 0 {
		return
	}
	count := map[string]int{}
	for _, op := range ops {
		for _, prm := range op.Parameters {
			count[prm.In+"/"+prm.Name]++
		}
	}
	hoist := map[string]bool{}
	for key, n := range count {
		if n != len(ops) {
			continue
		}
		if p.Patch != nil && !strings.HasPrefix(key, "path/") && key != "query/pretty" {
			continue
		}
		hoist[key] = true
	}
	for _, op := range ops {
		var kept []*spec3.Parameter
		for _, prm := range op.Parameters {
			key := prm.In + "/" + prm.Name
			if !hoist[key] {
				kept = append(kept, prm)
				continue
			}
			if !hasParam(p.Parameters, prm) {
				p.Parameters = append(p.Parameters, prm)
			}
		}
		op.Parameters = kept
		sortParams(op.Parameters)
	}
	sortParams(p.Parameters)
}

// hasParam reports whether list has a parameter with prm's name and location.
func hasParam(list []*spec3.Parameter, prm *spec3.Parameter) bool {
	for _, e := range list {
		if e.Name == prm.Name && e.In == prm.In {
			return true
		}
	}
	return false
}

// sortParams orders parameters by name, then location.
func sortParams(list []*spec3.Parameter) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Name != list[j].Name {
			return list[i].Name < list[j].Name
		}
		return list[i].In < list[j].In
	})
}

// operations returns the operations a path item defines.
func operations(p *spec3.Path) []*spec3.Operation {
	var out []*spec3.Operation
	for _, op := range []*spec3.Operation{p.Get, p.Put, p.Post, p.Delete, p.Options, p.Head, p.Patch, p.Trace} {
		if op != nil {
			out = append(out, op)
		}
	}
	return out
}
