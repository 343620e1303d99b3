package rbac

import (
	"fmt"
	"hash/fnv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/apiserver"
)

// Objects are the RBAC objects an Authorizer decides from. They are shared with the cache
// they came from: never modified.
type Objects struct {
	Roles               []*rbacv1.Role
	ClusterRoles        []*rbacv1.ClusterRole
	RoleBindings        []*rbacv1.RoleBinding
	ClusterRoleBindings []*rbacv1.ClusterRoleBinding
}

// serviceAccountPrefix starts the user name of a service account.
const serviceAccountPrefix = "system:serviceaccount:"

// grant is one binding of a role to a subject, with the role's rules resolved.
type grant struct {
	// source describes the binding for reasons: `ClusterRoleBinding "x" of ClusterRole "y" to User "z"`.
	source string
	rules  []rbacv1.PolicyRule
	// err is why the role could not be resolved (it does not exist).
	err error
	// id tells one binding from another (a binding may reach a user through several subjects).
	id int
}

// subjectIndex finds the grants of a user by name and by group.
type subjectIndex struct {
	users  map[string][]*grant
	groups map[string][]*grant
}

func newSubjectIndex() *subjectIndex {
	return &subjectIndex{users: map[string][]*grant{}, groups: map[string][]*grant{}}
}

// add indexes g under subject s of a binding in namespace ns ("" for a ClusterRoleBinding).
func (x *subjectIndex) add(s rbacv1.Subject, ns string, g *grant) {
	switch s.Kind {
	case rbacv1.UserKind:
		x.users[s.Name] = append(x.users[s.Name], g)
	case rbacv1.GroupKind:
		x.groups[s.Name] = append(x.groups[s.Name], g)
	case rbacv1.ServiceAccountKind:
		saNS := s.Namespace
		if saNS == "" {
			saNS = ns
		}
		if saNS == "" {
			return
		}
		u := serviceAccountPrefix + saNS + ":" + s.Name
		x.users[u] = append(x.users[u], g)
	}
}

// visit calls f for each grant of u, once per binding, stopping when f returns false.
func (x *subjectIndex) visit(u apiserver.User, seen map[int]bool, f func(*grant) bool) bool {
	if x == nil {
		return true
	}
	for _, g := range x.users[u.Name] {
		if !seen[g.id] {
			seen[g.id] = true
			if !f(g) {
				return false
			}
		}
	}
	for _, grp := range u.Groups {
		for _, g := range x.groups[grp] {
			if !seen[g.id] {
				seen[g.id] = true
				if !f(g) {
					return false
				}
			}
		}
	}
	return true
}

// snapshot is an immutable, indexed view of the RBAC objects.
type snapshot struct {
	fingerprint  uint64
	roles        map[string]*rbacv1.Role // namespace/name
	clusterRoles map[string]*rbacv1.ClusterRole
	cluster      *subjectIndex
	namespaced   map[string]*subjectIndex
}

// newSnapshot indexes objs.
func newSnapshot(objs *Objects) *snapshot {
	s := &snapshot{
		fingerprint:  fingerprint(objs),
		roles:        make(map[string]*rbacv1.Role, len(objs.Roles)),
		clusterRoles: make(map[string]*rbacv1.ClusterRole, len(objs.ClusterRoles)),
		cluster:      newSubjectIndex(),
		namespaced:   map[string]*subjectIndex{},
	}
	for _, r := range objs.Roles {
		s.roles[r.Namespace+"/"+r.Name] = r
	}
	for _, r := range objs.ClusterRoles {
		s.clusterRoles[r.Name] = r
	}
	id := 0
	for _, b := range objs.ClusterRoleBindings {
		id++
		rules, err := s.roleRefRules(b.RoleRef, "")
		for i := range b.Subjects {
			g := &grant{id: id, rules: rules, err: err,
				source: fmt.Sprintf("ClusterRoleBinding %q of %s %q to %s", b.Name, b.RoleRef.Kind, b.RoleRef.Name, describeSubject(b.Subjects[i], ""))}
			s.cluster.add(b.Subjects[i], "", g)
		}
	}
	for _, b := range objs.RoleBindings {
		id++
		rules, err := s.roleRefRules(b.RoleRef, b.Namespace)
		x := s.namespaced[b.Namespace]
		if x == nil {
			x = newSubjectIndex()
			s.namespaced[b.Namespace] = x
		}
		for i := range b.Subjects {
			g := &grant{id: id, rules: rules, err: err,
				source: fmt.Sprintf("RoleBinding %q of %s %q to %s", b.Name+"/"+b.Namespace, b.RoleRef.Kind, b.RoleRef.Name, describeSubject(b.Subjects[i], b.Namespace))}
			x.add(b.Subjects[i], b.Namespace, g)
		}
	}
	return s
}

func describeSubject(s rbacv1.Subject, bindingNamespace string) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return fmt.Sprintf("%s %q", s.Kind, s.Name+"/"+ns)
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Name)
}

// roleRefRules returns the rules of the role ref names, from namespace ns for a Role.
func (s *snapshot) roleRefRules(ref rbacv1.RoleRef, ns string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		r, ok := s.roles[ns+"/"+ref.Name]
		if !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: rbacv1.GroupName, Resource: "role"}, ref.Name)
		}
		return r.Rules, nil
	case "ClusterRole":
		r, ok := s.clusterRoles[ref.Name]
		if !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterrole"}, ref.Name)
		}
		return r.Rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// visit calls f for every grant that applies to u in namespace ns: cluster-wide ones first,
// then those of ns; it stops when f returns false.
func (s *snapshot) visit(u apiserver.User, ns string, f func(*grant) bool) {
	seen := map[int]bool{}
	if !s.cluster.visit(u, seen, f) {
		return
	}
	if ns != "" {
		s.namespaced[ns].visit(u, seen, f)
	}
}

// authorize decides a: allowed with the grant that allows it, or denied with the errors met
// on the way (roles that do not exist), as upstream words them.
func (s *snapshot) authorize(a apiserver.Attributes) (bool, string) {
	var allowedBy string
	var errs []string
	s.visit(a.User, a.Namespace, func(g *grant) bool {
		if g.err != nil {
			errs = append(errs, g.err.Error())
			return true
		}
		if RulesAllow(a, g.rules...) {
			allowedBy = g.source
			return false
		}
		return true
	})
	if allowedBy != "" {
		return true, "RBAC: allowed by " + allowedBy
	}
	switch len(errs) {
	case 0:
		return false, ""
	case 1:
		return false, "RBAC: " + errs[0]
	}
	return false, "RBAC: [" + strings.Join(errs, ", ") + "]"
}

// rulesFor lists the rules u holds in ns (cluster-wide ones included) and the errors met.
func (s *snapshot) rulesFor(u apiserver.User, ns string) ([]rbacv1.PolicyRule, []error) {
	var rules []rbacv1.PolicyRule
	var errs []error
	s.visit(u, ns, func(g *grant) bool {
		if g.err != nil {
			errs = append(errs, g.err)
		}
		rules = append(rules, g.rules...)
		return true
	})
	return rules, errs
}

// fingerprint summarises the identity and version of every object, to tell whether a fresh
// read differs from a snapshot.
func fingerprint(objs *Objects) uint64 {
	h := fnv.New64a()
	add := func(kind, ns, name, rv string) {
		h.Write([]byte(kind))
		h.Write([]byte{0})
		h.Write([]byte(ns))
		h.Write([]byte{0})
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write([]byte(rv))
		h.Write([]byte{0})
	}
	for _, o := range objs.Roles {
		add("r", o.Namespace, o.Name, o.ResourceVersion)
	}
	for _, o := range objs.ClusterRoles {
		add("cr", o.Namespace, o.Name, o.ResourceVersion)
	}
	for _, o := range objs.RoleBindings {
		add("rb", o.Namespace, o.Name, o.ResourceVersion)
	}
	for _, o := range objs.ClusterRoleBindings {
		add("crb", o.Namespace, o.Name, o.ResourceVersion)
	}
	return h.Sum64()
}
