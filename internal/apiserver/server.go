package apiserver

import (
	"context"
	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/google/uuid"

	"fmt"
	"github.com/skiff-project/skiff/internal/audit"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"

	"github.com/skiff-project/skiff/internal/registry"
)

// TableFunc renders items of one kind as a Table; includeObject is None, Metadata or Object.
type TableFunc func(gk schema.GroupKind, items []runtime.Object, now time.Time, includeObject string, noHeaders bool) (*metav1.Table, error)

// AuthResult is the outcome of authenticating a request.
type AuthResult int

// AuthResults.
const (
	// Anonymous: the request carries no credentials.
	Anonymous AuthResult = iota
	// Authenticated: the credentials identify a user.
	Authenticated
	// AuthFailed: the request carries credentials that identify nobody.
	AuthFailed
)

// User is an authenticated caller.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
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
	// Authenticate identifies the caller. Anonymous callers may read only the public paths;
	// callers whose credentials fail get 401 everywhere.
	Authenticate func(r *http.Request) (User, AuthResult)
	// Authorizer decides what callers may do; nil allows everything an authenticated caller
	// asks.
	Authorizer Authorizer
	// Handlers serve extra non-resource paths (exact match) to authenticated callers.
	Handlers map[string]http.Handler
	// Checks are the named readiness checks of /readyz (and /livez, /healthz).
	Checks map[string]func() error
	// Audit, if set, receives one event per request at the level its policy chooses.
	Audit *audit.Log
	// MaxBodyBytes limits request bodies (default 3 MiB).
	MaxBodyBytes int64
	// Log receives one line per failed request.
	Log *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// Kubelet, if set, is how pods/log, pods/exec, pods/attach, pods/portforward and nodes/proxy
	// reach the node's kubelet; nil answers them 503.
	Kubelet *KubeletClient
	// TokenRequest answers POST serviceaccounts/<name>/token; nil answers 404.
	TokenRequest func(ctx context.Context, namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error)
}

// Server is the API server's HTTP handler.
type Server struct {
	cfg     Config
	reg     *registry.Registry
	codecs  *codecs
	metrics *metrics
	disc    *discovery
	kubelet *kubeletProxy // nil without Config.Kubelet

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
	if cfg.Kubelet != nil {
		s.kubelet = newKubeletProxy(*cfg.Kubelet)
	}
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
	auditID := r.Header.Get("Audit-ID")
	if auditID == "" {
		auditID = uuid.NewString()
	}
	rec.Header().Set("Audit-Id", auditID)
	// user is the authenticated caller; impersonated, if set, the user it acts as.
	var user User
	var impersonated *User
	ctx, notes := registry.WithNotes(r.Context(), func(msg string) {
		if !rec.wroteHeader {
			addWarning(rec, msg)
		}
	})
	r = r.WithContext(ctx)
	s.metrics.inflight.Inc()
	defer func() {
		s.metrics.inflight.Dec()
		s.metrics.observe(ri, rec.code, s.cfg.Now().Sub(start))
		if s.cfg.Audit != nil {
			s.audit(r, ri, user, impersonated, auditID, start, rec, notes.Annotations())
		}
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
		u, result := s.cfg.Authenticate(r)
		user = u
		ok := result == Authenticated
		if result == AuthFailed || (!ok && !publicPath(r.URL.Path)) {
			s.writeError(rec, r, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		if !ok {
			user = User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}
		}
		actor := user
		imp, err := s.impersonate(r, user)
		if err != nil {
			s.writeError(rec, r, err)
			return
		}
		if imp != nil {
			impersonated, actor = imp, *imp
		}
		if s.cfg.Authorizer != nil && !(publicPath(r.URL.Path) && !ok) {
			a := attributesOf(r, ri, actor)
			allowed, reason, err := s.cfg.Authorizer.Authorize(r.Context(), a)
			if err != nil && reason == "" {
				reason = err.Error()
			}
			if !allowed {
				s.writeError(rec, r, forbidden(a, reason))
				return
			}
		}
		r = r.WithContext(registry.WithUser(r.Context(), registry.UserInfo{Name: actor.Name, UID: actor.UID, Groups: actor.Groups, Extra: actor.Extra}))
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
	// status is the error Status written, if any (for the audit log).
	status *metav1.Status
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
	names := []string{"ping", "etcd", "poststarthook/start-apiserver"}
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

// audit writes the request's audit event, if the policy wants one.
func (s *Server) audit(r *http.Request, ri *RequestInfo, u User, impersonated *User, id string, start time.Time, rec *statusRecorder, annotations map[string]string) {
	verb := ri.Verb
	if !ri.IsResourceRequest {
		verb = strings.ToLower(r.Method)
	}
	au := audit.UserInfo{Username: u.Name, Groups: u.Groups}
	level, omit := s.cfg.Audit.Policy.LevelFor(audit.Attributes{User: au, Verb: verb, Namespace: ri.Namespace, Group: ri.Group,
		Resource: ri.Resource, Subresource: ri.Subresource, Name: ri.Name, Path: r.URL.Path, IsResource: ri.IsResourceRequest})
	if level == audit.LevelNone || contains(omit, "ResponseComplete") {
		return
	}
	e := &audit.Event{
		Level: audit.LevelMetadata, AuditID: types.UID(id), Stage: "ResponseComplete", RequestURI: r.URL.RequestURI(), Verb: verb,
		User: au, SourceIPs: sourceIPs(r), UserAgent: r.UserAgent(),
		RequestReceivedTimestamp: metav1.NewMicroTime(start), StageTimestamp: metav1.NewMicroTime(s.cfg.Now()),
		Annotations: annotations,
	}
	if impersonated != nil {
		e.ImpersonatedUser = &audit.UserInfo{Username: impersonated.Name, Groups: impersonated.Groups}
	}
	if ri.IsResourceRequest {
		e.ObjectRef = &audit.ObjectReference{Resource: ri.Resource, Namespace: ri.Namespace, Name: ri.Name,
			APIGroup: ri.Group, APIVersion: ri.Version, Subresource: ri.Subresource}
	}
	if rec.status != nil {
		st := *rec.status
		st.TypeMeta, st.Details = metav1.TypeMeta{}, nil
		e.ResponseStatus = &st
	} else {
		e.ResponseStatus = &metav1.Status{Code: int32(rec.code)}
	}
	s.cfg.Audit.Write(e)
}

// sourceIPs lists the client's address, after any X-Forwarded-For addresses.
func sourceIPs(r *http.Request) []string {
	var ips []string
	if f := r.Header.Get("X-Forwarded-For"); f != "" {
		for _, ip := range strings.Split(f, ",") {
			ips = append(ips, strings.TrimSpace(ip))
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ips = append(ips, host)
	}
	return ips
}
