package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/serviceaccount"
)

// tokens authenticates bearer tokens: the join token and service account tokens.
type tokens struct {
	join pki.Token
	sa   *serviceaccount.Authenticator
	log  *slog.Logger
}

// user authenticates t for one of audiences (nil: the API server's audiences).
func (k *tokens) user(ctx context.Context, t string, audiences []string) (apiserver.User, bool) {
	if t == k.join.String() {
		return apiserver.User{Name: "system:node-join", Groups: []string{"system:bootstrappers", "system:authenticated"}}, true
	}
	if k.sa == nil {
		return apiserver.User{}, false
	}
	a := k.sa
	if len(audiences) > 0 {
		c := *k.sa
		c.Audiences = audiences
		a = &c
	}
	u, err := a.Authenticate(ctx, t)
	if err != nil {
		if !errors.Is(err, serviceaccount.ErrNotOurs) {
			k.log.Debug("service account token refused", "err", err)
		}
		return apiserver.User{}, false
	}
	return apiserver.User{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}, true
}

// authenticate identifies the caller by a client certificate signed by the cluster CA (CN is
// the user, O the groups) or by a bearer token (the join token or a service account token).
// Issue "Secure by default" replaces this with the full authenticator chain.
func (k *tokens) authenticate(r *http.Request) (apiserver.User, bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		c := r.TLS.VerifiedChains[0][0]
		return apiserver.User{Name: c.Subject.CommonName, Groups: append(c.Subject.Organization, "system:authenticated")}, true
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && h[:7] == "Bearer " {
		return k.user(r.Context(), h[7:], nil)
	}
	return apiserver.User{}, false
}

// registryObjects reads the objects service account tokens name from the registry, with
// quorum reads: a token bound to a deleted pod stops working at once.
type registryObjects struct{ reg *registry.Registry }

var _ serviceaccount.Getter = registryObjects{}

func getAs[T any](ctx context.Context, reg *registry.Registry, resource, namespace, name string) (T, error) {
	var zero T
	obj, err := reg.Store(schema.GroupVersionResource{Version: "v1", Resource: resource}).Get(ctx, namespace, name, "")
	if err != nil {
		return zero, err
	}
	return obj.(T), nil
}

func (o registryObjects) ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	return getAs[*corev1.ServiceAccount](ctx, o.reg, "serviceaccounts", namespace, name)
}

func (o registryObjects) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	return getAs[*corev1.Pod](ctx, o.reg, "pods", namespace, name)
}

func (o registryObjects) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return getAs[*corev1.Secret](ctx, o.reg, "secrets", namespace, name)
}

func (o registryObjects) Node(ctx context.Context, name string) (*corev1.Node, error) {
	return getAs[*corev1.Node](ctx, o.reg, "nodes", "", name)
}
