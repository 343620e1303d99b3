package bootstrappolicy

import (
	"context"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/apiserver/authz/rbac"
)

// policy returns the default policy as RBAC objects.
func policy() *rbac.Objects {
	objs := &rbac.Objects{}
	for _, r := range AllClusterRoles() {
		r := r
		objs.ClusterRoles = append(objs.ClusterRoles, &r)
	}
	for _, b := range ClusterRoleBindings() {
		b := b
		objs.ClusterRoleBindings = append(objs.ClusterRoleBindings, &b)
	}
	for _, r := range NamespaceRoles() {
		r := r
		objs.Roles = append(objs.Roles, &r)
	}
	for _, b := range NamespaceRoleBindings() {
		b := b
		objs.RoleBindings = append(objs.RoleBindings, &b)
	}
	return objs
}

func TestPolicyConsistent(t *testing.T) {
	objs := policy()
	roles := map[string]bool{}
	for _, r := range objs.ClusterRoles {
		if roles[r.Name] {
			t.Errorf("clusterrole %s twice", r.Name)
		}
		roles[r.Name] = true
		if r.Annotations[AutoUpdateAnnotation] != "true" || r.Labels[BootstrapLabel] != "rbac-defaults" {
			t.Errorf("clusterrole %s lacks the default metadata", r.Name)
		}
		for _, rule := range r.Rules {
			if len(rule.Verbs) == 0 || (len(rule.Resources) == 0) == (len(rule.NonResourceURLs) == 0) {
				t.Errorf("clusterrole %s: malformed rule %+v", r.Name, rule)
			}
		}
	}
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user", "system:public-info-viewer",
		"system:node", "system:node-proxier", "system:kube-scheduler", "system:kube-controller-manager", "system:volume-scheduler",
		"system:monitoring", "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", "system:controller:deployment-controller",
		"system:controller:clusterrole-aggregation-controller", SimulatedNodeRole} {
		if !roles[name] {
			t.Errorf("missing clusterrole %s", name)
		}
	}
	for _, b := range objs.ClusterRoleBindings {
		if !roles[b.RoleRef.Name] {
			t.Errorf("clusterrolebinding %s refers to missing clusterrole %s", b.Name, b.RoleRef.Name)
		}
	}
	nsRoles := map[string]bool{}
	for _, r := range objs.Roles {
		nsRoles[r.Namespace+"/"+r.Name] = true
	}
	for _, b := range objs.RoleBindings {
		if !nsRoles[b.Namespace+"/"+b.RoleRef.Name] {
			t.Errorf("rolebinding %s/%s refers to missing role %s", b.Namespace, b.Name, b.RoleRef.Name)
		}
	}
}

// TestDefaultGrants checks what the default bindings let well-known users do.
func TestDefaultGrants(t *testing.T) {
	z := rbac.New(rbac.StaticSource{Objs: policy()})
	authenticated := apiserver.User{Name: "someone", Groups: []string{AllAuthenticated}}
	anonymous := apiserver.User{Name: "system:anonymous", Groups: []string{AllUnauthenticated}}
	joiner := apiserver.User{Name: "system:node-join", Groups: []string{BootstrappersGroup, AllAuthenticated}}
	scheduler := apiserver.User{Name: KubeScheduler, Groups: []string{AllAuthenticated}}
	path := func(u apiserver.User, p string) apiserver.Attributes {
		return apiserver.Attributes{User: u, Verb: "get", Path: p}
	}
	resource := func(u apiserver.User, verb, group, resource, sub, ns string) apiserver.Attributes {
		return apiserver.Attributes{User: u, Verb: verb, IsResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns}
	}
	tests := []struct {
		name string
		a    apiserver.Attributes
		want bool
	}{
		{"discovery", path(authenticated, "/apis/apps/v1"), true},
		{"openapi", path(authenticated, "/openapi/v3/apis/apps/v1"), true},
		{"version", path(authenticated, "/version"), true},
		{"metrics", path(authenticated, "/metrics"), false},
		{"anonymous health", path(anonymous, "/readyz"), true},
		{"anonymous discovery", path(anonymous, "/api"), false},
		{"self subject access review", resource(authenticated, "create", "authorization.k8s.io", "selfsubjectaccessreviews", "", ""), true},
		{"whoami", resource(authenticated, "create", "authentication.k8s.io", "selfsubjectreviews", "", ""), true},
		{"no pods", resource(authenticated, "list", "", "pods", "", "default"), false},
		{"join token registers nodes", resource(joiner, "create", "", "nodes", "", ""), true},
		{"join token watches endpointslices", resource(joiner, "watch", "discovery.k8s.io", "endpointslices", "", ""), true},
		{"join token reads no secrets", resource(joiner, "get", "", "secrets", "", "default"), false},
		{"join token reads no configmaps", resource(joiner, "list", "", "configmaps", "", ""), false},
		{"join token requests node certificates", resource(joiner, "create", "certificates.k8s.io", "certificatesigningrequests", "nodeclient", ""), true},
		{"join token posts pod status", resource(joiner, "patch", "", "pods", "status", "default"), true},
		{"join token deletes no deployments", resource(joiner, "delete", "apps", "deployments", "", "default"), false},
		{"join token reads no resource claims", resource(joiner, "get", "resource.k8s.io", "resourceclaims", "", "default"), false},
		{"join token deletes no resource slices", resource(joiner, "deletecollection", "resource.k8s.io", "resourceslices", "", ""), false},
		{"scheduler binds pods", resource(scheduler, "create", "", "pods", "binding", "default"), true},
		{"scheduler reads pvcs", resource(scheduler, "list", "", "persistentvolumeclaims", "", ""), true},
		{"scheduler watches storage capacities", resource(scheduler, "watch", "storage.k8s.io", "csistoragecapacities", "", ""), true},
		{"scheduler watches device classes", resource(scheduler, "watch", "resource.k8s.io", "deviceclasses", "", ""), true},
		{"scheduler watches resource slices", resource(scheduler, "watch", "resource.k8s.io", "resourceslices", "", ""), true},
		{"scheduler watches device taint rules", resource(scheduler, "watch", "resource.k8s.io", "devicetaintrules", "", ""), true},
		{"scheduler allocates claims", resource(scheduler, "update", "resource.k8s.io", "resourceclaims", "status", "default"), true},
		{"scheduler binds claims", resource(scheduler, "patch", "resource.k8s.io", "resourceclaims", "binding", ""), true},
		{"scheduler creates extended resource claims", resource(scheduler, "create", "resource.k8s.io", "resourceclaims", "", "default"), true},
		{"scheduler writes no slices", resource(scheduler, "create", "resource.k8s.io", "resourceslices", "", ""), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason, err := z.Authorize(context.Background(), tc.a)
			if err != nil || ok != tc.want {
				t.Errorf("Authorize = %v (%s, %v), want %v", ok, reason, err, tc.want)
			}
		})
	}
}

// TestUserFacingRolesCoverClaims checks that admin, edit and view aggregate upstream's rules for
// resource claims and their templates.
func TestUserFacingRolesCoverClaims(t *testing.T) {
	rules := map[string][]rbacv1.PolicyRule{}
	for _, r := range ClusterRoles() {
		rules[r.Name] = r.Rules
	}
	allows := func(role, verb, resource string) bool {
		for _, r := range rules[role] {
			if slices.Contains(r.APIGroups, "resource.k8s.io") && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		role, verb, resource string
	}{
		{"system:aggregate-to-view", "watch", "resourceclaims"},
		{"system:aggregate-to-view", "get", "resourceclaims/status"},
		{"system:aggregate-to-view", "list", "resourceclaimtemplates"},
		{"system:aggregate-to-edit", "create", "resourceclaims"},
		{"system:aggregate-to-edit", "deletecollection", "resourceclaimtemplates"},
	} {
		if !allows(c.role, c.verb, c.resource) {
			t.Errorf("%s cannot %s %s", c.role, c.verb, c.resource)
		}
	}
	if allows("system:aggregate-to-view", "watch", "resourceslices") {
		t.Error("view reads cluster-scoped resource slices")
	}
}
