package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/skiff-project/skiff/internal/apiserver"
	saadmission "github.com/skiff-project/skiff/internal/apiserver/admission/serviceaccount"
	"github.com/skiff-project/skiff/internal/apiserver/authz/bootstrappolicy"
	"github.com/skiff-project/skiff/internal/apiserver/authz/node"
	"github.com/skiff-project/skiff/internal/apiserver/authz/rbac"
	"github.com/skiff-project/skiff/internal/registry"
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

// admission returns the server's admission chain, in upstream's order: ServiceAccount, then
// the checks of authorization: NodeRestriction and RBAC escalation prevention.
func (z *authorization) admission(serviceAccounts *saadmission.Plugin) registry.Admission {
	return admissionChain{serviceAccounts, node.Restriction{}, &rbac.Escalation{Authorizer: z.chain, Rules: z.rbac}}
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
