package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDeploymentRollout is the seed's flow on a cluster of simulated nodes: apply a
// Deployment, see its pods run, scale it, roll out a new image, read the history, and undo.
func TestDeploymentRollout(t *testing.T) {
	s := startServer(t, "--simulated-nodes", "3")
	manifest := filepath.Join(t.TempDir(), "deployment.yaml")
	_ = os.WriteFile(manifest, []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: skiff-test:v1
`), 0o644)
	mustContain(t, "apply", s.ok("apply", "-f", manifest), "deployment.apps/web created")
	mustContain(t, "rollout status", s.ok("rollout", "status", "deploy/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	running := regexp.MustCompile(`web-[a-z0-9]+-[a-z0-9]{5}\s+1/1\s+Running`)
	if out := s.ok("get", "pods", "-l", "app=web"); len(running.FindAllString(out, -1)) != 3 {
		t.Fatalf("get pods:\n%s", out)
	}
	s.ok("scale", "deploy/web", "--replicas=5")
	s.eventually(60*time.Second, func() string {
		if out := s.ok("get", "deploy", "web", "-o", "jsonpath={.status.readyReplicas}"); out != "5" {
			return "ready replicas " + out
		}
		return ""
	})
	s.ok("set", "image", "deploy/web", "web=skiff-test:v2")
	mustContain(t, "rollout status", s.ok("rollout", "status", "deploy/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	out := s.ok("rollout", "history", "deploy/web")
	mustContain(t, "rollout history", out, "REVISION", "CHANGE-CAUSE", "1 ", "2 ")
	mustContain(t, "rollout undo", s.ok("rollout", "undo", "deploy/web"), "deployment.apps/web rolled back")
	mustContain(t, "rollout status", s.ok("rollout", "status", "deploy/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	if out := s.ok("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}"); out != "skiff-test:v1 3" {
		t.Fatalf("after undo: %q", out)
	}
	out = s.ok("rollout", "history", "deploy/web")
	if !strings.Contains(out, "2 ") || !strings.Contains(out, "3 ") || strings.Contains(out, "\n1 ") {
		t.Fatalf("history after undo:\n%s", out)
	}
}
