package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// schemaRefPrefix is where component schemas live in an OpenAPI v3 document.
const schemaRefPrefix = "#/components/schemas/"

var (
	unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	timeType        = reflect.TypeOf(time.Time{})
	emptyIfaceType  = reflect.TypeOf((*interface{})(nil)).Elem()
	modelNamerType  = reflect.TypeOf((*interface{ OpenAPIModelName() string })(nil)).Elem()
	swaggerDocType  = reflect.TypeOf((*interface{ SwaggerDoc() map[string]string })(nil)).Elem()
	schemaTyperType = reflect.TypeOf((*schemaTyper)(nil)).Elem()
	oneOfTyperType  = reflect.TypeOf((*interface{ OpenAPIV3OneOfTypes() []string })(nil)).Elem()
)

// schemaTyper is implemented by types that describe their own OpenAPI type,
// such as Quantity, IntOrString and Time.
type schemaTyper interface {
	OpenAPISchemaType() []string
	OpenAPISchemaFormat() string
}

// definitions builds component schemas from Go types by reflection, the way
// upstream's openapi-gen does from source, memoising one schema per type.
type definitions struct {
	schemas map[string]*spec.Schema // schema name -> definition
	refs    map[string][]string     // schema name -> names it references
	names   map[reflect.Type]string // built types -> schema name
	gvks    map[reflect.Type][]map[string]interface{}
	merge   *mergeSchemas
	// generated looks up upstream's generated definition of a schema name
	// where a library ships one (see generatedSchema).
	generated func(name string) (*spec.Schema, bool)
}

// newDefinitions prepares a builder whose x-kubernetes-group-version-kind
// extensions come from every external kind registered in s.
func newDefinitions(s *runtime.Scheme, merge *mergeSchemas) *definitions {
	d := &definitions{
		schemas:   map[string]*spec.Schema{},
		refs:      map[string][]string{},
		names:     map[reflect.Type]string{},
		gvks:      map[reflect.Type][]map[string]interface{}{},
		merge:     merge,
		generated: generatedSchema,
	}
	byType := map[reflect.Type][]schema.GroupVersionKind{}
	for gvk, t := range s.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		byType[t] = append(byType[t], gvk)
	}
	for t, list := range byType {
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.Group != b.Group {
				return a.Group < b.Group
			}
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return a.Kind < b.Kind
		})
		for _, gvk := range list {
			d.gvks[t] = append(d.gvks[t], gvkExtension(gvk))
		}
	}
	return d
}

// gvkExtension renders a GroupVersionKind as upstream's extension value.
func gvkExtension(gvk schema.GroupVersionKind) map[string]interface{} {
	return map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// schemaName returns the component schema name of a named Go type: the value
// of its OpenAPIModelName method when it has one, else the reverse-DNS form of
// its package path followed by the type name ("k8s.io/api/apps/v1".Deployment
// becomes "io.k8s.api.apps.v1.Deployment").
func schemaName(t reflect.Type) string {
	if t.Implements(modelNamerType) {
		return reflect.Zero(t).Interface().(interface{ OpenAPIModelName() string }).OpenAPIModelName()
	}
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/vendor/"); i >= 0 {
		pkg = pkg[i+len("/vendor/"):]
	}
	parts := strings.Split(pkg, "/")
	if strings.Contains(parts[0], ".") {
		host := strings.Split(parts[0], ".")
		for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
			host[i], host[j] = host[j], host[i]
		}
		parts[0] = strings.Join(host, ".")
	}
	return strings.Join(parts, ".") + "." + t.Name()
}

// swaggerDoc returns the SwaggerDoc map of t, or nil.
func swaggerDoc(t reflect.Type) map[string]string {
	if t.Implements(swaggerDocType) {
		return reflect.Zero(t).Interface().(interface{ SwaggerDoc() map[string]string }).SwaggerDoc()
	}
	if reflect.PointerTo(t).Implements(swaggerDocType) {
		return reflect.New(t).Interface().(interface{ SwaggerDoc() map[string]string }).SwaggerDoc()
	}
	return nil
}

// typeDescription returns the description of the type t named name: its
// SwaggerDoc, else a known doc comment, else upstream's generated one.
func (d *definitions) typeDescription(t reflect.Type, name string) string {
	if d := swaggerDoc(t)[""]; d != "" {
		return d
	}
	if d, ok := typeDescriptions[name]; ok {
		return d
	}
	if g, ok := d.generated(name); ok {
		return g.Description
	}
	return ""
}

// fieldDocs returns the property descriptions of struct type t named name,
// keyed by json name, from the same sources as typeDescription.
func (d *definitions) fieldDocs(t reflect.Type, name string) map[string]string {
	if doc := swaggerDoc(t); doc != nil {
		return doc
	}
	if doc, ok := fieldDescriptions[name]; ok {
		return doc
	}
	if g, ok := d.generated(name); ok {
		doc := map[string]string{}
		for field, p := range g.Properties {
			doc[field] = p.Description
		}
		return doc
	}
	return nil
}

// methodValue returns a value of t on which methods of both receiver kinds
// can be called through an interface.
func methodValue(t reflect.Type) interface{} {
	return reflect.New(t).Interface()
}

// define makes sure the struct type t has a component schema and returns its
// name.
func (d *definitions) define(t reflect.Type) (string, error) {
	if name, ok := d.names[t]; ok {
		return name, nil
	}
	if t.Kind() != reflect.Struct || t.Name() == "" {
		return "", fmt.Errorf("openapi: %v is not a named struct type", t)
	}
	name := schemaName(t)
	d.names[t] = name
	s := &spec.Schema{}
	d.schemas[name] = s
	refs := map[string]bool{}
	if err := d.fillStruct(s, t, name, refs); err != nil {
		return "", err
	}
	for r := range refs {
		if r != name {
			d.refs[name] = append(d.refs[name], r)
		}
	}
	sort.Strings(d.refs[name])
	wrapRefs(s)
	return name, nil
}

// fillStruct writes the definition of struct type t, named name, into s.
func (d *definitions) fillStruct(s *spec.Schema, t reflect.Type, name string, refs map[string]bool) error {
	s.Description = d.typeDescription(t, name)
	ext := spec.Extensions{}
	if gvks := d.gvks[t]; len(gvks) > 0 {
		list := make([]interface{}, len(gvks))
		for i, g := range gvks {
			list[i] = g
		}
		ext["x-kubernetes-group-version-kind"] = list
	}
	merge, inMerge := d.merge.lookup(name)
	p := reflect.PointerTo(t)
	special := p.Implements(schemaTyperType)
	if g, ok := d.generated(name); ok {
		for k, v := range g.Extensions {
			if k != "x-kubernetes-group-version-kind" && k != common.ExtensionV2Schema {
				ext[k] = v
			}
		}
	} else if inMerge && !special {
		for k, v := range merge.structExtensions() {
			ext[k] = v
		}
	}
	if len(ext) > 0 {
		s.Extensions = ext
	}

	switch {
	case p.Implements(schemaTyperType) && p.Implements(oneOfTyperType):
		v := methodValue(t)
		for _, typ := range v.(interface{ OpenAPIV3OneOfTypes() []string }).OpenAPIV3OneOfTypes() {
			s.OneOf = append(s.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}}})
		}
		s.Format = v.(schemaTyper).OpenAPISchemaFormat()
		return nil
	case p.Implements(schemaTyperType):
		v := methodValue(t).(schemaTyper)
		if typ := v.OpenAPISchemaType(); len(typ) > 0 {
			s.Type = spec.StringOrArray(typ)
		}
		s.Format = v.OpenAPISchemaFormat()
		return nil
	}

	s.Type = spec.StringOrArray{"object"}
	var required []string
	if err := d.members(s, t, merge, inMerge, refs, &required); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	s.Required = required
	return nil
}

// members adds the properties of struct t to s, flattening embedded structs
// as encoding/json does, and appends the required ones in field order. merge
// is the merge type of the outermost struct (merge schemas flatten embedded
// structs too); descriptions and required-ness belong to the declaring type.
func (d *definitions) members(s *spec.Schema, t reflect.Type, merge mergeType, inMerge bool, refs map[string]bool, required *[]string) error {
	owner := schemaName(t)
	doc := d.fieldDocs(t, owner)
	generated, hasGenerated := d.generated(owner)
	var generatedProps map[string]spec.Schema
	if hasGenerated {
		generatedProps = generated.Properties
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		opts := strings.Split(tag, ",")
		jsonName := opts[0]
		if jsonName == "-" && len(opts) == 1 {
			continue
		}
		if f.Anonymous && jsonName == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if err := d.members(s, et, merge, inMerge, refs, required); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if !hasTag || jsonName == "" {
			jsonName = f.Name
		}
		omitEmpty := hasOption(opts[1:], "omitempty")
		prop := spec.Schema{}
		prop.Description = doc[jsonName]
		ext := spec.Extensions{}
		if v := f.Tag.Get("patchStrategy"); v != "" {
			ext["x-kubernetes-patch-strategy"] = v
		}
		if v := f.Tag.Get("patchMergeKey"); v != "" {
			ext["x-kubernetes-patch-merge-key"] = v
		}
		if hasOption(opts[1:], "string") {
			prop.Type = spec.StringOrArray{"string"}
		} else {
			prop.Default = enforcedDefault(f.Type, omitEmpty)
			if gp, ok := generatedProps[jsonName]; ok {
				prop.Default = gp.Default
				for k, v := range gp.Extensions {
					ext[k] = v
				}
			} else if mf, ok := merge.field(jsonName); inMerge && ok {
				prop.Default = jsonValue(mf.Default)
				for k, v := range merge.fieldExtensions(mf) {
					ext[k] = v
				}
			}
			if err := d.fillType(&prop, f.Type, refs); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		if len(ext) > 0 {
			prop.Extensions = ext
		}
		if s.Properties == nil {
			s.Properties = map[string]spec.Schema{}
		}
		s.Properties[jsonName] = prop
		if hasGenerated {
			if contains(generated.Required, jsonName) {
				*required = append(*required, jsonName)
			}
		} else if isRequired(owner, jsonName, omitEmpty) {
			*required = append(*required, jsonName)
		}
	}
	return nil
}

// hasOption reports whether a json tag's options include opt.
func hasOption(opts []string, opt string) bool {
	for _, o := range opts {
		if o == opt {
			return true
		}
	}
	return false
}

// fillType writes the type of a property (or item, or map value) of Go type
// t into s: a simple type and format, an array, a map, or a reference to a
// component schema.
func (d *definitions) fillType(s *spec.Schema, t reflect.Type, refs map[string]bool) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		s.Type, s.Format = spec.StringOrArray{"string"}, "date-time"
		return nil
	}
	if typ, format, ok := simpleType(t); ok {
		s.Type, s.Format = spec.StringOrArray{typ}, format
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		name, err := d.define(t)
		if err != nil {
			return err
		}
		refs[name] = true
		s.Ref = spec.MustCreateRef(schemaRefPrefix + name)
	case reflect.Slice, reflect.Array:
		item := &spec.Schema{}
		if err := d.fillType(item, t.Elem(), refs); err != nil {
			return err
		}
		s.Type = spec.StringOrArray{"array"}
		s.Items = &spec.SchemaOrArray{Schema: item}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("map key %v is not a string", t.Key())
		}
		value := &spec.Schema{}
		if err := d.fillType(value, t.Elem(), refs); err != nil {
			return err
		}
		s.Type = spec.StringOrArray{"object"}
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: value}
	case reflect.Interface:
		if t == emptyIfaceType {
			s.Type = spec.StringOrArray{"object"}
		}
		// Named interfaces (runtime.Object) have no schema, as upstream.
	default:
		return fmt.Errorf("unsupported kind %v of %v", t.Kind(), t)
	}
	return nil
}

// simpleType maps builtin kinds (and []byte) to OpenAPI type and format as
// kube-openapi's common.OpenAPITypeFormat does.
func simpleType(t reflect.Type) (typ, format string, ok bool) {
	switch t.Kind() {
	case reflect.String:
		return "string", "", true
	case reflect.Bool:
		return "boolean", "", true
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16:
		return "integer", "int32", true
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return "integer", "int64", true
	case reflect.Int8, reflect.Uint8:
		return "integer", "byte", true
	case reflect.Float64:
		return "number", "double", true
	case reflect.Float32:
		return "number", "float", true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string", "byte", true
		}
	}
	return "", "", false
}

// enforcedDefault returns the default upstream's openapi-gen forces on a value
// of type t that is not a pointer and not omitted when empty: {} for structs,
// the zero value for builtins, nothing for pointers, slices, maps, interfaces
// and types with custom JSON unmarshalling (their zero value is null).
func enforcedDefault(t reflect.Type, omitEmpty bool) interface{} {
	if t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array, reflect.Interface:
		return nil
	case reflect.Struct:
		if t.NumField() == 1 && t.Field(0).Anonymous {
			return enforcedDefault(t.Field(0).Type, omitEmpty)
		}
		return map[string]interface{}{}
	}
	if omitEmpty {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		return ""
	case reflect.Bool:
		return false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return 0
	}
	return nil
}

// wrapRefs rewrites every schema in s that has a $ref next to other keywords
// (a description, a default, extensions) into {"allOf":[{"$ref":...}], ...},
// as upstream does because OpenAPI v3.0 ignores siblings of $ref.
func wrapRefs(s *spec.Schema) {
	for k, p := range s.Properties {
		wrapRefs(&p)
		s.Properties[k] = p
	}
	if s.Items != nil && s.Items.Schema != nil {
		wrapRefs(s.Items.Schema)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		wrapRefs(s.AdditionalProperties.Schema)
	}
	if s.Ref.String() == "" {
		return
	}
	if reflect.DeepEqual(*s, spec.Schema{SchemaProps: spec.SchemaProps{Ref: s.Ref}}) {
		return
	}
	ref := spec.Schema{SchemaProps: spec.SchemaProps{Ref: s.Ref}}
	s.Ref = spec.Ref{}
	s.AllOf = []spec.Schema{ref}
}
