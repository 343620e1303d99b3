package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServiceAccounts runs what a user does with service accounts: every namespace has a
// default account and the CA ConfigMap, pods in a brand-new namespace are admitted with a
// token volume, and `kubectl create token` gives a token the API server accepts.
func TestServiceAccounts(t *testing.T) {
	s := startServer(t)
	s.ok("create", "namespace", "fresh")
	// Created at once: admission waits for the controller's default account.
	s.ok("run", "p", "-n", "fresh", "--image", "busybox")
	out := s.ok("get", "pod", "p", "-n", "fresh", "-o", "jsonpath={.spec.serviceAccountName} {.spec.volumes[0].name} {.spec.containers[0].volumeMounts[0].mountPath}")
	mustContain(t, "pod", out, "default kube-api-access-", " /var/run/secrets/kubernetes.io/serviceaccount")
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _, code := s.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "fresh", "-o", "jsonpath={.data.ca\\.crt}")
		if code == 0 && strings.Contains(out, "BEGIN CERTIFICATE") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no kube-root-ca.crt in namespace fresh: %q", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	s.ok("create", "serviceaccount", "robot", "-n", "fresh")
	token := strings.TrimSpace(s.ok("create", "token", "robot", "-n", "fresh", "--duration", "10m"))
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/api/v1/namespaces/fresh/pods", s.port), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusForbidden {
		t.Fatalf("list pods as robot before any binding: HTTP %d, want 403", code)
	}
	s.ok("create", "rolebinding", "robot-view", "-n", "fresh", "--clusterrole", "view", "--serviceaccount", "fresh:robot")
	deadline = time.Now().Add(10 * time.Second)
	for get() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("list pods as robot after binding view: still refused")
		}
		time.Sleep(100 * time.Millisecond)
	}
	token = "x" + token[1:]
	if code := get(); code != http.StatusUnauthorized {
		t.Fatalf("a corrupted token: HTTP %d, want 401", code)
	}
}
