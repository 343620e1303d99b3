package serviceaccount

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// objects is a Getter over maps keyed by namespace/name (name for nodes).
type objects struct {
	sas     map[string]*corev1.ServiceAccount
	pods    map[string]*corev1.Pod
	secrets map[string]*corev1.Secret
	nodes   map[string]*corev1.Node
}

func get[T any](m map[string]T, resource, key string) (T, error) {
	if o, ok := m[key]; ok {
		return o, nil
	}
	var zero T
	return zero, apierrors.NewNotFound(schema.GroupResource{Resource: resource}, key)
}

func (o *objects) ServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	return get(o.sas, "serviceaccounts", ns+"/"+name)
}
func (o *objects) Pod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	return get(o.pods, "pods", ns+"/"+name)
}
func (o *objects) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	return get(o.secrets, "secrets", ns+"/"+name)
}
func (o *objects) Node(_ context.Context, name string) (*corev1.Node, error) {
	return get(o.nodes, "nodes", name)
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestIssueAndAuthenticate(t *testing.T) {
	const iss = "https://kubernetes.default.svc.cluster.local"
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	key := newKey(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "robot", UID: "sa-uid"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "pod-uid"}, Spec: corev1.PodSpec{NodeName: "n1"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}}
	world := func() *objects {
		return &objects{
			sas:   map[string]*corev1.ServiceAccount{"ns/robot": sa},
			pods:  map[string]*corev1.Pod{"ns/p": pod},
			nodes: map[string]*corev1.Node{"n1": node},
		}
	}
	issue := func(signer *ecdsa.PrivateKey, ref *authenticationv1.BoundObjectReference, aud []string, exp int64, objs *objects) string {
		t.Helper()
		tr := &TokenRequests{Issuer: &Issuer{Issuer: iss, Key: signer, Now: clock}, Audiences: []string{iss}, Objects: objs}
		out, err := tr.Create(context.Background(), "ns", "robot", &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: aud, ExpirationSeconds: &exp, BoundObjectRef: ref}})
		if err != nil {
			t.Fatal(err)
		}
		if want := now.Add(time.Duration(exp) * time.Second); !out.Status.ExpirationTimestamp.Time.Equal(want) {
			t.Fatalf("expiration %v, want %v", out.Status.ExpirationTimestamp, want)
		}
		return out.Status.Token
	}
	podRef := &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: "pod-uid"}
	cases := []struct {
		name    string
		token   func() string
		objs    func(*objects)
		later   time.Duration
		wantErr string
		notOurs bool
		check   func(*testing.T, User)
	}{
		{name: "valid", token: func() string { return issue(key, nil, nil, 3600, world()) },
			check: func(t *testing.T, u User) {
				if u.Name != "system:serviceaccount:ns:robot" || u.UID != "sa-uid" || len(u.Groups) != 3 || u.Groups[1] != "system:serviceaccounts:ns" {
					t.Errorf("user %+v", u)
				}
			}},
		{name: "bound to pod", token: func() string { return issue(key, podRef, nil, 3600, world()) },
			check: func(t *testing.T, u User) {
				if u.Extra[ExtraPodName][0] != "p" || u.Extra[ExtraNodeName][0] != "n1" || u.Extra[ExtraNodeUID][0] != "node-uid" {
					t.Errorf("extra %v", u.Extra)
				}
			}},
		{name: "expired", token: func() string { return issue(key, nil, nil, 600, world()) }, later: 601 * time.Second, wantErr: "token is expired"},
		{name: "wrong audience", token: func() string { return issue(key, nil, []string{"vault"}, 3600, world()) }, wantErr: "token audiences"},
		{name: "wrong key", token: func() string { return issue(newKey(t), nil, nil, 3600, world()) }, wantErr: "signature is invalid"},
		{name: "pod deleted", token: func() string { return issue(key, podRef, nil, 3600, world()) },
			objs: func(o *objects) { delete(o.pods, "ns/p") }, wantErr: "pod ns/p has been deleted"},
		{name: "pod recreated", token: func() string { return issue(key, podRef, nil, 3600, world()) },
			objs: func(o *objects) {
				p := pod.DeepCopy()
				p.UID = "other"
				o.pods["ns/p"] = p
			}, wantErr: "pod UID (other) does not match claim (pod-uid)"},
		{name: "service account deleted", token: func() string { return issue(key, nil, nil, 3600, world()) },
			objs: func(o *objects) { delete(o.sas, "ns/robot") }, wantErr: "service account ns/robot has been deleted"},
		{name: "other issuer", token: func() string {
			a := &Issuer{Issuer: "https://elsewhere", Key: key, Now: clock}
			s, _, _ := a.Issue(sa, Binding{}, []string{iss}, time.Hour)
			return s
		}, notOurs: true},
		{name: "not a jwt", token: func() string { return "K10abc::server:secret" }, notOurs: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token()
			objs := world()
			if tc.objs != nil {
				tc.objs(objs)
			}
			a := &Authenticator{Issuer: iss, Key: &key.PublicKey, Audiences: []string{iss}, Objects: objs,
				Now: func() time.Time { return now.Add(tc.later) }}
			u, err := a.Authenticate(context.Background(), tok)
			switch {
			case tc.notOurs:
				if !errors.Is(err, ErrNotOurs) {
					t.Fatalf("err %v, want ErrNotOurs", err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, u)
			}
		})
	}
}

func TestTokenRequestValidation(t *testing.T) {
	short := int64(599)
	tr := &TokenRequests{Issuer: &Issuer{Issuer: "x", Key: newKey(t)}, Objects: &objects{}}
	_, err := tr.Create(context.Background(), "ns", "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &short}})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "may not specify a duration less than 10 minutes") {
		t.Fatalf("err %v", err)
	}
	_, err = tr.Create(context.Background(), "ns", "robot", &authenticationv1.TokenRequest{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("err %v, want NotFound", err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tls", "service-account.key")
	k1, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, err %v", fi.Mode(), err)
	}
	k2, err := LoadOrCreateKey(p)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("reloaded key differs (err %v)", err)
	}
}
