package bootstrappolicy

import (
	"context"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/component-helpers/auth/rbac/reconciliation"

	"github.com/skiff-project/skiff/internal/controller/clusterroleaggregation"
	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// Result counts what Reconcile did.
type Result struct {
	Created, Updated, Protected int
}

// retiredClusterPolicy names ClusterRoles and ClusterRoleBindings that earlier versions of skiff
// created and that Reconcile deletes: skiff:node-join gave the join token every node's rights,
// Secrets included, before nodes had credentials of their own.
var retiredClusterPolicy = []string{"skiff:node-join"}

// Reconcile writes the default policy through reg, as upstream's RBAC post-start hook does:
// missing objects are created; existing ones gain missing rules, aggregation selectors,
// subjects, labels and annotations, unless annotated rbac.authorization.kubernetes.io/autoupdate
// "false"; nothing is removed but the retired objects of earlier versions. ctx must carry a privileged user.
func Reconcile(ctx context.Context, reg *registry.Registry) (Result, error) {
	var res Result
	count := func(op reconciliation.ReconcileOperation, protected bool) {
		switch {
		case protected:
			res.Protected++
		case op == reconciliation.ReconcileCreate:
			res.Created++
		case op == reconciliation.ReconcileUpdate || op == reconciliation.ReconcileRecreate:
			res.Updated++
		}
	}
	st := func(resource string) *registry.Store {
		return reg.Store(schema.GroupVersionResource{Group: rbacv1.GroupName, Version: "v1", Resource: resource})
	}
	roles := &ownerStore{ctx: ctx, st: st("clusterroles")}
	for _, r := range AllClusterRoles() {
		r := r
		out, err := (&reconciliation.ReconcileRoleOptions{Role: reconciliation.ClusterRoleRuleOwner{ClusterRole: &r}, Confirm: true, Client: roles}).Run()
		if err != nil {
			return res, fmt.Errorf("clusterrole %s: %w", r.Name, err)
		}
		count(out.Operation, out.Protected)
	}
	// Aggregated roles are filled in now rather than by the aggregation controller once it
	// starts, so that admin, edit and view grant what they should from the first request.
	n, err := aggregate(ctx, roles.st)
	if err != nil {
		return res, err
	}
	res.Updated += n
	bindings := &bindingStore{ctx: ctx, st: st("clusterrolebindings")}
	for _, b := range ClusterRoleBindings() {
		b := b
		out, err := (&reconciliation.ReconcileRoleBindingOptions{RoleBinding: reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: &b}, Confirm: true, Client: bindings}).Run()
		if err != nil {
			return res, fmt.Errorf("clusterrolebinding %s: %w", b.Name, err)
		}
		count(out.Operation, out.Protected)
	}
	// Objects earlier versions of skiff created and no longer grant.
	for _, name := range retiredClusterPolicy {
		for _, resource := range []string{"clusterrolebindings", "clusterroles"} {
			if _, _, err := st(resource).Delete(ctx, "", name, nil, false); err != nil && !apierrors.IsNotFound(err) {
				return res, fmt.Errorf("retire %s %s: %w", resource, name, err)
			}
		}
	}
	nsRoles := &ownerStore{ctx: ctx, st: st("roles")}
	for _, r := range NamespaceRoles() {
		r := r
		out, err := (&reconciliation.ReconcileRoleOptions{Role: reconciliation.RoleRuleOwner{Role: &r}, Confirm: true, Client: nsRoles}).Run()
		if err != nil {
			return res, fmt.Errorf("role %s/%s: %w", r.Namespace, r.Name, err)
		}
		count(out.Operation, out.Protected)
	}
	nsBindings := &bindingStore{ctx: ctx, st: st("rolebindings")}
	for _, b := range NamespaceRoleBindings() {
		b := b
		out, err := (&reconciliation.ReconcileRoleBindingOptions{RoleBinding: reconciliation.RoleBindingAdapter{RoleBinding: &b}, Confirm: true, Client: nsBindings}).Run()
		if err != nil {
			return res, fmt.Errorf("rolebinding %s/%s: %w", b.Namespace, b.Name, err)
		}
		count(out.Operation, out.Protected)
	}
	return res, nil
}

// aggregate sets the rules of every aggregated ClusterRole in st, returning how many changed.
func aggregate(ctx context.Context, st *registry.Store) (int, error) {
	list, err := st.List(ctx, "", storage.ListOptions{})
	if err != nil {
		return 0, err
	}
	var all []*rbacv1.ClusterRole
	for _, o := range list.Items {
		if r, ok := o.(*rbacv1.ClusterRole); ok {
			all = append(all, r)
		}
	}
	changed := 0
	// Aggregated roles may aggregate each other (admin takes edit, which takes view): repeat
	// until nothing changes.
	for pass := 0; pass < 5; pass++ {
		again := false
		for i, r := range all {
			rules, ok, err := clusterroleaggregation.Aggregate(r, all)
			if err != nil {
				return changed, err
			}
			if !ok || equality.Semantic.DeepEqual(rules, r.Rules) {
				continue
			}
			next := r.DeepCopy()
			next.Rules = rules
			out, err := update(ctx, st, "", r.Name, next)
			if err != nil {
				return changed, fmt.Errorf("aggregate clusterrole %s: %w", r.Name, err)
			}
			all[i] = out.(*rbacv1.ClusterRole)
			changed++
			again = true
		}
		if !again {
			break
		}
	}
	return changed, nil
}

// ownerStore adapts a Role or ClusterRole store to reconciliation.RuleOwnerModifier.
type ownerStore struct {
	ctx context.Context
	st  *registry.Store
}

func ruleOwner(obj runtime.Object) (reconciliation.RuleOwner, error) {
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		return reconciliation.ClusterRoleRuleOwner{ClusterRole: o.DeepCopy()}, nil
	case *rbacv1.Role:
		return reconciliation.RoleRuleOwner{Role: o.DeepCopy()}, nil
	}
	return nil, fmt.Errorf("unexpected object %T", obj)
}

func (s *ownerStore) Get(namespace, name string) (reconciliation.RuleOwner, error) {
	obj, err := s.st.Get(s.ctx, namespace, name, "")
	if err != nil {
		return nil, err
	}
	return ruleOwner(obj)
}

func (s *ownerStore) Create(in reconciliation.RuleOwner) (reconciliation.RuleOwner, error) {
	obj, err := s.st.Create(s.ctx, in.GetNamespace(), in.GetObject(), registry.WriteOptions{})
	if err != nil {
		return nil, err
	}
	return ruleOwner(obj)
}

func (s *ownerStore) Update(in reconciliation.RuleOwner) (reconciliation.RuleOwner, error) {
	obj, err := update(s.ctx, s.st, in.GetNamespace(), in.GetName(), in.GetObject())
	if err != nil {
		return nil, err
	}
	return ruleOwner(obj)
}

// bindingStore adapts a RoleBinding or ClusterRoleBinding store to
// reconciliation.RoleBindingModifier.
type bindingStore struct {
	ctx context.Context
	st  *registry.Store
}

func binding(obj runtime.Object) (reconciliation.RoleBinding, error) {
	switch o := obj.(type) {
	case *rbacv1.ClusterRoleBinding:
		return reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: o.DeepCopy()}, nil
	case *rbacv1.RoleBinding:
		return reconciliation.RoleBindingAdapter{RoleBinding: o.DeepCopy()}, nil
	}
	return nil, fmt.Errorf("unexpected object %T", obj)
}

func (s *bindingStore) Get(namespace, name string) (reconciliation.RoleBinding, error) {
	obj, err := s.st.Get(s.ctx, namespace, name, "")
	if err != nil {
		return nil, err
	}
	return binding(obj)
}

func (s *bindingStore) Create(in reconciliation.RoleBinding) (reconciliation.RoleBinding, error) {
	obj, err := s.st.Create(s.ctx, in.GetNamespace(), in.GetObject(), registry.WriteOptions{})
	if err != nil {
		return nil, err
	}
	return binding(obj)
}

func (s *bindingStore) Update(in reconciliation.RoleBinding) (reconciliation.RoleBinding, error) {
	obj, err := update(s.ctx, s.st, in.GetNamespace(), in.GetName(), in.GetObject())
	if err != nil {
		return nil, err
	}
	return binding(obj)
}

func (s *bindingStore) Delete(namespace, name string, uid types.UID) error {
	_, _, err := s.st.Delete(s.ctx, namespace, name, &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}, false)
	return err
}

// update replaces the stored object with next, keeping the stored resourceVersion.
func update(ctx context.Context, st *registry.Store, namespace, name string, next runtime.Object) (runtime.Object, error) {
	out, _, err := st.Update(ctx, namespace, name, func(cur runtime.Object) (runtime.Object, error) {
		obj := next.DeepCopyObject()
		if cur != nil {
			if a, ok := obj.(interface{ SetResourceVersion(string) }); ok {
				if c, ok := cur.(interface{ GetResourceVersion() string }); ok {
					a.SetResourceVersion(c.GetResourceVersion())
				}
			}
		}
		return obj, nil
	}, registry.WriteOptions{})
	return out, err
}
