package openapi

import (
	"sync"

	apiextensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

var (
	generatedOnce sync.Once
	generatedDefs map[string]common.OpenAPIDefinition
)

// generatedSchema returns the schema upstream's openapi-gen generated for
// the type named name, where a library ships it: apiextensions-apiserver
// ships its own definitions, and its types have no SwaggerDoc methods, so
// their descriptions and required fields come from there.
func generatedSchema(name string) (*spec.Schema, bool) {
	generatedOnce.Do(func() {
		generatedDefs = apiextensionsopenapi.GetOpenAPIDefinitions(func(path string) spec.Ref {
			return spec.MustCreateRef(schemaRefPrefix + path)
		})
	})
	def, ok := generatedDefs[name]
	if !ok {
		return nil, false
	}
	return &def.Schema, true
}
