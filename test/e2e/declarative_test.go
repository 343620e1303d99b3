package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeclarativeWorkflows covers part 2 of the API server: server-side apply with conflicts,
// kubectl edit, the kubectl set commands and explain down to leaf fields.
func TestDeclarativeWorkflows(t *testing.T) {
	s := startServer(t)
	app := filepath.Join("testdata", "app.yaml")

	out := s.ok("apply", "--server-side", "-f", app)
	if strings.Count(out, "serverside-applied") != 9 {
		t.Fatalf("apply --server-side:\n%s", out)
	}
	// Another manager changes replicas; re-applying conflicts until forced.
	s.ok("scale", "deploy", "web", "-n", "demo", "--replicas=5")
	s.fails(`Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas`, "apply", "--server-side", "-f", app)
	s.ok("apply", "--server-side", "--force-conflicts", "-f", app)
	if out = s.ok("get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.replicas}"); out != "2" {
		t.Fatalf("replicas after forced apply: %s", out)
	}
	out = s.ok("apply", "--server-side", "--dry-run=server", "-f", app, "-o", "name")
	mustContain(t, "server dry-run apply", out, "deployment.apps/web")

	// kubectl edit with an editor that changes the image.
	editor := filepath.Join(t.TempDir(), "editor.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/image: skiff-test:latest/image: skiff-test:edited/' \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBE_EDITOR", editor)
	mustContain(t, "edit", s.ok("edit", "deploy/web", "-n", "demo"), "deployment.apps/web edited")
	if out = s.ok("get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); out != "skiff-test:edited" {
		t.Fatalf("image after edit: %s", out)
	}

	// set env and set resources.
	s.ok("set", "env", "deploy/web", "-n", "demo", "MODE=fast", "LEVEL=3")
	out = s.ok("get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.template.spec.containers[0].env}")
	mustContain(t, "set env", out, `{"name":"MODE","value":"fast"}`, `{"name":"LEVEL","value":"3"}`)
	s.ok("set", "resources", "deploy/web", "-n", "demo", "--limits=cpu=500m,memory=128Mi", "--requests=cpu=100m")
	out = s.ok("get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.template.spec.containers[0].resources}")
	mustContain(t, "set resources", out, `"limits":{"cpu":"500m","memory":"128Mi"}`, `"requests":{"cpu":"100m"`)
	if out = s.ok("get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.metadata.generation}"); out != "6" {
		t.Fatalf("generation after five spec changes (scale, apply, edit, env, resources): %s", out)
	}

	// patch with a resourceVersion precondition (what kubectl diff and --overwrite=false send).
	s.fails(`the object has been modified`, "patch", "cm", "cfg", "-n", "demo", "--type=merge", "-p", `{"metadata":{"resourceVersion":"1"},"data":{"x":"y"}}`)

	// explain, down to leaf fields.
	for field, want := range map[string]string{
		"pods.spec.containers.image":                         "FIELD: image <string>",
		"deployment.spec.strategy.rollingUpdate.maxSurge":    "FIELD: maxSurge <IntOrString>",
		"service.spec.ports":                                 "FIELD: ports <[]ServicePort>",
		"cronjob.spec.schedule":                              "FIELD: schedule <string>",
		"configmap.data":                                     "FIELD: data <map[string]string>",
		"ingress.spec.rules.http.paths.backend.service.name": "FIELD: name <string>",
	} {
		mustContain(t, "explain "+field, s.ok("explain", field), want)
	}
}
