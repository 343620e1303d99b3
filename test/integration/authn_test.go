package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/server"
	"github.com/skiff-project/skiff/internal/testserver"
)

// TestAuthenticationRefusals checks that credentials which identify nobody get 401: a client
// certificate from another CA, a malformed or unknown bearer token.
func TestAuthenticationRefusals(t *testing.T) {
	ctx := ctxT(t)
	other, err := pki.LoadOrCreateCA(t.TempDir(), "another-ca")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := other.Issue(pki.LeafSpec{CommonName: "admin", Organization: []string{"system:masters"}, Client: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]*rest.Config{
		"certificate from another CA": {Host: shared.URL, TLSClientConfig: rest.TLSClientConfig{CAData: shared.CAPEM, CertData: cert, KeyData: key}},
		"forged bearer token":         {Host: shared.URL, BearerToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl", TLSClientConfig: rest.TLSClientConfig{CAData: shared.CAPEM}},
		"unknown opaque token":        {Host: shared.URL, BearerToken: "not-a-token", TLSClientConfig: rest.TLSClientConfig{CAData: shared.CAPEM}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			c := kubernetes.NewForConfigOrDie(cfg)
			if _, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
				t.Fatalf("got %v, want 401", err)
			}
			// Failed credentials are refused on the public paths too, as upstream.
			if err := c.Discovery().RESTClient().Get().AbsPath("/healthz").Do(ctx).Error(); !apierrors.IsUnauthorized(err) {
				t.Fatalf("/healthz: got %v, want 401", err)
			}
		})
	}
}

// TestStaticTokenFile starts a server with --token-auth-file and authenticates with its tokens.
func TestStaticTokenFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(file, []byte("s3cr3t-token,alice,1001,\"devs,system:masters\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testserver.Start(t, testserver.Options{DisableScheduler: true, DisableControllers: true,
		Configure: func(c *server.Config) { c.TokenAuthFile = file }})
	ctx := ctxT(t)
	c := kubernetes.NewForConfigOrDie(&rest.Config{Host: s.URL, BearerToken: "s3cr3t-token", TLSClientConfig: rest.TLSClientConfig{CAData: s.CAPEM}})
	review, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u := review.Status.UserInfo
	if u.Username != "alice" || u.UID != "1001" || len(u.Groups) != 3 || u.Groups[0] != "devs" || u.Groups[2] != "system:authenticated" {
		t.Errorf("user %+v", u)
	}
	if _, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("alice (system:masters) list namespaces: %v", err)
	}
	wrong := kubernetes.NewForConfigOrDie(&rest.Config{Host: s.URL, BearerToken: "s3cr3t-tokex", TLSClientConfig: rest.TLSClientConfig{CAData: s.CAPEM}})
	if _, err := wrong.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("wrong token: got %v, want 401", err)
	}
}

// TestBadTokenFile: a malformed token file stops the server with a message naming the file and
// line.
func TestBadTokenFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(file, []byte("tok,alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := testserver.StartServer(testserver.Options{DisableScheduler: true, DisableControllers: true,
		Configure: func(c *server.Config) { c.TokenAuthFile = file }})
	if err == nil || !strings.Contains(err.Error(), file+", line 1: want at least 3 columns") {
		t.Fatalf("got %v", err)
	}
}
