package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	psapi "k8s.io/pod-security-admission/api"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/apiserver/admission/limitranger"
	"github.com/skiff-project/skiff/internal/apiserver/admission/podsecurity"
	"github.com/skiff-project/skiff/internal/apiserver/admission/priority"
	"github.com/skiff-project/skiff/internal/apiserver/admission/resourcequota"
	saadmission "github.com/skiff-project/skiff/internal/apiserver/admission/serviceaccount"
	"github.com/skiff-project/skiff/internal/apiserver/authz/bootstrappolicy"
	"github.com/skiff-project/skiff/internal/apiserver/authz/node"
	"github.com/skiff-project/skiff/internal/apiserver/authz/rbac"
	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// authorization is the server's authorizer chain, as upstream's
// --authorization-mode=Node,RBAC behind the system:masters privileged group, and the admission
// checks that belong with it.
type authorization struct {
	rbac  *rbac.Authorizer
	node  *node.Authorizer
	chain authorizerChain
}

// newAuthorization builds the chain over reg's caches; the RBAC snapshot follows RBAC
// changes until ctx ends.
func newAuthorization(ctx context.Context, reg *registry.Registry) *authorization {
	src := rbac.NewRegistrySource(reg)
	z := &authorization{rbac: rbac.New(src), node: node.New(node.NewRegistrySource(reg))}
	src.Watch(ctx, z.rbac.Invalidate)
	z.chain = authorizerChain{privilegedGroup(bootstrappolicy.SystemPrivilegedGroup), z.node, z.rbac}
	return z
}

// admission returns the server's admission chain in upstream's order (NamespaceLifecycle is
// each store's NamespaceCheck, and DefaultTolerationSeconds part of pod defaulting):
// LimitRanger, ServiceAccount, NodeRestriction, PodSecurity, Priority, RBAC escalation prevention, and
// ResourceQuota last, so that only writes every other plugin accepted are charged.
func (z *authorization) admission(limits *limitranger.Plugin, serviceAccounts *saadmission.Plugin, podSecurity *podsecurity.Plugin, priorities *priority.Plugin, quotas *resourcequota.Plugin) registry.Admission {
	return admissionChain{limits, serviceAccounts, node.Restriction{}, podSecurity, priorities, &rbac.Escalation{Authorizer: z.chain, Rules: z.rbac}, quotas}
}

// reconcilePolicy writes the default RBAC policy (bootstrappolicy.Reconcile).
func reconcilePolicy(ctx context.Context, reg *registry.Registry, log *slog.Logger) error {
	ctx = registry.WithUser(ctx, registry.UserInfo{Name: "system:apiserver", Groups: []string{bootstrappolicy.SystemPrivilegedGroup}})
	res, err := bootstrappolicy.Reconcile(ctx, reg)
	if err != nil {
		return fmt.Errorf("rbac bootstrap policy: %w", err)
	}
	log.Info("rbac bootstrap policy reconciled", "created", res.Created, "updated", res.Updated, "protected", res.Protected)
	return nil
}

// privilegedGroup allows every request of a member of group.
func privilegedGroup(group string) apiserver.Authorizer {
	return apiserver.AuthorizerFunc(func(_ context.Context, a apiserver.Attributes) (bool, string, error) {
		for _, g := range a.User.Groups {
			if g == group {
				return true, "", nil
			}
		}
		return false, "", nil
	})
}

// authorizerChain asks each authorizer in turn; the first that allows decides. A denial
// carries every reason given, one per line, as upstream's union authorizer.
type authorizerChain []apiserver.Authorizer

// Authorize asks each authorizer in turn.
func (c authorizerChain) Authorize(ctx context.Context, a apiserver.Attributes) (bool, string, error) {
	var reasons []string
	var errs []error
	for _, z := range c {
		ok, reason, err := z.Authorize(ctx, a)
		if ok {
			return true, reason, nil
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return false, strings.Join(reasons, "\n"), utilerrors.NewAggregate(errs)
}

// nodeRules is the node authorizer's part of a rules review.
type nodeRules interface {
	RulesFor(ctx context.Context, u apiserver.User, namespace string) (incomplete bool, err error)
}

// RulesFor lists what u may do in namespace, from every authorizer that can say
// (SelfSubjectRulesReview).
func (c authorizerChain) RulesFor(ctx context.Context, u apiserver.User, namespace string) ([]authorizationv1.ResourceRule, []authorizationv1.NonResourceRule, bool, error) {
	var rr []authorizationv1.ResourceRule
	var nr []authorizationv1.NonResourceRule
	incomplete := false
	var errs []error
	for _, z := range c {
		switch z := z.(type) {
		case RulesResolver:
			r, n, inc, err := z.RulesFor(ctx, u, namespace)
			rr, nr = append(rr, r...), append(nr, n...)
			incomplete = incomplete || inc
			if err != nil {
				errs = append(errs, err)
			}
		case nodeRules:
			inc, err := z.RulesFor(ctx, u, namespace)
			incomplete = incomplete || inc
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return rr, nr, incomplete, utilerrors.NewAggregate(errs)
}

// admissionChain runs admission plugins in order: every Admit, then every Validate.
type admissionChain []registry.Admission

// Admit runs each plugin's Admit.
func (c admissionChain) Admit(ctx context.Context, a *registry.AdmissionAttributes) error {
	for _, p := range c {
		if err := p.Admit(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// Validate runs each plugin's Validate.
func (c admissionChain) Validate(ctx context.Context, a *registry.AdmissionAttributes) error {
	for _, p := range c {
		if err := p.Validate(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// newPodSecurity returns the PodSecurity plugin with the cluster default policy: enforce at
// enforce ("" is privileged), warn and audit at baseline.
func newPodSecurity(reg *registry.Registry, enforce string) (*podsecurity.Plugin, error) {
	if enforce == "" {
		enforce = string(psapi.LevelPrivileged)
	}
	level, err := psapi.ParseLevel(enforce)
	if err != nil {
		return nil, fmt.Errorf("--pod-security-enforce: %w", err)
	}
	namespaces := reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	pods := reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "pods"})
	return podsecurity.New(podsecurity.Plugin{
		Defaults: podsecurity.DefaultPolicy(level),
		// Namespaces are read from the watch cache, as upstream's plugin reads an informer: a
		// label changed a moment ago applies as soon as the cache has it (a consistent read
		// here would cost every pod create about 10%). The existing pods checked when an
		// enforce level rises are listed consistently: that is rare, and must see them all.
		Namespace: func(ctx context.Context, name string) (*corev1.Namespace, error) {
			obj, err := namespaces.Get(ctx, "", name, "0")
			if apierrors.IsNotFound(err) {
				obj, err = namespaces.Get(ctx, "", name, "")
			}
			if err != nil {
				return nil, err
			}
			return obj.(*corev1.Namespace), nil
		},
		Pods: func(ctx context.Context, namespace string) ([]*corev1.Pod, error) {
			l, err := pods.List(ctx, namespace, storage.ListOptions{})
			if err != nil {
				return nil, err
			}
			out := make([]*corev1.Pod, 0, len(l.Items))
			for _, o := range l.Items {
				out = append(out, o.(*corev1.Pod))
			}
			return out, nil
		},
	})
}
