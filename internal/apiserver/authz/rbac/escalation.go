package rbac

import (
	"context"
	"errors"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/registry"
)

// SystemPrivilegedGroup is upstream's system:masters: its members may do anything, and the
// server's own loopback identity is one of them.
const SystemPrivilegedGroup = "system:masters"

// RuleResolver tells which rules a user holds and which rules a binding's role grants.
type RuleResolver interface {
	PolicyRulesFor(ctx context.Context, u apiserver.User, namespace string) ([]rbacv1.PolicyRule, error)
	RoleRefRules(ctx context.Context, ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error)
}

// Escalation is the admission check on writes of rbac.authorization.k8s.io objects (upstream
// enforces it in the RBAC storage; here it is a validating admission plugin):
//   - a Role or ClusterRole may be created or updated only by a user who holds every rule in
//     it, or who may "escalate" it; an aggregationRule needs full authority;
//   - a binding may be created or updated only by a user who may "bind" the role it refers
//     to, or who holds every rule of that role in the binding's namespace.
//
// Members of system:masters are not checked.
type Escalation struct {
	// Authorizer decides the escalate and bind verbs (the whole chain, as upstream).
	Authorizer apiserver.Authorizer
	// Rules resolves held and granted rules.
	Rules RuleResolver
}

var _ registry.Admission = (*Escalation)(nil)

// fullAuthority is what cluster-admin holds.
var fullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
	{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
}

// Admit does nothing: the check only validates.
func (e *Escalation) Admit(context.Context, *registry.AdmissionAttributes) error { return nil }

// Validate refuses a write that would grant permissions its author does not hold.
func (e *Escalation) Validate(ctx context.Context, a *registry.AdmissionAttributes) error {
	if a.Resource == nil || a.Resource.GVK.Group != rbacv1.GroupName || a.Subresource != "" {
		return nil
	}
	if a.Operation != registry.OperationCreate && a.Operation != registry.OperationUpdate {
		return nil
	}
	u := apiserver.User{Name: a.User.Name, UID: a.User.UID, Groups: a.User.Groups, Extra: a.User.Extra}
	if contains(u.Groups, SystemPrivilegedGroup) {
		return nil
	}
	if a.Operation == registry.OperationUpdate && onlyGCFieldsChanged(a.Object, a.OldObject) {
		return nil
	}
	gr := a.Resource.GroupResource()
	switch obj := a.Object.(type) {
	case *rbacv1.Role:
		if e.escalateAllowed(ctx, u, gr.Resource, obj.Namespace, obj.Name) {
			return nil
		}
		return e.confirmNoEscalation(ctx, u, gr, obj.Name, obj.Namespace, obj.Rules)
	case *rbacv1.ClusterRole:
		if e.escalateAllowed(ctx, u, gr.Resource, "", obj.Name) {
			return nil
		}
		if err := e.confirmNoEscalation(ctx, u, gr, obj.Name, "", obj.Rules); err != nil {
			return err
		}
		if obj.AggregationRule != nil && len(obj.AggregationRule.ClusterRoleSelectors) > 0 {
			if e.confirmNoEscalation(ctx, u, gr, obj.Name, "", fullAuthority) != nil {
				return apierrors.NewForbidden(gr, obj.Name, errors.New("must have cluster-admin privileges to use the aggregationRule"))
			}
		}
		return nil
	case *rbacv1.RoleBinding:
		return e.checkBinding(ctx, u, gr, obj.Name, obj.Namespace, obj.RoleRef)
	case *rbacv1.ClusterRoleBinding:
		return e.checkBinding(ctx, u, gr, obj.Name, "", obj.RoleRef)
	}
	return nil
}

func (e *Escalation) allowed(ctx context.Context, a apiserver.Attributes) bool {
	if e.Authorizer == nil {
		return false
	}
	ok, _, err := e.Authorizer.Authorize(ctx, a)
	return ok && err == nil
}

// escalateAllowed reports whether u has the escalate verb on the role being written.
func (e *Escalation) escalateAllowed(ctx context.Context, u apiserver.User, resource, ns, name string) bool {
	return e.allowed(ctx, apiserver.Attributes{User: u, Verb: "escalate", IsResourceRequest: true, APIGroup: rbacv1.GroupName,
		APIVersion: "*", Resource: resource, Namespace: ns, Name: name})
}

// checkBinding allows a binding whose author may bind its role or holds the role's rules.
func (e *Escalation) checkBinding(ctx context.Context, u apiserver.User, gr schema.GroupResource, name, ns string, ref rbacv1.RoleRef) error {
	resource := ""
	switch ref.Kind {
	case "ClusterRole":
		resource = "clusterroles"
	case "Role":
		resource = "roles"
	}
	// Checked in the binding's namespace: bind on a ClusterRole may be delegated per namespace.
	if resource != "" && e.allowed(ctx, apiserver.Attributes{User: u, Verb: "bind", IsResourceRequest: true, APIGroup: ref.APIGroup,
		Resource: resource, Namespace: ns, Name: ref.Name}) {
		return nil
	}
	rules, err := e.Rules.RoleRefRules(ctx, ref, ns)
	if err != nil {
		return err
	}
	return e.confirmNoEscalation(ctx, u, gr, name, ns, rules)
}

// confirmNoEscalation refuses, with upstream's message, rules that u does not hold in ns.
func (e *Escalation) confirmNoEscalation(ctx context.Context, u apiserver.User, gr schema.GroupResource, name, ns string, rules []rbacv1.PolicyRule) error {
	held, resolveErr := e.Rules.PolicyRulesFor(ctx, u, ns)
	covered, missing := validation.Covers(held, rules)
	if covered {
		return nil
	}
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s", u.Name, u.Groups, describeRules(missing))
	if resolveErr != nil {
		msg += fmt.Sprintf("; resolution errors: %v", resolveErr)
	}
	return apierrors.NewForbidden(gr, name, errors.New(msg))
}

// onlyGCFieldsChanged reports whether an update changes nothing but owner references,
// finalizers and managed fields (which the garbage collector and appliers write).
func onlyGCFieldsChanged(obj, old runtime.Object) bool {
	if obj == nil || old == nil {
		return false
	}
	cp := obj.DeepCopyObject()
	m, err1 := meta.Accessor(cp)
	o, err2 := meta.Accessor(old)
	if err1 != nil || err2 != nil {
		return false
	}
	m.SetOwnerReferences(o.GetOwnerReferences())
	m.SetFinalizers(o.GetFinalizers())
	m.SetManagedFields(o.GetManagedFields())
	m.SetResourceVersion(o.GetResourceVersion())
	m.SetGeneration(o.GetGeneration())
	return equality.Semantic.DeepEqual(cp, old)
}
