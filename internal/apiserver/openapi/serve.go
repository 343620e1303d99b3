package openapi

import (
	"net/http"
	"strings"

	"k8s.io/kube-openapi/pkg/handler3"
)

// indexPath is where the index of group-version documents is served.
const indexPath = "/openapi/v3"

// Documents holds the built OpenAPI v3 documents and serves them.
type Documents struct {
	service *handler3.OpenAPIService
	paths   []string
}

// ServeHTTP serves GET /openapi/v3 and GET /openapi/v3/<path> (for example "api/v1", "apis/apps/v1").
//
// It behaves as upstream's kube-openapi handler3: the index maps each path to
// "/openapi/v3/<path>?hash=<HASH>", HASH being the upper-case hex SHA-512 of
// the document's JSON; a document carries that hash, quoted, as its ETag;
// a request whose hash matches is answered with "Cache-Control: public,
// immutable" and an Expires header a year ahead, one whose hash is stale is
// redirected (301) to the current URL. Documents are JSON, or protobuf when the
// Accept header asks for application/com.github.proto-openapi.spec.v3.v1.0+protobuf.
// Unknown paths get 404 and other methods 405.
func (d *Documents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == indexPath {
		d.service.HandleDiscovery(w, r)
		return
	}
	gv, ok := strings.CutPrefix(path, indexPath+"/")
	if !ok || !d.has(gv) {
		http.NotFound(w, r)
		return
	}
	if gv != strings.TrimPrefix(r.URL.Path, indexPath+"/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path = indexPath + "/" + gv
		r = r2
	}
	d.service.HandleGroupVersion(w, r)
}

// Paths lists the served group-version paths ("api/v1", "apis/apps/v1", ...).
func (d *Documents) Paths() []string {
	return append([]string(nil), d.paths...)
}

// has reports whether gv is a served group-version path.
func (d *Documents) has(gv string) bool {
	for _, p := range d.paths {
		if p == gv {
			return true
		}
	}
	return false
}
