package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-project/skiff/internal/pki"
)

// csrManifest returns a CertificateSigningRequest for a client certificate of user.
func csrManifest(t *testing.T, name, user string) (manifest string, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: user, Organization: []string{"devs"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	req := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	return fmt.Sprintf(`apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: %s
spec:
  request: %s
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 86400
  usages: ["client auth"]
`, name, req), keyPEM
}

// TestSecurityTour runs what an administrator does to secure a cluster with the real kubectl:
// issue a user's certificate through a CSR, check permissions with auth can-i, enforce a Pod
// Security Standard, and see impersonation refused to those not allowed it.
func TestSecurityTour(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()

	// A user's certificate: submitted, approved by a human, issued; another denied.
	keys := map[string][]byte{}
	for _, name := range []string{"alice", "eve"} {
		f := filepath.Join(dir, name+".yaml")
		manifest, key := csrManifest(t, name, name)
		keys[name] = key
		if err := os.WriteFile(f, []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		s.ok("apply", "-f", f)
	}
	mustContain(t, "get csr", s.ok("get", "csr", "alice"), "NAME", "SIGNERNAME", "REQUESTOR", "CONDITION", "kubernetes.io/kube-apiserver-client", "Pending")
	mustContain(t, "approve", s.ok("certificate", "approve", "alice"), "certificatesigningrequest.certificates.k8s.io/alice approved")
	mustContain(t, "deny", s.ok("certificate", "deny", "eve"), "certificatesigningrequest.certificates.k8s.io/eve denied")
	s.eventually(20*time.Second, func() string {
		out := s.ok("get", "csr", "alice", "-o", "jsonpath={.status.certificate}")
		if out == "" {
			return "alice's certificate not issued"
		}
		return ""
	})
	mustContain(t, "get csr", s.ok("get", "csr"), "Approved,Issued", "Denied")
	if out := s.ok("get", "csr", "eve", "-o", "jsonpath={.status.certificate}"); out != "" {
		t.Fatal("a denied request was issued")
	}

	// auth can-i follows the bindings.
	s.ok("create", "namespace", "team")
	out, _, code := s.kubectl("auth", "can-i", "list", "pods", "-n", "team", "--as", "alice")
	if code != 1 || strings.TrimSpace(out) != "no" {
		t.Fatalf("can-i before binding: %q exit %d", out, code)
	}
	s.ok("create", "rolebinding", "alice-view", "-n", "team", "--clusterrole", "view", "--user", "alice")
	s.eventually(20*time.Second, func() string {
		if out := strings.TrimSpace(s.ok("auth", "can-i", "list", "pods", "-n", "team", "--as", "alice")); out != "yes" {
			return "can-i list pods after binding view: " + out
		}
		return ""
	})
	out, _, _ = s.kubectl("auth", "can-i", "create", "pods", "-n", "team", "--as", "alice")
	if strings.TrimSpace(out) != "no" {
		t.Fatalf("view may create pods: %q", out)
	}
	mustContain(t, "can-i --list", s.ok("auth", "can-i", "--list", "-n", "team", "--as", "alice"), "pods", "[get list watch]")

	// alice's own certificate works, and impersonation needs the impersonate verb.
	cert, err := base64.StdEncoding.DecodeString(s.ok("get", "csr", "alice", "-o", "jsonpath={.status.certificate}"))
	if err != nil {
		t.Fatal(err)
	}
	// A kubeconfig of alice's own, as an administrator hands a user.
	aliceConfig := filepath.Join(dir, "alice.kubeconfig")
	ca, err := base64.StdEncoding.DecodeString(s.ok("config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteKubeconfig(aliceConfig, fmt.Sprintf("https://127.0.0.1:%d", s.port), ca, cert, keys["alice"]); err != nil {
		t.Fatal(err)
	}
	asAlice := func(args ...string) (string, string, int) {
		return s.kubectl(append([]string{"--kubeconfig", aliceConfig}, args...)...)
	}
	out, _, code = asAlice("auth", "whoami")
	mustContain(t, "whoami", out, "alice", "devs", "system:authenticated")
	if _, errOut, code := asAlice("get", "pods", "-n", "team"); code != 0 {
		t.Fatalf("alice lists pods: %s", errOut)
	}
	_, errOut, code := asAlice("--as", "admin", "get", "pods", "-n", "team")
	if code == 0 || !strings.Contains(errOut, `Error from server (Forbidden): users "admin" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope`) {
		t.Fatalf("alice impersonates admin: exit %d, %s", code, errOut)
	}

	// Pod Security: warned by default, refused under enforce=restricted with upstream's message.
	_, stderr, code := s.kubectl("run", "priv", "-n", "team", "--image", "busybox", "--privileged")
	if code != 0 || !strings.Contains(stderr, `Warning: would violate PodSecurity "baseline:latest": privileged (container "priv" must not set securityContext.privileged=true)`) {
		t.Fatalf("privileged pod in a default namespace: exit %d, stderr %s", code, stderr)
	}
	_, stderr, _ = s.kubectl("label", "namespace", "team", "pod-security.kubernetes.io/enforce=restricted")
	mustContain(t, "label warnings", stderr, `existing pods in namespace "team" violate the new PodSecurity enforce level "restricted:latest"`)
	s.fails(`Error from server (Forbidden): pods "priv2" is forbidden: violates PodSecurity "restricted:latest": privileged (container "priv2" must not set securityContext.privileged=true)`,
		"run", "priv2", "-n", "team", "--image", "busybox", "--privileged")
}
