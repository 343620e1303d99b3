package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// helmVersion is the helm the project tests against.
const helmVersion = "v3.22.0"

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helm finds helm: $HELM, then PATH, then GOPATH/bin; failing those it installs helm from the
// Go module proxy into GOPATH/bin (a few minutes, once per machine).
func helm(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		if p := os.Getenv("HELM"); p != "" {
			helmBin = p
			return
		}
		if p, err := exec.LookPath("helm"); err == nil {
			helmBin = p
			return
		}
		gopath, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			helmErr = err
			return
		}
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "helm")
		if _, err := os.Stat(p); err != nil {
			install := exec.Command("go", "install", "helm.sh/helm/v3/cmd/helm@"+helmVersion)
			install.Stdout, install.Stderr = os.Stderr, os.Stderr
			if err := install.Run(); err != nil {
				helmErr = err
				return
			}
		}
		helmBin = p
	})
	if helmErr != nil {
		t.Fatalf("helm %s: %v", helmVersion, helmErr)
	}
	return helmBin
}

// TestHelm runs the real helm against skiff with a chart written by the helm authors
// (`helm create`): install, list, upgrade with a changed value, history, rollback,
// --dry-run=server and uninstall, waiting for readiness (--wait) on simulated nodes.
func TestHelm(t *testing.T) {
	bin := helm(t)
	s := startServer(t, "--simulated-nodes", "2")
	dir := t.TempDir()
	env := append(os.Environ(), "KUBECONFIG="+s.kubeconfig(), "HELM_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(dir, "config"), "HELM_DATA_HOME="+filepath.Join(dir, "data"))
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir, cmd.Env = dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	run("create", "demo")
	mustContain(t, "helm install", run("install", "r1", "./demo", "--wait", "--timeout", "90s"), "STATUS: deployed", "REVISION: 1")
	mustContain(t, "helm list", run("list"), "r1", "deployed", "demo-0.1.0")
	if out := s.ok("get", "deploy,svc,sa", "-l", "app.kubernetes.io/instance=r1", "-o", "name"); !strings.Contains(out, "deployment.apps/r1-demo") ||
		!strings.Contains(out, "service/r1-demo") || !strings.Contains(out, "serviceaccount/r1-demo") {
		t.Fatalf("release objects: %s", out)
	}
	mustContain(t, "helm upgrade", run("upgrade", "r1", "./demo", "--set", "replicaCount=3", "--wait", "--timeout", "90s"), `Release "r1" has been upgraded`, "REVISION: 2")
	if out := s.ok("get", "deploy", "r1-demo", "-o", "jsonpath={.status.readyReplicas}"); out != "3" {
		t.Fatalf("ready replicas after upgrade --wait: %s", out)
	}
	if out := s.ok("get", "deploy", "r1-demo", "-o", "jsonpath={.spec.replicas}"); out != "3" {
		t.Fatalf("replicas after upgrade: %s", out)
	}
	out := run("history", "r1")
	mustContain(t, "helm history", out, "superseded", "Install complete", "deployed", "Upgrade complete")
	mustContain(t, "helm rollback", run("rollback", "r1", "1"), "Rollback was a success")
	if out := s.ok("get", "deploy", "r1-demo", "-o", "jsonpath={.spec.replicas}"); out != "1" {
		t.Fatalf("replicas after rollback: %s", out)
	}
	mustContain(t, "helm install --dry-run=server", run("install", "r2", "./demo", "--dry-run=server"), "STATUS: pending-install")
	if out := s.ok("get", "deploy", "-o", "name"); strings.Contains(out, "r2-demo") {
		t.Fatalf("dry run created objects: %s", out)
	}
	mustContain(t, "helm uninstall", run("uninstall", "r1"), `release "r1" uninstalled`)
	if out := s.ok("get", "deploy,svc,sa,secret", "-l", "app.kubernetes.io/instance=r1", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("objects left after uninstall: %s", out)
	}
	if out := s.ok("get", "secret", "-l", "owner=helm", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("release secrets left after uninstall: %s", out)
	}
}
