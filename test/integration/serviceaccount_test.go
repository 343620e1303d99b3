package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/serviceaccount"
)

const issuer = "https://kubernetes.default.svc.cluster.local"

// tokenClient returns a client that authenticates with a bearer token.
func tokenClient(t *testing.T, token string) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(&rest.Config{Host: shared.URL, QPS: -1, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: shared.CAPEM}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// jsonClient is a cluster-admin client that speaks JSON, as kubectl does.
func jsonClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(shared.Config)
	cfg.ContentType, cfg.AcceptContentTypes = "application/json", "application/json"
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createServiceAccount(t *testing.T, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := client().CoreV1().ServiceAccounts(ns).Create(ctxT(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

func requestToken(t *testing.T, c kubernetes.Interface, ns, name string, spec authenticationv1.TokenRequestSpec) *authenticationv1.TokenRequest {
	t.Helper()
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctxT(t), name, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status.Token == "" {
		t.Fatalf("no token in %+v", tr.Status)
	}
	return tr
}

// whoami asks the server who token is (SelfSubjectReview).
func whoami(t *testing.T, token string) (authenticationv1.UserInfo, error) {
	t.Helper()
	r, err := tokenClient(t, token).AuthenticationV1().SelfSubjectReviews().Create(ctxT(t), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

func TestServiceAccountTokenRequest(t *testing.T) {
	ns := namespace(t)
	sa := createServiceAccount(t, ns, "robot")
	for name, c := range map[string]kubernetes.Interface{"protobuf": client(), "json": jsonClient(t)} {
		t.Run(name, func(t *testing.T) {
			before := time.Now()
			tr := requestToken(t, c, ns, "robot", authenticationv1.TokenRequestSpec{})
			if exp := tr.Status.ExpirationTimestamp.Time; exp.Before(before.Add(59*time.Minute)) || exp.After(before.Add(61*time.Minute)) {
				t.Errorf("expiration %v, want in an hour", exp)
			}
			if len(tr.Spec.Audiences) != 1 || tr.Spec.Audiences[0] != issuer || ptr.Deref(tr.Spec.ExpirationSeconds, 0) != 3600 {
				t.Errorf("spec %+v", tr.Spec)
			}
			u, err := whoami(t, tr.Status.Token)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
			if u.Username != "system:serviceaccount:"+ns+":robot" || u.UID != string(sa.UID) || strings.Join(u.Groups, ",") != strings.Join(want, ",") {
				t.Errorf("user %+v", u)
			}
		})
	}

	// Authorized by RBAC like any user: nothing until a RoleBinding grants view.
	sac := tokenClient(t, requestToken(t, client(), ns, "robot", authenticationv1.TokenRequestSpec{}).Status.Token)
	_, err := sac.CoreV1().Pods(ns).List(ctxT(t), metav1.ListOptions{})
	wantForbidden(t, err, fmt.Sprintf(`User "system:serviceaccount:%s:robot" cannot list resource "pods"`, ns))
	bindRole(t, ns, "robot-view", "ClusterRole", "view", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "robot", Namespace: ns})
	eventually(t, 10*time.Second, func() error {
		_, err := sac.CoreV1().Pods(ns).List(ctxT(t), metav1.ListOptions{})
		return err
	})

	// Refused requests.
	for _, tc := range []struct {
		name, sa string
		spec     authenticationv1.TokenRequestSpec
		check    func(error) bool
	}{
		{"missing account", "ghost", authenticationv1.TokenRequestSpec{}, apierrors.IsNotFound},
		{"too short", "robot", authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](60)}, apierrors.IsInvalid},
		{"missing bound pod", "robot", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "ghost"}}, apierrors.IsNotFound},
	} {
		_, err := client().CoreV1().ServiceAccounts(ns).CreateToken(ctxT(t), tc.sa, &authenticationv1.TokenRequest{Spec: tc.spec}, metav1.CreateOptions{})
		if !tc.check(err) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}

func TestServiceAccountTokenBoundToPod(t *testing.T) {
	ns := namespace(t)
	createServiceAccount(t, ns, "robot")
	pod, err := client().CoreV1().Pods(ns).Create(ctxT(t), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{ServiceAccountName: "robot", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// ServiceAccount admission mounted the token.
	if len(pod.Spec.Volumes) != 1 || !strings.HasPrefix(pod.Spec.Volumes[0].Name, "kube-api-access-") ||
		len(pod.Spec.Containers[0].VolumeMounts) != 1 || pod.Spec.Containers[0].VolumeMounts[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" {
		t.Errorf("pod spec volumes %+v mounts %+v", pod.Spec.Volumes, pod.Spec.Containers[0].VolumeMounts)
	}
	tr := requestToken(t, client(), ns, "robot", authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: pod.UID}})
	u, err := whoami(t, tr.Status.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Extra["authentication.kubernetes.io/pod-name"]; len(got) != 1 || got[0] != "p" {
		t.Errorf("extra %v", u.Extra)
	}
	if err := client().CoreV1().Pods(ns).Delete(ctxT(t), "p", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if _, err := client().CoreV1().Pods(ns).Get(ctxT(t), "p", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("pod still there: %v", err)
		}
		return nil
	})
	if _, err := whoami(t, tr.Status.Token); !apierrors.IsUnauthorized(err) {
		t.Fatalf("token of a deleted pod: err %v, want 401", err)
	}
}

func TestServiceAccountTokenRefused(t *testing.T) {
	ns := namespace(t)
	sa := createServiceAccount(t, ns, "robot")
	key, err := serviceaccount.LoadOrCreateKey(filepath.Join(shared.DataDir, "tls", "service-account.key"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(k *ecdsa.PrivateKey, now time.Time, aud string) string {
		tok, _, err := (&serviceaccount.Issuer{Issuer: issuer, Key: k, Now: func() time.Time { return now }}).Issue(sa, serviceaccount.Binding{}, []string{aud}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if _, err := whoami(t, issue(key, time.Now(), issuer)); err != nil {
		t.Fatalf("a token signed with the server's key: %v", err)
	}
	for name, tok := range map[string]string{
		"forged":         issue(other, time.Now(), issuer),
		"expired":        issue(key, time.Now().Add(-2*time.Hour), issuer),
		"wrong audience": issue(key, time.Now(), "vault"),
		"garbage":        "not-a-token",
	} {
		if _, err := whoami(t, tok); !apierrors.IsUnauthorized(err) {
			t.Errorf("%s token: err %v, want 401", name, err)
		}
	}
	// A deleted ServiceAccount's tokens stop working.
	tok := issue(key, time.Now(), issuer)
	if err := client().CoreV1().ServiceAccounts(ns).Delete(ctxT(t), "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(t, tok); !apierrors.IsUnauthorized(err) {
		t.Errorf("token of a deleted account: err %v, want 401", err)
	}
}

func TestServiceAccountTokenReview(t *testing.T) {
	ns := namespace(t)
	createServiceAccount(t, ns, "robot")
	review := func(token string, audiences ...string) authenticationv1.TokenReviewStatus {
		t.Helper()
		r, err := client().AuthenticationV1().TokenReviews().Create(ctxT(t), &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: audiences}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	st := review(requestToken(t, client(), ns, "robot", authenticationv1.TokenRequestSpec{}).Status.Token)
	if !st.Authenticated || st.User.Username != "system:serviceaccount:"+ns+":robot" || len(st.Audiences) != 1 || st.Audiences[0] != issuer {
		t.Errorf("review of an API token: %+v", st)
	}
	vault := requestToken(t, client(), ns, "robot", authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}}).Status.Token
	if st := review(vault); st.Authenticated {
		t.Errorf("a vault token authenticated for the API server: %+v", st)
	}
	if st := review(vault, "vault"); !st.Authenticated || st.Audiences[0] != "vault" {
		t.Errorf("review of a vault token for vault: %+v", st)
	}
	if st := review("forged.token.here"); st.Authenticated {
		t.Errorf("garbage authenticated: %+v", st)
	}
	// The API server refuses a token meant for another audience.
	if _, err := whoami(t, vault); !apierrors.IsUnauthorized(err) {
		t.Errorf("vault token on the API server: err %v, want 401", err)
	}
}

func TestServiceAccountAdmission(t *testing.T) {
	ns := namespace(t)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{ServiceAccountName: "ghost", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	_, err := client().CoreV1().Pods(ns).Create(ctxT(t), p, metav1.CreateOptions{})
	wantForbidden(t, err, fmt.Sprintf(`error looking up service account %s/ghost: serviceaccount "ghost" not found`, ns))
	// Without the controller manager, a missing default account does not block pods.
	p.Spec.ServiceAccountName = ""
	got, err := client().CoreV1().Pods(ns).Create(ctxT(t), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.ServiceAccountName != "default" || got.Spec.DeprecatedServiceAccount != "default" || len(got.Spec.Volumes) != 1 {
		t.Errorf("pod spec %+v", got.Spec)
	}
}
