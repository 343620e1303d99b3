package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-project/skiff/internal/pki"
)

var userCounter int

// userConfig returns a client configuration authenticated as user in groups by a client
// certificate from the test server's CA.
func userConfig(t *testing.T, user string, groups ...string) *rest.Config {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(shared.DataDir, "tls"), "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key, err := ca.LoadOrIssue(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"),
		pki.LeafSpec{CommonName: user, Organization: groups, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	return &rest.Config{Host: shared.URL, QPS: -1, TLSClientConfig: rest.TLSClientConfig{CAData: shared.CAPEM, CertData: cert, KeyData: key}}
}

func userClient(t *testing.T, user string, groups ...string) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(userConfig(t, user, groups...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// uniqueUser returns a user name no other test uses.
func uniqueUser(base string) string {
	userCounter++
	return fmt.Sprintf("%s-%d-%d", base, time.Now().UnixNano()%100000, userCounter)
}

func bindRole(t *testing.T, ns, name, kind, role string, subjects ...rbacv1.Subject) {
	t.Helper()
	_, err := client().RbacV1().RoleBindings(ns).Create(ctxT(t), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role}, Subjects: subjects}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func wantForbidden(t *testing.T, err error, msg string) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Fatalf("want 403, got %v", err)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("403 message\n got: %s\nwant: %s", err.Error(), msg)
	}
}

func TestRBACNonResourcePaths(t *testing.T) {
	ctx := ctxT(t)
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := anon.Get(shared.URL + "/api")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous GET /api: %v %v", err, resp)
	}
	resp.Body.Close()

	// Any authenticated user may discover the API and read health, version and OpenAPI
	// (system:discovery, system:public-info-viewer), but not the metrics (system:monitoring).
	cfg := userConfig(t, uniqueUser("nobody"))
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rt}
	for path, want := range map[string]int{"/api": 200, "/apis": 200, "/api/v1": 200, "/apis/apps/v1": 200, "/version": 200,
		"/healthz": 200, "/readyz": 200, "/livez": 200, "/openapi/v3": 200, "/metrics": 403} {
		req, _ := http.NewRequestWithContext(ctx, "GET", shared.URL+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s as a user without bindings: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// kubectl's discovery works for such a user.
	c := userClient(t, uniqueUser("nobody"))
	if _, err := c.Discovery().ServerGroups(); err != nil {
		t.Fatalf("discovery: %v", err)
	}
}

func TestRBACViewBinding(t *testing.T) {
	ctx := ctxT(t)
	ns := namespace(t)
	user := uniqueUser("alice")
	c := userClient(t, user)

	_, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	wantForbidden(t, err, fmt.Sprintf(`pods is forbidden: User %q cannot list resource "pods" in API group "" in the namespace %q`, user, ns))

	bindRole(t, ns, "alice-view", "ClusterRole", "view", userSubject(user))
	if _, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("list pods after binding to view: %v", err)
	}
	_, err = c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	wantForbidden(t, err, fmt.Sprintf(`pods is forbidden: User %q cannot create resource "pods" in API group "" in the namespace %q`, user, ns))
	_, err = c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	wantForbidden(t, err, "")
	other := namespace(t)
	_, err = c.CoreV1().Pods(other).List(ctx, metav1.ListOptions{})
	wantForbidden(t, err, "")

	// kubectl auth can-i: SelfSubjectAccessReviews answer as the bindings say.
	for _, tc := range []struct {
		verb, resource, ns string
		want               bool
	}{
		{"list", "pods", ns, true}, {"get", "deployments", ns, true}, {"create", "pods", ns, false},
		{"get", "secrets", ns, false}, {"list", "pods", other, false}, {"list", "nodes", "", false},
	} {
		group := ""
		if tc.resource == "deployments" {
			group = "apps"
		}
		r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: tc.ns, Verb: tc.verb, Group: group, Resource: tc.resource}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed != tc.want {
			t.Errorf("can-i %s %s -n %q: %v (%s), want %v", tc.verb, tc.resource, tc.ns, r.Status.Allowed, r.Status.Reason, tc.want)
		}
		// The admin asking about the user gets the same answer.
		sar, err := client().AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: tc.ns, Verb: tc.verb, Group: group, Resource: tc.resource}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != tc.want {
			t.Errorf("SubjectAccessReview %s %s -n %q: %v, want %v", tc.verb, tc.resource, tc.ns, sar.Status.Allowed, tc.want)
		}
	}
	// kubectl auth can-i --list.
	rr, err := c.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rr.Status.ResourceRules {
		for _, res := range r.Resources {
			if res == "pods" && containsString(r.Verbs, "list") {
				found = true
			}
			if res == "pods" && containsString(r.Verbs, "create") {
				t.Errorf("rules review grants create pods: %+v", r)
			}
		}
	}
	if !found {
		t.Errorf("rules review lacks list pods: %+v", rr.Status)
	}
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestRBACEscalation(t *testing.T) {
	ctx := ctxT(t)
	ns := namespace(t)
	user := uniqueUser("bob")
	c := userClient(t, user)
	_, err := client().RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "role-writer"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"create", "get", "update"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "rolebindings"}}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bindRole(t, ns, "bob-role-writer", "Role", "role-writer", userSubject(user))

	secretsReader := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "secrets-reader"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}}
	_, err = c.RbacV1().Roles(ns).Create(ctx, secretsReader, metav1.CreateOptions{})
	wantForbidden(t, err, fmt.Sprintf(`roles.rbac.authorization.k8s.io "secrets-reader" is forbidden: user %q (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`, user))

	// A role within what it holds is fine.
	_, err = c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "role-getter"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("role within held rules: %v", err)
	}

	// Binding a role it does not hold is refused; with bind on it, allowed.
	_, err = c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-edit"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}, Subjects: []rbacv1.Subject{userSubject(user)}}, metav1.CreateOptions{})
	wantForbidden(t, err, "is attempting to grant RBAC permissions not currently held")

	// With escalate on roles, it may write any role.
	_, err = client().RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "escalator"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"escalate", "bind"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "clusterroles"}}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bindRole(t, ns, "bob-escalator", "Role", "escalator", userSubject(user))
	if _, err := c.RbacV1().Roles(ns).Create(ctx, secretsReader, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role with escalate: %v", err)
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-edit"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}, Subjects: []rbacv1.Subject{userSubject(user)}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind with the bind verb: %v", err)
	}
}

func TestNodeAuthorizer(t *testing.T) {
	ctx := ctxT(t)
	ns := namespace(t)
	suffix := uniqueUser("")
	n1, n2 := "n1"+suffix, "n2"+suffix
	for _, name := range []string{"used", "unused", "other-node"} {
		if _, err := client().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(name, node, secret string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Volumes:    []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}}}}
	}
	for _, p := range []*corev1.Pod{pod("on-n1", n1, "used"), pod("on-n2", n2, "other-node")} {
		if _, err := client().CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c := userClient(t, "system:node:"+n1, "system:nodes")
	if _, err := c.CoreV1().Secrets(ns).Get(ctx, "used", metav1.GetOptions{}); err != nil {
		t.Fatalf("node reads a secret its pod uses: %v", err)
	}
	_, err := c.CoreV1().Secrets(ns).Get(ctx, "unused", metav1.GetOptions{})
	wantForbidden(t, err, fmt.Sprintf("no relationship found between node '%s' and this object", n1))
	_, err = c.CoreV1().Secrets(ns).Get(ctx, "other-node", metav1.GetOptions{})
	wantForbidden(t, err, "")
	_, err = c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	wantForbidden(t, err, "")
	if _, err := c.CoreV1().Pods(ns).Get(ctx, "on-n1", metav1.GetOptions{}); err != nil {
		t.Fatalf("node reads its pod: %v", err)
	}
	_, err = c.CoreV1().Pods(ns).Get(ctx, "on-n2", metav1.GetOptions{})
	wantForbidden(t, err, "")
	if _, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + n1}); err != nil {
		t.Fatalf("node lists its pods: %v", err)
	}
	_, err = c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	wantForbidden(t, err, "can only list/watch pods with spec.nodeName field selector")

	// Its own Node: it may register and update it, but not another, nor restricted labels. It
	// may read every Node (skiff:node-network: the overlay routes to their podCIDRs).
	if _, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n1}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("node registers itself: %v", err)
	}
	if _, err := c.CoreV1().Nodes().Get(ctx, n1, metav1.GetOptions{}); err != nil {
		t.Fatalf("node reads itself: %v", err)
	}
	if _, err := client().CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n2}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Nodes().Get(ctx, n2, metav1.GetOptions{}); err != nil {
		t.Fatalf("node reads another Node: %v", err)
	}
	if _, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("node lists the Nodes: %v", err)
	}
	_, err = c.CoreV1().Nodes().Patch(ctx, n2, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{})
	wantForbidden(t, err, fmt.Sprintf("node %q is not allowed to modify node %q", n1, n2))
	_, err = c.CoreV1().Nodes().Patch(ctx, n1, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"node-restriction.kubernetes.io/pool":"x"}}}`), metav1.PatchOptions{})
	wantForbidden(t, err, "is not allowed to modify labels: node-restriction.kubernetes.io/pool")
	if _, err := c.CoreV1().Nodes().Patch(ctx, n1, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"example.com/ok":"yes"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("node labels itself: %v", err)
	}
	// Pod status only for its own pods.
	_, err = c.CoreV1().Pods(ns).Patch(ctx, "on-n2", "application/merge-patch+json", []byte(`{"status":{"message":"x"}}`), metav1.PatchOptions{}, "status")
	wantForbidden(t, err, "")
	if _, err := c.CoreV1().Pods(ns).Patch(ctx, "on-n1", "application/merge-patch+json", []byte(`{"status":{"message":"x"}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("node updates its pod's status: %v", err)
	}
}

func TestImpersonation(t *testing.T) {
	ctx := ctxT(t)
	ns := namespace(t)
	alice, carol := uniqueUser("alice"), uniqueUser("carol")
	bindRole(t, ns, "alice-view", "ClusterRole", "view", userSubject(alice))

	cfg := userConfig(t, carol)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: alice}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	wantForbidden(t, err, fmt.Sprintf(`users "%s" is forbidden: User %q cannot impersonate resource "users" in API group "" at the cluster scope`, alice, carol))

	name := "impersonator-" + carol
	if _, err := client().RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"impersonate"}, APIGroups: []string{""}, Resources: []string{"users"}, ResourceNames: []string{alice}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client().RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	if _, err := client().RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, Subjects: []rbacv1.Subject{userSubject(carol)}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client().RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	if _, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("impersonating with permission: %v", err)
	}
	who, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if who.Status.UserInfo.Username != alice || !containsString(who.Status.UserInfo.Groups, "system:authenticated") {
		t.Fatalf("whoami while impersonating: %+v", who.Status.UserInfo)
	}
	// Groups need their own permission.
	cfg.Impersonate.Groups = []string{"system:masters"}
	c2, _ := kubernetes.NewForConfig(cfg)
	_, err = c2.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	wantForbidden(t, err, `groups "system:masters" is forbidden`)
}

func TestClusterRoleAggregation(t *testing.T) {
	ctx := ctxT(t)
	name := uniqueUser("widgets-view")
	rule := rbacv1.PolicyRule{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"example.com"}, Resources: []string{name}}
	if _, err := client().RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}}, Rules: []rbacv1.PolicyRule{rule}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client().RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	has := func(role string) error {
		r, err := client().RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, x := range r.Rules {
			if len(x.Resources) == 1 && x.Resources[0] == name {
				return nil
			}
		}
		return fmt.Errorf("%s lacks the rule for %s", role, name)
	}
	// view aggregates it, and edit and admin aggregate view.
	for _, role := range []string{"view", "edit", "admin"} {
		eventually(t, 10*time.Second, func() error { return has(role) })
	}
}
