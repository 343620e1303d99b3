package openapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Resource is one served REST resource, as the API server's registry describes it.
type Resource struct {
	GVK          schema.GroupVersionKind // the kind served at this resource (e.g. apps/v1 Deployment)
	Plural       string                  // "deployments"
	Namespaced   bool
	Verbs        []string // any of get list watch create update patch delete deletecollection
	Subresources []Subresource
}

// Subresource is a subresource of a Resource such as "status" or "scale".
type Subresource struct {
	Name  string                  // "status", "scale", "binding", "eviction", "token", "approval", "ephemeralcontainers", "resize"
	GVK   schema.GroupVersionKind // request/response kind (scale: autoscaling/v1 Scale; status: the resource's own kind; binding: v1 Binding; eviction: policy/v1 Eviction; token: authentication.k8s.io/v1 TokenRequest)
	Verbs []string                // get update patch, or create
}

// Build generates one OpenAPI v3 document per group-version from the Go types registered in s
// (s.New(gvk) gives a value whose reflected type is the schema), plus the /openapi/v3 index.
// Every resource's kind, its List kind (when it is listed or watched) and its
// subresources' kinds must be registered in s. The documents are encoded and
// hashed before Build returns.
func Build(s *runtime.Scheme, resources []Resource) (*Documents, error) {
	merge, err := loadMergeSchemas()
	if err != nil {
		return nil, err
	}
	defs := newDefinitions(s, merge)

	byGV := map[schema.GroupVersion][]Resource{}
	for _, r := range resources {
		gv := r.GVK.GroupVersion()
		byGV[gv] = append(byGV[gv], r)
	}
	service := handler3.NewOpenAPIService()
	d := &Documents{service: service}
	for gv, rs := range byGV {
		doc, err := buildDocument(s, defs, gv, rs)
		if err != nil {
			return nil, err
		}
		path := gvPath(gv)
		service.UpdateGroupVersion(path, doc)
		d.paths = append(d.paths, path)
	}
	sort.Strings(d.paths)

	// Encode every document now: handler3 does it lazily on the first request.
	rec := httptest.NewRecorder()
	service.HandleDiscovery(rec, httptest.NewRequest(http.MethodGet, indexPath, nil))
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("openapi: encoding documents failed with status %d", rec.Code)
	}
	return d, nil
}

// buildDocument builds the document of group-version gv serving resources rs.
func buildDocument(s *runtime.Scheme, defs *definitions, gv schema.GroupVersion, rs []Resource) (*spec3.OpenAPI, error) {
	b := &pathBuilder{
		scheme: s,
		defs:   defs,
		gv:     gv,
		prefix: "/" + gvPath(gv),
		paths:  map[string]*spec3.Path{},
		roots:  map[string]bool{},
	}
	if err := b.addGroupRoot(); err != nil {
		return nil, err
	}
	for _, r := range rs {
		if err := b.addResource(r); err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", gvPath(gv), err)
		}
	}
	for _, p := range b.paths {
		hoistParameters(p)
	}
	return &spec3.OpenAPI{
		Version: "3.0.0",
		Info:    &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "unversioned"}},
		Paths:   &spec3.Paths{Paths: b.paths},
		Components: &spec3.Components{
			Schemas: defs.closure(b.roots),
			SecuritySchemes: spec3.SecuritySchemes{"BearerToken": {SecuritySchemeProps: spec3.SecuritySchemeProps{
				Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
			}}},
		},
	}, nil
}

// closure returns the named schemas and every schema they reference,
// transitively.
func (d *definitions) closure(roots map[string]bool) map[string]*spec.Schema {
	out := map[string]*spec.Schema{}
	var queue []string
	for name := range roots {
		queue = append(queue, name)
	}
	for len(queue) > 0 {
		name := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if _, done := out[name]; done {
			continue
		}
		out[name] = d.schemas[name]
		queue = append(queue, d.refs[name]...)
	}
	return out
}
