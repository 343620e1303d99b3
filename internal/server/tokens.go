package server

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/apiserver/authn"
	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/serviceaccount"
)

// tokens authenticates bearer tokens: static tokens (--token-auth-file), the join token and
// service account tokens.
type tokens struct {
	static authn.StaticTokens
	join   pki.Token
	sa     *serviceaccount.Authenticator
	log    *slog.Logger
}

// user authenticates t for one of audiences (nil: the API server's audiences).
func (k *tokens) user(ctx context.Context, t string, audiences []string) (apiserver.User, bool) {
	if u, ok := k.static[t]; ok {
		return u, true
	}
	if subtle.ConstantTimeCompare([]byte(t), []byte(k.join.String())) == 1 {
		return apiserver.User{Name: "system:node-join", Groups: []string{"system:bootstrappers", authn.AllAuthenticated}}, true
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

// authenticator is the API server's authenticator chain: client certificates signed by ca, then
// the bearer tokens k knows.
func (k *tokens) authenticator(ca *x509.CertPool) *authn.Chain {
	return &authn.Chain{ClientCAs: ca, Tokens: []authn.TokenAuthenticator{
		authn.TokenFunc(func(ctx context.Context, t string) (apiserver.User, bool) { return k.user(ctx, t, nil) }),
	}}
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
