package rbac

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/skiff-project/skiff/internal/apiserver"
)

// Source lists the current RBAC objects.
type Source interface {
	// Objects returns every Role, ClusterRole, RoleBinding and ClusterRoleBinding. fresh asks
	// for a read that includes every write acknowledged before the call.
	Objects(ctx context.Context, fresh bool) (*Objects, error)
}

// StaticSource serves fixed objects (for tests and tools).
type StaticSource struct{ Objs *Objects }

// Objects returns s.Objs.
func (s StaticSource) Objects(context.Context, bool) (*Objects, error) { return s.Objs, nil }

// Authorizer is the RBAC authorizer. It is safe for concurrent use.
type Authorizer struct {
	src   Source
	snap  atomic.Pointer[snapshot]
	dirty atomic.Bool
	// mu serialises rebuilds; refreshes counts consistent re-reads, so that callers waiting for
	// one can use another's.
	mu        sync.Mutex
	refreshes atomic.Uint64
}

var _ apiserver.Authorizer = (*Authorizer)(nil)

// New returns an authorizer over src. Call Invalidate whenever src's objects change.
func New(src Source) *Authorizer {
	a := &Authorizer{src: src}
	a.dirty.Store(true)
	return a
}

// Invalidate marks the snapshot stale: the next decision rebuilds it.
func (a *Authorizer) Invalidate() { a.dirty.Store(true) }

// current returns the snapshot, rebuilding it first if it is stale.
func (a *Authorizer) current(ctx context.Context) (*snapshot, error) {
	if s := a.snap.Load(); s != nil && !a.dirty.Load() {
		return s, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.snap.Load(); s != nil && !a.dirty.Load() {
		return s, nil
	}
	// Cleared before reading, so that a change during the read marks the result stale again.
	a.dirty.Store(false)
	objs, err := a.src.Objects(ctx, false)
	if err != nil {
		a.dirty.Store(true)
		if s := a.snap.Load(); s != nil {
			return s, nil
		}
		return nil, err
	}
	s := newSnapshot(objs)
	a.snap.Store(s)
	return s, nil
}

// refresh re-reads the objects consistently and returns a snapshot that includes every write
// acknowledged before the call, rebuilt only if the objects differ. Concurrent callers share
// one read.
func (a *Authorizer) refresh(ctx context.Context) (*snapshot, error) {
	seen := a.refreshes.Load()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refreshes.Load() != seen {
		// Another caller refreshed after this one asked.
		return a.snap.Load(), nil
	}
	objs, err := a.src.Objects(ctx, true)
	if err != nil {
		return nil, err
	}
	a.refreshes.Add(1)
	if s := a.snap.Load(); s != nil && s.fingerprint == fingerprint(objs) {
		return s, nil
	}
	s := newSnapshot(objs)
	a.snap.Store(s)
	return s, nil
}

// Authorize allows a request that some role bound to the caller grants.
func (a *Authorizer) Authorize(ctx context.Context, attrs apiserver.Attributes) (bool, string, error) {
	s, err := a.current(ctx)
	if err != nil {
		return false, "", err
	}
	if ok, reason := s.authorize(attrs); ok {
		return true, reason, nil
	}
	// A binding may have been written a moment ago and not reached the cache or the watch yet.
	s, err = a.refresh(ctx)
	if err != nil {
		return false, "", err
	}
	ok, reason := s.authorize(attrs)
	return ok, reason, nil
}

// PolicyRulesFor returns the rules u holds in namespace ns ("" for cluster-wide ones only).
// The error lists bindings whose role does not exist; the rules are still those that resolve.
func (a *Authorizer) PolicyRulesFor(ctx context.Context, u apiserver.User, ns string) ([]rbacv1.PolicyRule, error) {
	s, err := a.refresh(ctx)
	if err != nil {
		return nil, err
	}
	rules, errs := s.rulesFor(u, ns)
	return rules, utilerrors.NewAggregate(errs)
}

// RoleRefRules returns the rules of the role a binding in namespace ns refers to.
func (a *Authorizer) RoleRefRules(ctx context.Context, ref rbacv1.RoleRef, ns string) ([]rbacv1.PolicyRule, error) {
	s, err := a.refresh(ctx)
	if err != nil {
		return nil, err
	}
	return s.roleRefRules(ref, ns)
}

// RulesFor lists what u may do in namespace ns, for SelfSubjectRulesReview.
func (a *Authorizer) RulesFor(ctx context.Context, u apiserver.User, ns string) ([]authorizationv1.ResourceRule, []authorizationv1.NonResourceRule, bool, error) {
	s, err := a.current(ctx)
	if err != nil {
		return nil, nil, true, err
	}
	rules, errs := s.rulesFor(u, ns)
	rr, nr := ConvertRules(rules)
	if len(errs) > 0 {
		return rr, nr, true, fmt.Errorf("%v", utilerrors.NewAggregate(errs))
	}
	return rr, nr, false, nil
}

// ConvertRules splits policy rules into the resource and non-resource rules of a
// SelfSubjectRulesReview.
func ConvertRules(rules []rbacv1.PolicyRule) ([]authorizationv1.ResourceRule, []authorizationv1.NonResourceRule) {
	var rr []authorizationv1.ResourceRule
	var nr []authorizationv1.NonResourceRule
	for _, r := range rules {
		if len(r.Resources) > 0 {
			rr = append(rr, authorizationv1.ResourceRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
		}
		if len(r.NonResourceURLs) > 0 {
			nr = append(nr, authorizationv1.NonResourceRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
		}
	}
	return rr, nr
}
