package server

import (
	"net/http"
	"sync"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/apiserver/openapi"
	"github.com/skiff-project/skiff/internal/registry"
)

// restSubresources are the subresources with REST semantics that OpenAPI describes; the
// streaming ones (log, exec, attach, portforward, proxy) are left out.
var restSubresources = map[string]bool{"status": true, "scale": true, "binding": true, "eviction": true, "finalize": true, "approval": true}

// openAPIResources describes the registry's resources for the OpenAPI builder.
func openAPIResources(reg *registry.Registry) []openapi.Resource {
	var out []openapi.Resource
	for _, res := range reg.Resources() {
		r := openapi.Resource{GVK: res.GVK, Plural: res.Plural, Namespaced: res.Namespaced, Verbs: res.VerbList()}
		for _, sub := range apiserver.Subresources(res) {
			if !restSubresources[sub] {
				continue
			}
			gvk, verbs := apiserver.SubresourceKind(res, sub)
			r.Subresources = append(r.Subresources, openapi.Subresource{Name: sub, GVK: gvk, Verbs: verbs})
		}
		out = append(out, r)
	}
	return out
}

// lazyOpenAPI builds the documents in the background at start-up (it takes a few hundred
// milliseconds) and serves them once built; early requests wait for the build.
type lazyOpenAPI struct {
	done chan struct{}
	once sync.Once
	docs *openapi.Documents
	err  error
}

func newLazyOpenAPI(reg *registry.Registry) *lazyOpenAPI {
	l := &lazyOpenAPI{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.docs, l.err = openapi.Build(reg.Scheme, openAPIResources(reg))
	}()
	return l
}

func (l *lazyOpenAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-l.done:
	case <-r.Context().Done():
		return
	}
	if l.err != nil {
		http.Error(w, "openapi: "+l.err.Error(), http.StatusInternalServerError)
		return
	}
	l.docs.ServeHTTP(w, r)
}
