package rbac

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/apiserver"
)

func rules(verbs []string, group string, resources ...string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{{Verbs: verbs, APIGroups: []string{group}, Resources: resources}}
}

func testObjects() *Objects {
	read := []string{"get", "list", "watch"}
	return &Objects{
		ClusterRoles: []*rbacv1.ClusterRole{
			{ObjectMeta: metav1.ObjectMeta{Name: "view"}, Rules: rules(read, "", "pods", "configmaps")},
			{ObjectMeta: metav1.ObjectMeta{Name: "node-reader"}, Rules: rules(read, "", "nodes")},
		},
		Roles: []*rbacv1.Role{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "secrets"}, Rules: rules(read, "", "secrets")},
		},
		ClusterRoleBindings: []*rbacv1.ClusterRoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Name: "ops-nodes"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "node-reader"},
				Subjects: []rbacv1.Subject{{Kind: "Group", Name: "ops"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "dangling"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "missing"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "dave"}}},
		},
		RoleBindings: []*rbacv1.RoleBinding{
			// A ClusterRole bound in one namespace grants it there only.
			{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "alice-view"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "sa-secrets"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "secrets"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "builder"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "other-ns-sa"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "a", Name: "builder"}}},
		},
	}
}

func TestAuthorize(t *testing.T) {
	z := New(StaticSource{Objs: testObjects()})
	alice := apiserver.User{Name: "alice", Groups: []string{"system:authenticated"}}
	bob := apiserver.User{Name: "bob", Groups: []string{"ops"}}
	builder := apiserver.User{Name: "system:serviceaccount:a:builder", Groups: []string{"system:serviceaccounts"}}
	dave := apiserver.User{Name: "dave"}
	with := func(u apiserver.User, a apiserver.Attributes) apiserver.Attributes { a.User = u; return a }
	tests := []struct {
		name   string
		a      apiserver.Attributes
		want   bool
		reason string
	}{
		{"role binding to cluster role", with(alice, res("list", "", "pods", "", "a", "")), true, `RBAC: allowed by RoleBinding "alice-view/a" of ClusterRole "view" to User "alice"`},
		{"only in its namespace", with(alice, res("list", "", "pods", "", "b", "")), false, ""},
		{"not cluster-wide", with(alice, res("list", "", "pods", "", "", "")), false, ""},
		{"not what the role grants", with(alice, res("list", "", "secrets", "", "a", "")), false, ""},
		{"group", with(bob, res("get", "", "nodes", "", "", "n1")), true, `RBAC: allowed by ClusterRoleBinding "ops-nodes" of ClusterRole "node-reader" to Group "ops"`},
		{"cluster binding applies in namespaces", with(bob, res("list", "", "nodes", "", "x", "")), true, ""},
		{"service account defaults to the binding's namespace", with(builder, res("get", "", "secrets", "", "a", "s")), true, ""},
		{"service account of another namespace", with(builder, res("get", "", "pods", "", "b", "p")), true, ""},
		{"missing role", with(dave, res("get", "", "pods", "", "a", "p")), false, `RBAC: clusterrole.rbac.authorization.k8s.io "missing" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason, err := z.Authorize(context.Background(), tc.a)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want || (tc.reason != "" && reason != tc.reason) {
				t.Errorf("Authorize = %v %q, want %v %q", ok, reason, tc.want, tc.reason)
			}
		})
	}
}

// TestInvalidate checks that changes reach decisions: through Invalidate, and on a denial
// through the fresh re-read even without it.
func TestInvalidate(t *testing.T) {
	objs := &Objects{ClusterRoles: []*rbacv1.ClusterRole{{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: rules([]string{"get"}, "", "pods")}}}
	src := &StaticSource{Objs: objs}
	z := New(src)
	a := res("get", "", "pods", "", "ns", "p")
	a.User = apiserver.User{Name: "u"}
	if ok, _, _ := z.Authorize(context.Background(), a); ok {
		t.Fatal("allowed without a binding")
	}
	src.Objs = &Objects{ClusterRoles: objs.ClusterRoles, ClusterRoleBindings: []*rbacv1.ClusterRoleBinding{{ObjectMeta: metav1.ObjectMeta{Name: "b", ResourceVersion: "2"},
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "r"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "u"}}}}}
	if ok, _, _ := z.Authorize(context.Background(), a); !ok {
		t.Fatal("a new binding is not honoured on the fresh re-read")
	}
	src.Objs = objs
	if ok, _, _ := z.Authorize(context.Background(), a); !ok {
		t.Fatal("a removed binding is forgotten before Invalidate")
	}
	z.Invalidate()
	if ok, _, _ := z.Authorize(context.Background(), a); ok {
		t.Fatal("a removed binding is still honoured after Invalidate")
	}
}

func TestRulesFor(t *testing.T) {
	z := New(StaticSource{Objs: testObjects()})
	rr, nr, incomplete, err := z.RulesFor(context.Background(), apiserver.User{Name: "alice"}, "a")
	if err != nil || incomplete || len(nr) != 0 || len(rr) != 1 || strings.Join(rr[0].Resources, ",") != "pods,configmaps" {
		t.Fatalf("RulesFor(alice, a) = %+v %+v %v %v", rr, nr, incomplete, err)
	}
	_, _, incomplete, err = z.RulesFor(context.Background(), apiserver.User{Name: "dave"}, "a")
	if !incomplete || err == nil {
		t.Fatalf("RulesFor(dave) with a missing role: incomplete %v, err %v", incomplete, err)
	}
}
