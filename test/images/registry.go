package images

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Registry is an OCI registry served in-process on a loopback port (go-containerregistry's
// pkg/registry, blobs in memory), with optional basic authentication, a log of the
// requests it served, and blobs it can be told to corrupt.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of the references it serves.
	Host string

	user, password string
	srv            *httptest.Server

	mu       sync.Mutex
	requests []Request
	corrupt  map[string]bool // digest -> serve altered bytes
}

// Request is one request the registry served.
type Request struct {
	Method, Path string
	Status       int
}

// StartRegistry starts a registry on 127.0.0.1 with a random port, stopped by t.Cleanup.
// When user is not empty every request must carry that user and password (HTTP basic
// authentication), as a private registry would demand.
func StartRegistry(t testing.TB, user, password string) *Registry {
	t.Helper()
	r := &Registry{user: user, password: password, corrupt: map[string]bool{}}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		r.serve(rec, req, inner)
		r.mu.Lock()
		r.requests = append(r.requests, Request{Method: req.Method, Path: req.URL.Path, Status: rec.status})
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request, inner http.Handler) {
	if r.user != "" {
		u, p, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(r.user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(r.password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="skiff test registry"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
	}
	if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/sha256:") {
		d := req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
		r.mu.Lock()
		bad := r.corrupt[d]
		r.mu.Unlock()
		if bad {
			cw := &corruptingWriter{ResponseWriter: w}
			inner.ServeHTTP(cw, req)
			return
		}
	}
	inner.ServeHTTP(w, req)
}

// Push writes img to the registry as repoTag ("skiffhost:v1") and returns the reference
// a pod names it by ("127.0.0.1:PORT/skiffhost:v1").
func (r *Registry) Push(t testing.TB, repoTag string, img v1.Image) (ref string) {
	t.Helper()
	tag, err := name.NewTag(r.Host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	opts := []remote.Option{}
	if r.user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.user, Password: r.password}))
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	return tag.String()
}

// Corrupt makes the registry serve the blob with this digest ("sha256:...") with one byte
// changed (same length), as a broken mirror or disk would.
func (r *Registry) Corrupt(digest v1.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.corrupt[digest.String()] = true
}

// Requests returns the requests served so far.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Count returns how many requests with this method had a path containing substr.
func (r *Registry) Count(method, substr string) int {
	n := 0
	for _, q := range r.Requests() {
		if q.Method == method && strings.Contains(q.Path, substr) {
			n++
		}
	}
	return n
}

// DockerConfigJSON returns the content of a kubernetes.io/dockerconfigjson Secret that
// logs in to this registry as user with password.
func (r *Registry) DockerConfigJSON(user, password string) []byte {
	return fmt.Appendf(nil, `{"auths":{%q:{"username":%q,"password":%q}}}`, r.Host, user, password)
}

// WriteTarball writes img to path as a `docker save` tarball tagged ref.
func WriteTarball(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("tarball %s: %w", path, err)
	}
	return tarball.WriteToFile(path, tag, img)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// corruptingWriter flips the first byte of the body.
type corruptingWriter struct {
	http.ResponseWriter
	done bool
}

func (c *corruptingWriter) Write(p []byte) (int, error) {
	if !c.done && len(p) > 0 {
		c.done = true
		q := bytes.Clone(p)
		q[0] ^= 0xff
		return c.ResponseWriter.Write(q)
	}
	return c.ResponseWriter.Write(p)
}
