package streaming

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// User is an authenticated caller: a client certificate's CN and O entries.
type User struct {
	Name   string
	Groups []string
}

// Attributes are what a request asks of the node, for authorization: Verb on the Subresource
// of the Node Name.
type Attributes struct {
	User        User
	Verb        string
	Name        string
	Subresource string
	Path        string
}

// Authorizer decides whether a request may proceed; reason explains a denial, and an error means
// no decision could be made (the request is refused).
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (allowed bool, reason string, err error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, a Attributes) (bool, string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, a Attributes) (bool, string, error) {
	return f(ctx, a)
}

// userOf authenticates the request's verified client certificate.
func userOf(r *http.Request) (User, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return User{}, false
	}
	c := r.TLS.PeerCertificates[0]
	if c.Subject.CommonName == "" {
		return User{}, false
	}
	groups := append(slices.Clone(c.Subject.Organization), "system:authenticated")
	return User{Name: c.Subject.CommonName, Groups: groups}, true
}

// verbOf maps the request to an API verb, as upstream's kubelet does; exec, attach and
// portForward are always create (see the package documentation).
func verbOf(r *http.Request) string {
	for _, p := range []string{"/exec/", "/attach/", "/portForward/", "/run/"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return "create"
		}
	}
	switch r.Method {
	case http.MethodPost:
		return "create"
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(r.Method)
}

// subresourcesOf lists the nodes subresources that may allow the request, in the order asked.
func subresourcesOf(path string) []string {
	under := func(prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }
	switch {
	case under("/stats"):
		return []string{"stats"}
	case under("/metrics"):
		return []string{"metrics"}
	case under("/logs"):
		return []string{"log"}
	case under("/pods"):
		return []string{"pods", "proxy"}
	case under("/healthz"):
		return []string{"healthz", "proxy"}
	}
	return []string{"proxy"}
}

// authorize decides the request, and answers it when refused, with upstream's kubelet message.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, u User) bool {
	a := Attributes{User: u, Verb: verbOf(r), Name: s.cfg.NodeName, Path: r.URL.Path}
	for _, sub := range subresourcesOf(r.URL.Path) {
		a.Subresource = sub
		ok, reason, err := s.cfg.Authorizer.Authorize(r.Context(), a)
		if err != nil {
			s.cfg.Log.Warn("authorization failed", "user", u.Name, "verb", a.Verb, "subresource", sub, "err", err)
			http.Error(w, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=nodes, subresource=%s)", u.Name, a.Verb, sub), http.StatusInternalServerError)
			return false
		}
		if ok {
			return true
		}
		if reason != "" {
			s.cfg.Log.Debug("forbidden", "user", u.Name, "verb", a.Verb, "subresource", sub, "reason", reason)
		}
	}
	http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)", u.Name, a.Verb, a.Subresource), http.StatusForbidden)
	return false
}

// Cache lifetimes of SubjectAccessReview answers: upstream's kubelet webhook defaults.
const (
	allowedTTL = 5 * time.Minute
	deniedTTL  = 30 * time.Second
	// maxCached bounds the cache; it is emptied when full.
	maxCached = 4096
)

// SubjectAccessReviewer authorizes requests with SubjectAccessReviews through client (the
// node's own credentials may create them: system:node has that rule), caching the answers for
// upstream's 5 minutes (allowed) and 30 seconds (denied).
func SubjectAccessReviewer(client authorizationclient.SubjectAccessReviewInterface, now func() time.Time) Authorizer {
	if now == nil {
		now = time.Now
	}
	return &sarAuthorizer{client: client, now: now, cache: map[string]sarAnswer{}}
}

type sarAuthorizer struct {
	client authorizationclient.SubjectAccessReviewInterface
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]sarAnswer
}

type sarAnswer struct {
	allowed bool
	reason  string
	expires time.Time
}

func (z *sarAuthorizer) Authorize(ctx context.Context, a Attributes) (bool, string, error) {
	key := strings.Join([]string{a.User.Name, strings.Join(a.User.Groups, ","), a.Verb, a.Name, a.Subresource}, "\x00")
	now := z.now()
	z.mu.Lock()
	if ans, ok := z.cache[key]; ok && now.Before(ans.expires) {
		z.mu.Unlock()
		return ans.allowed, ans.reason, nil
	}
	z.mu.Unlock()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: a.User.Name, Groups: a.User.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.Verb, Resource: "nodes", Subresource: a.Subresource, Name: a.Name},
	}}
	out, err := z.client.Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("subject access review: %w", err)
	}
	ans := sarAnswer{allowed: out.Status.Allowed, reason: out.Status.Reason, expires: now.Add(deniedTTL)}
	if ans.allowed {
		ans.expires = now.Add(allowedTTL)
	}
	z.mu.Lock()
	if len(z.cache) >= maxCached {
		clear(z.cache)
	}
	z.cache[key] = ans
	z.mu.Unlock()
	return ans.allowed, ans.reason, nil
}
