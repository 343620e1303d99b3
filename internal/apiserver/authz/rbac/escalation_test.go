package rbac

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/registry"
)

func TestEscalation(t *testing.T) {
	read := []string{"get", "list", "watch"}
	objs := &Objects{
		ClusterRoles: []*rbacv1.ClusterRole{
			{ObjectMeta: metav1.ObjectMeta{Name: "view"}, Rules: rules(read, "", "pods")},
			{ObjectMeta: metav1.ObjectMeta{Name: "secrets"}, Rules: rules(read, "", "secrets")},
			{ObjectMeta: metav1.ObjectMeta{Name: "role-admin"}, Rules: rules([]string{"create", "update", "get"}, rbacv1.GroupName, "roles", "rolebindings", "clusterroles")},
			{ObjectMeta: metav1.ObjectMeta{Name: "escalate"}, Rules: rules([]string{"escalate"}, rbacv1.GroupName, "roles")},
			{ObjectMeta: metav1.ObjectMeta{Name: "bind-secrets"}, Rules: []rbacv1.PolicyRule{{Verbs: []string{"bind"}, APIGroups: []string{rbacv1.GroupName},
				Resources: []string{"clusterroles"}, ResourceNames: []string{"secrets"}}}},
		},
		RoleBindings: []*rbacv1.RoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b1"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
				Subjects: []rbacv1.Subject{{Kind: "Group", Name: "devs"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b2"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "role-admin"},
				Subjects: []rbacv1.Subject{{Kind: "Group", Name: "devs"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b3"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "escalate"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "esc"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b4"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "bind-secrets"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "binder"}}},
		},
	}
	z := New(StaticSource{Objs: objs})
	e := &Escalation{Authorizer: z, Rules: z}
	resource := func(plural string, namespaced bool) *registry.Resource {
		return &registry.Resource{GVK: schema.GroupVersionKind{Group: rbacv1.GroupName, Version: "v1"}, Plural: plural, Namespaced: namespaced}
	}
	role := func(r []rbacv1.PolicyRule) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "new"}, Rules: r}
	}
	binding := func(kind, name string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "nb"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}}
	}
	tests := []struct {
		name    string
		user    registry.UserInfo
		op      string
		res     *registry.Resource
		obj     runtime.Object
		old     runtime.Object
		wantErr string
	}{
		{"role within held rules", registry.UserInfo{Name: "d", Groups: []string{"devs"}}, registry.OperationCreate, resource("roles", true),
			role(rules([]string{"get"}, "", "pods")), nil, ""},
		{"role beyond held rules", registry.UserInfo{Name: "d", Groups: []string{"devs"}}, registry.OperationCreate, resource("roles", true),
			role(rules([]string{"get", "delete"}, "", "pods", "secrets")), nil,
			`roles.rbac.authorization.k8s.io "new" is forbidden: user "d" (groups=["devs"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}
{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}`},
		{"update beyond held rules", registry.UserInfo{Name: "d", Groups: []string{"devs"}}, registry.OperationUpdate, resource("roles", true),
			role(rules([]string{"*"}, "", "pods")), role(rules([]string{"get"}, "", "pods")), "is attempting to grant"},
		{"update of owner references only", registry.UserInfo{Name: "d", Groups: []string{"devs"}}, registry.OperationUpdate, resource("roles", true),
			func() runtime.Object {
				r := role(rules([]string{"*"}, "", "*"))
				r.OwnerReferences = []metav1.OwnerReference{{Name: "x"}}
				return r
			}(), role(rules([]string{"*"}, "", "*")), ""},
		{"escalate verb", registry.UserInfo{Name: "esc"}, registry.OperationCreate, resource("roles", true),
			role(rules([]string{"*"}, "*", "*")), nil, ""},
		{"system:masters", registry.UserInfo{Name: "admin", Groups: []string{"system:masters"}}, registry.OperationCreate, resource("roles", true),
			role(rules([]string{"*"}, "*", "*")), nil, ""},
		{"binding to a held role", registry.UserInfo{Name: "d", Groups: []string{"devs"}}, registry.OperationCreate, resource("rolebindings", true),
			binding("ClusterRole", "view"), nil, ""},
		{"binding to a role not held", registry.UserInfo{Name: "d", Groups: []string{"devs"}}, registry.OperationCreate, resource("rolebindings", true),
			binding("ClusterRole", "secrets"), nil, `rolebindings.rbac.authorization.k8s.io "nb" is forbidden: user "d" (groups=["devs"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list" "watch"]}`},
		{"bind verb", registry.UserInfo{Name: "binder"}, registry.OperationCreate, resource("rolebindings", true),
			binding("ClusterRole", "secrets"), nil, ""},
		{"bind verb names another role", registry.UserInfo{Name: "binder"}, registry.OperationCreate, resource("rolebindings", true),
			binding("ClusterRole", "view"), nil, "is attempting to grant"},
		{"binding to a missing role", registry.UserInfo{Name: "d", Groups: []string{"devs"}}, registry.OperationCreate, resource("rolebindings", true),
			binding("Role", "nope"), nil, `role.rbac.authorization.k8s.io "nope" not found`},
		{"aggregation rule needs full authority", registry.UserInfo{Name: "d", Groups: []string{"devs"}}, registry.OperationCreate, resource("clusterroles", false),
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg"}, AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{}}}}, nil,
			"must have cluster-admin privileges to use the aggregationRule"},
		{"deletes are not checked", registry.UserInfo{Name: "d"}, registry.OperationDelete, resource("roles", true), nil, role(nil), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.Validate(context.Background(), &registry.AdmissionAttributes{Operation: tc.op, Resource: tc.res, Namespace: "ns",
				Object: tc.obj, OldObject: tc.old, User: tc.user})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("want error %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error\n got: %v\nwant: %s", err, tc.wantErr)
			}
			if err != nil && strings.Contains(tc.wantErr, "forbidden") && !apierrors.IsForbidden(err) {
				t.Fatalf("not a 403: %v", err)
			}
		})
	}
}
