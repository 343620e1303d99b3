package openapi

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Media types of response bodies, as upstream declares them.
var (
	objectMediaTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	streamMediaTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	patchMediaTypes  = []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"}
)

// deleteReturnsObject lists the resources whose DELETE answers with the
// deleted object instead of a Status, because upstream's registry for them
// sets ReturnDeletedObject.
var deleteReturnsObject = map[schema.GroupResource]bool{
	{Resource: "pods"}:                   true,
	{Resource: "services"}:               true,
	{Resource: "serviceaccounts"}:        true,
	{Resource: "persistentvolumes"}:      true,
	{Resource: "persistentvolumeclaims"}: true,
	{Resource: "podtemplates"}:           true,
	{Resource: "resourcequotas"}:         true,
}

// pathBuilder adds the REST paths of one group-version to a document and
// records the component schemas they reference.
type pathBuilder struct {
	scheme *runtime.Scheme
	defs   *definitions
	gv     schema.GroupVersion
	prefix string // "/api/v1" or "/apis/<group>/<version>"
	paths  map[string]*spec3.Path
	roots  map[string]bool // schema names referenced from paths
}

// gvPath returns the document path of a group-version: "api/v1" for the
// core group, "apis/<group>/<version>" otherwise.
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// ref returns a reference to the component schema of the Go type that s
// registers for gvk, building the schema if needed.
func (b *pathBuilder) ref(gvk schema.GroupVersionKind) (*spec.Schema, error) {
	obj, err := b.scheme.New(gvk)
	if err != nil {
		return nil, err
	}
	return b.typeRef(reflect.TypeOf(obj).Elem())
}

// typeRef returns a reference to the component schema of struct type t.
func (b *pathBuilder) typeRef(t reflect.Type) (*spec.Schema, error) {
	name, err := b.defs.define(t)
	if err != nil {
		return nil, err
	}
	b.roots[name] = true
	return spec.RefSchema(schemaRefPrefix + name), nil
}

// addGroupRoot adds the "/apis/<group>/<version>/" discovery path.
func (b *pathBuilder) addGroupRoot() error {
	list, err := b.typeRef(reflect.TypeOf(metav1.APIResourceList{}))
	if err != nil {
		return err
	}
	op := &spec3.Operation{OperationProps: spec3.OperationProps{
		Description: "get available resources",
		OperationId: "get" + gvOperationPart(b.gv) + "APIResources",
		Tags:        []string{gvTag(b.gv)},
		Responses:   responses(map[int]*spec.Schema{200: list}, objectMediaTypes),
	}}
	b.paths[b.prefix+"/"] = &spec3.Path{PathProps: spec3.PathProps{Get: op}}
	return nil
}

// addResource adds the paths and operations of r.
func (b *pathBuilder) addResource(r Resource) error {
	obj, err := b.ref(r.GVK)
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.Plural, err)
	}
	var list *spec.Schema
	if has(r.Verbs, "list") || has(r.Verbs, "watch") {
		if list, err = b.ref(r.GVK.GroupVersion().WithKind(r.GVK.Kind + "List")); err != nil {
			return fmt.Errorf("resource %s: %w", r.Plural, err)
		}
	}
	var status *spec.Schema
	if has(r.Verbs, "delete") || has(r.Verbs, "deletecollection") {
		if status, err = b.typeRef(reflect.TypeOf(metav1.Status{})); err != nil {
			return err
		}
	}
	kind := r.GVK.Kind
	ns, nsWord := "", ""
	var nsParams []*spec3.Parameter
	if r.Namespaced {
		ns, nsWord = "/namespaces/{namespace}", "Namespaced"
		nsParams = []*spec3.Parameter{namespaceParam}
	}
	collection := b.prefix + ns + "/" + r.Plural
	item := collection + "/{name}"
	nameParam := pathParam("name", "name of the "+kind)
	gvk := r.GVK
	deleted := status
	if deleteReturnsObject[schema.GroupResource{Group: gvk.Group, Resource: r.Plural}] {
		deleted = obj
	}

	for _, verb := range r.Verbs {
		switch verb {
		case "list":
			b.add(collection, "get", b.op("list", nsWord+kind, "list or watch objects of kind "+kind, "list", gvk,
				params(nsParams, listParams), nil, responses(map[int]*spec.Schema{200: list}, streamMediaTypes)))
			if r.Namespaced {
				b.add(b.prefix+"/"+r.Plural, "get", b.op("list", kind+"ForAllNamespaces", "list or watch objects of kind "+kind, "list", gvk,
					params(listParams), nil, responses(map[int]*spec.Schema{200: list}, streamMediaTypes)))
			}
		case "create":
			b.add(collection, "post", b.op("create", nsWord+kind, "create a "+kind, "post", gvk,
				params(nsParams, createParams), body(obj), responses(map[int]*spec.Schema{200: obj, 201: obj, 202: obj}, objectMediaTypes)))
		case "deletecollection":
			b.add(collection, "delete", b.op("delete", "Collection"+nsWord+kind, "delete collection of "+kind, "deletecollection", gvk,
				params(nsParams, deleteCollectionParams), deleteBody(b), responses(map[int]*spec.Schema{200: status}, objectMediaTypes)))
		case "get":
			b.add(item, "get", b.op("read", nsWord+kind, "read the specified "+kind, "get", gvk,
				params([]*spec3.Parameter{nameParam}, nsParams), nil, responses(map[int]*spec.Schema{200: obj}, objectMediaTypes)))
		case "update":
			b.add(item, "put", b.op("replace", nsWord+kind, "replace the specified "+kind, "put", gvk,
				params([]*spec3.Parameter{nameParam}, nsParams, updateParams), body(obj), responses(map[int]*spec.Schema{200: obj, 201: obj}, objectMediaTypes)))
		case "patch":
			b.add(item, "patch", b.op("patch", nsWord+kind, "partially update the specified "+kind, "patch", gvk,
				params([]*spec3.Parameter{nameParam}, nsParams, patchParams), patchBody(b), responses(map[int]*spec.Schema{200: obj, 201: obj}, objectMediaTypes)))
		case "delete":
			b.add(item, "delete", b.op("delete", nsWord+kind, "delete a "+kind, "delete", gvk,
				params([]*spec3.Parameter{nameParam}, nsParams, deleteParams), deleteBody(b), responses(map[int]*spec.Schema{200: deleted, 202: deleted}, objectMediaTypes)))
		case "watch":
			if err := b.addWatch(r, ns, nsWord, nsParams, nameParam); err != nil {
				return err
			}
		default:
			return fmt.Errorf("resource %s: unknown verb %q", r.Plural, verb)
		}
	}
	for _, sub := range r.Subresources {
		if err := b.addSubresource(r, sub, item, nsWord, nsParams); err != nil {
			return err
		}
	}
	return nil
}

// addWatch adds upstream's deprecated watch paths of r.
func (b *pathBuilder) addWatch(r Resource, ns, nsWord string, nsParams []*spec3.Parameter, nameParam *spec3.Parameter) error {
	event, err := b.typeRef(reflect.TypeOf(metav1.WatchEvent{}))
	if err != nil {
		return err
	}
	kind := r.GVK.Kind
	resp := responses(map[int]*spec.Schema{200: event}, streamMediaTypes)
	const deprecated = " deprecated: use the 'watch' parameter with a list operation instead"
	listDoc := "watch individual changes to a list of " + kind + "." + deprecated + "."
	b.add(b.prefix+"/watch"+ns+"/"+r.Plural, "get", b.op("watch", nsWord+kind+"List", listDoc, "watchlist", r.GVK,
		params(nsParams, listParams), nil, resp))
	b.add(b.prefix+"/watch"+ns+"/"+r.Plural+"/{name}", "get", b.op("watch", nsWord+kind,
		"watch changes to an object of kind "+kind+"."+deprecated+", filtered to a single item with the 'fieldSelector' parameter.", "watch", r.GVK,
		params([]*spec3.Parameter{nameParam}, nsParams, listParams), nil, resp))
	if r.Namespaced {
		b.add(b.prefix+"/watch/"+r.Plural, "get", b.op("watch", kind+"ListForAllNamespaces", listDoc, "watchlist", r.GVK,
			params(listParams), nil, resp))
	}
	return nil
}

// addSubresource adds the path and operations of subresource sub of r.
func (b *pathBuilder) addSubresource(r Resource, sub Subresource, item, nsWord string, nsParams []*spec3.Parameter) error {
	obj, err := b.ref(sub.GVK)
	if err != nil {
		return fmt.Errorf("resource %s/%s: %w", r.Plural, sub.Name, err)
	}
	path := item + "/" + sub.Name
	rest := nsWord + r.GVK.Kind + upperFirst(sub.Name)
	name := []*spec3.Parameter{pathParam("name", "name of the "+sub.GVK.Kind)}
	of := " " + sub.Name + " of "
	for _, verb := range sub.Verbs {
		switch verb {
		case "get":
			b.add(path, "get", b.op("read", rest, "read"+of+"the specified "+r.GVK.Kind, "get", sub.GVK,
				params(name, nsParams), nil, responses(map[int]*spec.Schema{200: obj}, objectMediaTypes)))
		case "update":
			b.add(path, "put", b.op("replace", rest, "replace"+of+"the specified "+r.GVK.Kind, "put", sub.GVK,
				params(name, nsParams, updateParams), body(obj), responses(map[int]*spec.Schema{200: obj, 201: obj}, objectMediaTypes)))
		case "patch":
			b.add(path, "patch", b.op("patch", rest, "partially update"+of+"the specified "+r.GVK.Kind, "patch", sub.GVK,
				params(name, nsParams, patchParams), patchBody(b), responses(map[int]*spec.Schema{200: obj, 201: obj}, objectMediaTypes)))
		case "create":
			b.add(path, "post", b.op("create", rest, "create"+of+"a "+r.GVK.Kind, "post", sub.GVK,
				params(name, nsParams, createParams), body(obj), responses(map[int]*spec.Schema{200: obj, 201: obj, 202: obj}, objectMediaTypes)))
		default:
			return fmt.Errorf("resource %s/%s: unsupported verb %q", r.Plural, sub.Name, verb)
		}
	}
	return nil
}

// op builds one operation. verb is the operation ID's leading verb ("read",
// "patch"...), rest what follows the group-version part
// ("NamespacedDeploymentScale"), action the x-kubernetes-action value and gvk
// the x-kubernetes-group-version-kind value. Every operation takes "pretty".
func (b *pathBuilder) op(verb, rest, description, action string, gvk schema.GroupVersionKind, prms []*spec3.Parameter, req *spec3.RequestBody, resp *spec3.Responses) *spec3.Operation {
	op := &spec3.Operation{OperationProps: spec3.OperationProps{
		Description: description,
		OperationId: verb + gvOperationPart(b.gv) + rest,
		Tags:        []string{gvTag(b.gv)},
		Parameters:  append(prms, prettyParam),
		RequestBody: req,
		Responses:   resp,
	}}
	op.Extensions = spec.Extensions{
		"x-kubernetes-action":             action,
		"x-kubernetes-group-version-kind": gvkExtension(gvk),
	}
	return op
}

// add sets the operation for an HTTP method of the path item at path.
func (b *pathBuilder) add(path, method string, op *spec3.Operation) {
	p, ok := b.paths[path]
	if !ok {
		p = &spec3.Path{}
		b.paths[path] = p
	}
	switch method {
	case "get":
		p.Get = op
	case "put":
		p.Put = op
	case "post":
		p.Post = op
	case "patch":
		p.Patch = op
	case "delete":
		p.Delete = op
	}
}

// params concatenates parameter lists into a new slice.
func params(lists ...[]*spec3.Parameter) []*spec3.Parameter {
	var out []*spec3.Parameter
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// body is a request body of any media type holding the schema s.
func body(s *spec.Schema) *spec3.RequestBody {
	return &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{
		Content: map[string]*spec3.MediaType{"*/*": {MediaTypeProps: spec3.MediaTypeProps{Schema: s}}},
	}}
}

// deleteBody is the DeleteOptions request body of DELETE operations.
func deleteBody(b *pathBuilder) *spec3.RequestBody {
	s, _ := b.typeRef(reflect.TypeOf(metav1.DeleteOptions{}))
	return body(s)
}

// patchBody is the request body of PATCH operations: a Patch in any of the
// four patch media types.
func patchBody(b *pathBuilder) *spec3.RequestBody {
	s, _ := b.typeRef(reflect.TypeOf(metav1.Patch{}))
	content := map[string]*spec3.MediaType{}
	for _, mt := range patchMediaTypes {
		content[mt] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: s}}
	}
	return &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Content: content}}
}

// responses builds the responses of an operation: the given status codes
// with the schema in each media type, plus 401.
func responses(codes map[int]*spec.Schema, mediaTypes []string) *spec3.Responses {
	r := &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{}}}
	for code, s := range codes {
		content := map[string]*spec3.MediaType{}
		for _, mt := range mediaTypes {
			content[mt] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: s}}
		}
		r.StatusCodeResponses[code] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: statusText[code], Content: content}}
	}
	r.StatusCodeResponses[401] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}
	return r
}

// statusText is the response description upstream gives each status code.
var statusText = map[int]string{200: "OK", 201: "Created", 202: "Accepted"}

// gvOperationPart returns the group-version part of operation IDs: "CoreV1",
// "AppsV1", "RbacAuthorizationV1" (the ".k8s.io" suffix is dropped).
func gvOperationPart(gv schema.GroupVersion) string {
	group := gv.Group
	if group == "" {
		group = "core"
	}
	return validOperationID(strings.TrimSuffix(group, ".k8s.io"), true) + validOperationID(gv.Version, true)
}

// gvTag returns the operations' tag: "core_v1", "apps_v1",
// "rbacAuthorization_v1".
func gvTag(gv schema.GroupVersion) string {
	group := gv.Group
	if group == "" {
		group = "core"
	}
	return validOperationID(strings.TrimSuffix(group, ".k8s.io"), false) + "_" + validOperationID(gv.Version, false)
}

// validOperationID drops the characters that cannot appear in an operation
// ID and capitalises the letter after each dropped one (and the first letter
// when capitalizeFirst), as upstream's endpoints/openapi package does.
func validOperationID(s string, capitalizeFirst bool) string {
	var buf bytes.Buffer
	capitalize := capitalizeFirst
	for i, r := range s {
		if unicode.IsLetter(r) || r == '_' || (i != 0 && unicode.IsDigit(r)) {
			if capitalize {
				buf.WriteRune(unicode.ToUpper(r))
				capitalize = false
			} else {
				buf.WriteRune(r)
			}
		} else {
			capitalize = true
		}
	}
	return buf.String()
}

// upperFirst upper-cases the first letter of s ("scale" -> "Scale").
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// has reports whether verbs holds verb.
func has(verbs []string, verb string) bool {
	return contains(verbs, verb)
}
