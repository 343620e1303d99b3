package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/skiff-project/skiff/internal/registry"
)

// TableFunc renders items of one kind as a Table; includeObject is None, Metadata or Object.
type TableFunc func(gk schema.GroupKind, items []runtime.Object, now time.Time, includeObject string, noHeaders bool) (*metav1.Table, error)

// User is an authenticated caller.
type User struct {
	Name   string
	Groups []string
}

// Config configures the API server's HTTP handler.
type Config struct {
	Registry *registry.Registry
	// Tables renders server-side Tables; nil gives NAME and AGE only.
	Tables TableFunc
	// OpenAPI serves /openapi/v3 and below; nil answers 404.
	OpenAPI http.Handler
	// Version is served at /version.
	Version version.Info
	// Authenticate identifies the caller; ok false means anonymous.
	Authenticate func(r *http.Request) (User, bool)
	// Handlers serve extra non-resource paths (exact match) to authenticated callers.
	Handlers map[string]http.Handler
	// Checks are the named readiness checks of /readyz (and /livez, /healthz).
	Checks map[string]func() error
	// MaxBodyBytes limits request bodies (default 3 MiB).
	MaxBodyBytes int64
	// Log receives one line per failed request.
	Log *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// Server is the API server's HTTP handler.
type Server struct {
	cfg     Config
	reg     *registry.Registry
	codecs  *codecs
	metrics *metrics
	disc    *discovery

	// ctx ends open watches on shutdown.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the handler.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 3 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, reg: cfg.Registry, codecs: newCodecs(cfg.Registry.Scheme), ctx: ctx, cancel: cancel}
	s.metrics = newMetrics()
	s.disc = newDiscovery(cfg.Registry)
	return s
}

// Shutdown ends every open watch and waits for their handlers to return.
func (s *Server) Shutdown() {
	s.cancel()
	s.wg.Wait()
}

// publicPaths may be read without credentials, as upstream's system:public-info-viewer allows.
func publicPath(p string) bool {
	switch p {
	case "/healthz", "/livez", "/readyz", "/version", "/version/":
		return true
	}
	return strings.HasPrefix(p, "/healthz/") || strings.HasPrefix(p, "/livez/") || strings.HasPrefix(p, "/readyz/")
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	ri := ParseRequestInfo(r)
	s.metrics.inflight.Inc()
	defer func() {
		s.metrics.inflight.Dec()
		s.metrics.observe(ri, rec.code, s.cfg.Now().Sub(start))
	}()
	defer func() {
		// As upstream's panic filter: a bug in a handler is a 500 for that request, logged.
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.cfg.Log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rec.wroteHeader {
				s.writeError(rec, r, apierrors.NewInternalError(fmt.Errorf("%v", p)))
			}
		}
	}()
	if s.cfg.Authenticate != nil {
		u, ok := s.cfg.Authenticate(r)
		if !ok && !publicPath(r.URL.Path) {
			s.writeError(rec, r, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		if ok {
			r = r.WithContext(registry.WithUser(r.Context(), registry.UserInfo{Name: u.Name, Groups: u.Groups}))
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		r = r.WithContext(registry.WithManager(r.Context(), r.URL.Query().Get("fieldManager"), r.Header.Get("User-Agent")))
	}
	p := r.URL.Path
	switch {
	case p == "/version" || p == "/version/":
		writeJSON(rec, http.StatusOK, s.cfg.Version)
	case p == "/healthz" || p == "/livez" || p == "/readyz" || strings.HasPrefix(p, "/healthz/") || strings.HasPrefix(p, "/livez/") || strings.HasPrefix(p, "/readyz/"):
		s.serveHealth(rec, r)
	case s.cfg.Handlers[p] != nil:
		s.cfg.Handlers[p].ServeHTTP(rec, r)
	case p == "/metrics":
		s.metrics.handler.ServeHTTP(rec, r)
	case strings.HasPrefix(p, "/openapi/"):
		if s.cfg.OpenAPI == nil {
			http.NotFound(rec, r)
			return
		}
		s.cfg.OpenAPI.ServeHTTP(rec, r)
	case p == "/api" || p == "/api/" || p == "/apis" || p == "/apis/":
		s.disc.serveRoot(rec, r, strings.Trim(p, "/"))
	case !ri.IsResourceRequest && (strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/apis/")):
		s.disc.serveGroupOrVersion(rec, r, ri, strings.Trim(p, "/"))
	case ri.IsResourceRequest:
		s.serveResource(rec, r, ri)
	default:
		s.writeError(rec, r, apierrors.NewGenericServerResponse(http.StatusNotFound, "", schema.GroupResource{}, "", "the server could not find the requested resource", 0, false))
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (for upgrades and deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	name := strings.Trim(r.URL.Path, "/")
	check := ""
	if i := strings.Index(name, "/"); i >= 0 {
		name, check = name[:i], name[i+1:]
	}
	verbose := r.URL.Query().Has("verbose")
	var lines []string
	failed := false
	names := []string{"ping", "etcd", "informer-sync", "poststarthook/start-apiserver"}
	for n := range s.cfg.Checks {
		if !contains(names, n) {
			names = append(names, n)
		}
	}
	for _, n := range names {
		if check != "" && n != check {
			continue
		}
		var err error
		if f := s.cfg.Checks[n]; f != nil {
			err = f()
		} else if n != "ping" && n != "poststarthook/start-apiserver" {
			continue
		}
		if err != nil {
			failed = true
			lines = append(lines, "[-]"+n+" failed: reason withheld")
			s.cfg.Log.Warn("health check failed", "endpoint", name, "check", n, "err", err)
		} else {
			lines = append(lines, "[+]"+n+" ok")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(strings.Join(lines, "\n") + "\n" + name + " check failed\n"))
		return
	}
	if verbose {
		_, _ = w.Write([]byte(strings.Join(lines, "\n") + "\n" + name + " check passed\n"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
