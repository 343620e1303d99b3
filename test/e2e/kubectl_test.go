package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKubectlWorkflow is the new user's tour: create from a multi-document manifest, get in
// every output format, watch, describe, label, annotate, the create generators, apply and
// diff, patch, scale, delete with cascade, explain, api-resources and errors.
func TestKubectlWorkflow(t *testing.T) {
	s := startServer(t)
	app := filepath.Join("testdata", "app.yaml")

	out := s.ok("create", "-f", app)
	for _, w := range []string{"namespace/demo created", "configmap/cfg created", "secret/sec created", "serviceaccount/app created",
		"role.rbac.authorization.k8s.io/reader created", "rolebinding.rbac.authorization.k8s.io/reader created",
		"deployment.apps/web created", "service/web created", "cronjob.batch/tick created"} {
		mustContain(t, "create -f", out, w)
	}
	s.fails(`Error from server (AlreadyExists): error when creating "testdata/app.yaml": namespaces "demo" already exists`, "create", "-f", app)

	// get, in the formats people use.
	out = s.ok("get", "deploy", "-n", "demo")
	mustContain(t, "get deploy", out, "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "web", "0/2")
	out = s.ok("get", "deploy", "-n", "demo", "-o", "wide")
	mustContain(t, "get -o wide", out, "CONTAINERS", "IMAGES", "SELECTOR", "skiff-test:latest", "app=web")
	out = s.ok("get", "deploy", "web", "-n", "demo", "-o", "yaml")
	mustContain(t, "get -o yaml", out, "progressDeadlineSeconds: 600", "revisionHistoryLimit: 10", "maxSurge: 25%", "imagePullPolicy: Always", "terminationGracePeriodSeconds: 30")
	out = s.ok("get", "cm", "cfg", "-n", "demo", "-o", "json")
	mustContain(t, "get -o json", out, `"kind": "ConfigMap"`, `"key": "value"`)
	if out = s.ok("get", "deploy", "-n", "demo", "-o", "name"); strings.TrimSpace(out) != "deployment.apps/web" {
		t.Fatalf("-o name: %q", out)
	}
	if out = s.ok("get", "cm", "cfg", "-n", "demo", "-o", "jsonpath={.data.key}"); out != "value" {
		t.Fatalf("jsonpath: %q", out)
	}
	out = s.ok("get", "svc", "-n", "demo", "-o", "custom-columns=NAME:.metadata.name,PORT:.spec.ports[0].port")
	mustContain(t, "custom-columns", out, "NAME", "PORT", "web", "80")
	out = s.ok("get", "svc", "web", "-n", "demo")
	if !regexp.MustCompile(`web\s+ClusterIP\s+10\.43\.\d+\.\d+\s+<none>\s+80/TCP`).MatchString(out) {
		t.Fatalf("get svc: %s", out)
	}
	out = s.ok("get", "all", "-A")
	mustContain(t, "get all -A", out, "service/kubernetes", "service/kube-dns", "deployment.apps/web", "cronjob.batch/tick")
	if !regexp.MustCompile(`(?m)^demo\s+service/web\s+ClusterIP`).MatchString(out) {
		t.Fatalf("get all -A lacks demo's service/web:\n%s", out)
	}
	out = s.ok("get", "secret", "sec", "-n", "demo")
	mustContain(t, "get secret", out, "Opaque", "1")

	// watch: a change made by another command streams in.
	watch := exec.Command("kubectl", "--kubeconfig", s.kubeconfig(), "--cache-dir", t.TempDir(), "get", "cm", "-n", "demo", "-w")
	var wout strings.Builder
	watch.Stdout = &wout
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(wout.String(), "cfg") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	s.ok("create", "configmap", "watched", "-n", "demo", "--from-literal=a=b")
	for !strings.Contains(wout.String(), "watched") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = watch.Process.Kill()
	_ = watch.Wait()
	mustContain(t, "get -w", wout.String(), "NAME", "cfg", "watched")

	// describe, label, annotate.
	out = s.ok("describe", "deploy", "web", "-n", "demo")
	mustContain(t, "describe deploy", out, "Name:                   web", "Replicas:               2 desired", "StrategyType:           RollingUpdate", "Image:         skiff-test:latest")
	s.ok("label", "cm", "cfg", "-n", "demo", "tier=backend")
	s.ok("annotate", "cm", "cfg", "-n", "demo", "note=hello")
	out = s.ok("get", "cm", "cfg", "-n", "demo", "--show-labels")
	mustContain(t, "--show-labels", out, "tier=backend")
	out = s.ok("get", "cm", "-n", "demo", "-l", "tier=backend", "-o", "name")
	if strings.TrimSpace(out) != "configmap/cfg" {
		t.Fatalf("-l: %q", out)
	}
	s.fails(`error: 'tier' already has a value (backend), and --overwrite is false`, "label", "cm", "cfg", "-n", "demo", "tier=front")

	// the create generators, which send protobuf.
	mustContain(t, "create deployment", s.ok("create", "deployment", "d2", "--image=img:1", "-n", "demo"), "deployment.apps/d2 created")
	mustContain(t, "create configmap", s.ok("create", "configmap", "c2", "--from-literal=a=b", "-n", "demo"), "configmap/c2 created")
	mustContain(t, "create secret", s.ok("create", "secret", "generic", "s2", "--from-literal=x=y", "-n", "demo"), "secret/s2 created")
	mustContain(t, "create namespace", s.ok("create", "namespace", "other"), "namespace/other created")
	mustContain(t, "create job", s.ok("create", "job", "j1", "--image=img:1", "-n", "demo"), "job.batch/j1 created")
	s.fails(`error: failed to create configmap: configmaps "c2" already exists`, "create", "configmap", "c2", "-n", "demo")
	out = s.ok("get", "job", "j1", "-n", "demo", "-o", "jsonpath={.spec.selector.matchLabels}")
	mustContain(t, "job selector", out, "batch.kubernetes.io/controller-uid")

	// apply: unchanged on re-apply, configured for the one changed object, diff before and after.
	s.ok("delete", "ns", "other")
	out = s.ok("apply", "-f", app)
	mustContain(t, "apply", out, "deployment.apps/web configured")
	out = s.ok("apply", "-f", app)
	if strings.Contains(out, "configured") || strings.Count(out, "unchanged") != 9 {
		t.Fatalf("second apply:\n%s", out)
	}
	changed := filepath.Join(t.TempDir(), "app.yaml")
	data, _ := os.ReadFile(app)
	_ = os.WriteFile(changed, []byte(strings.Replace(string(data), "replicas: 2", "replicas: 3", 1)), 0o644)
	out, _, code := s.kubectl("diff", "-f", changed)
	if code != 1 || !strings.Contains(out, "-  replicas: 2") || !strings.Contains(out, "+  replicas: 3") {
		t.Fatalf("diff before apply: exit %d\n%s", code, out)
	}
	out = s.ok("apply", "-f", changed)
	if strings.Count(out, "configured") != 1 || !strings.Contains(out, "deployment.apps/web configured") {
		t.Fatalf("apply of one change:\n%s", out)
	}
	if out, _, code = s.kubectl("diff", "-f", changed); code != 0 || out != "" {
		t.Fatalf("diff after apply: exit %d\n%s", code, out)
	}

	// patch, scale, set image.
	s.ok("patch", "deploy", "web", "-n", "demo", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"skiff-test:v2"}]}}}}`)
	s.ok("patch", "cm", "cfg", "-n", "demo", "--type=json", "-p", `[{"op":"add","path":"/data/k2","value":"v2"}]`)
	s.ok("patch", "cm", "cfg", "-n", "demo", "--type=merge", "-p", `{"data":{"k3":"v3"}}`)
	if out = s.ok("get", "cm", "cfg", "-n", "demo", "-o", "jsonpath={.data}"); out != `{"k2":"v2","k3":"v3","key":"value"}` {
		t.Fatalf("after patches: %s", out)
	}
	s.ok("scale", "deploy", "web", "-n", "demo", "--replicas=5")
	s.ok("scale", "deploy", "web", "-n", "demo", "--current-replicas=5", "--replicas=4")
	s.fails("Expected replicas to be 9, was 4", "scale", "deploy", "web", "-n", "demo", "--current-replicas=9", "--replicas=1")
	s.ok("set", "image", "deploy/web", "-n", "demo", "web=skiff-test:v3")
	if out = s.ok("get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}"); out != "4 skiff-test:v3" {
		t.Fatalf("after scale and set image: %s", out)
	}

	// explain, api-resources, api-versions.
	out = s.ok("explain", "deployment.spec.strategy.rollingUpdate")
	mustContain(t, "explain", out, "KIND:       Deployment", "FIELD: rollingUpdate <RollingUpdateDeployment>", "maxSurge\t<IntOrString>")
	out = s.ok("api-resources")
	mustContain(t, "api-resources", out, "deployments", "deploy", "apps/v1", "true", "Deployment")
	out = s.ok("api-versions")
	mustContain(t, "api-versions", out, "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "v1")

	// delete: --cascade sets the garbage collector's finalizer, and the collector then does what
	// Kubernetes does: foreground removes the ReplicaSets first, orphan leaves them ownerless.
	if out := s.ok("get", "rs", "-n", "demo", "-l", "app=web", "-o", "name"); !strings.Contains(out, "replicaset.apps/web-") {
		t.Fatalf("the Deployment controller made no ReplicaSet: %q", out)
	}
	s.ok("delete", "deploy", "web", "-n", "demo", "--cascade=foreground", "--wait=false")
	if out, _, code := s.kubectl("get", "deploy", "web", "-n", "demo", "-o", "jsonpath={.metadata.finalizers}"); code == 0 && out != `["foregroundDeletion"]` {
		t.Fatalf("foreground delete finalizers: %s", out)
	}
	s.eventually(30*time.Second, func() string {
		if out, _, code := s.kubectl("get", "deploy,rs", "-n", "demo", "-l", "app=web", "-o", "name"); code != 0 || strings.TrimSpace(out) != "" {
			return "still there: " + out
		}
		return ""
	})
	d2rs := strings.TrimSpace(s.ok("get", "rs", "-n", "demo", "-l", "app=d2", "-o", "name"))
	s.ok("delete", "deploy", "d2", "-n", "demo", "--cascade=orphan")
	s.eventually(30*time.Second, func() string {
		if out := s.ok("get", "rs", "-n", "demo", "-l", "app=d2", "-o", "jsonpath={.items[*].metadata.ownerReferences}"); out != "" || d2rs == "" {
			return "ReplicaSet " + d2rs + " still owned: " + out
		}
		return ""
	})
	if out := strings.TrimSpace(s.ok("get", "rs", "-n", "demo", "-l", "app=d2", "-o", "name")); out != d2rs {
		t.Fatalf("orphaned ReplicaSets: %q, want %q", out, d2rs)
	}
	mustContain(t, "delete cm", s.ok("delete", "cm", "c2", "-n", "demo"), `configmap "c2" deleted`)
	s.fails(`Error from server (NotFound): configmaps "c2" not found`, "delete", "cm", "c2", "-n", "demo")
	s.fails(`Error from server (NotFound): deployments.apps "nope" not found`, "get", "deploy", "nope", "-n", "demo")
	s.fails(`error: the server doesn't have a resource type "nosuchthing"`, "get", "nosuchthing")
}

// TestBadInput checks that bad input gets upstream's errors and stores nothing.
func TestBadInput(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	s.fails(`error converting YAML to JSON`, "create", "-f", write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n"))
	s.fails(`The ConfigMap "Upper" is invalid: metadata.name: Invalid value: "Upper"`, "create", "-f",
		write("upper.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Upper\n"))
	s.fails(`strict decoding error: unknown field "spec"`, "create", "-f",
		write("unknown.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nspec: {}\n"))
	s.fails(`Error from server (NotFound): error when creating`, "create", "-f",
		write("nons.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: nowhere\n"))
	// Unknown kinds: with default validation kubectl falls back to OpenAPI v2, which skiff does
	// not serve yet (see the issue notes); the mapping error itself is upstream's.
	s.fails(`no matches for kind "Widget" in version "v1"`, "create", "--validate=false", "-f",
		write("kind.yaml", "apiVersion: v1\nkind: Widget\nmetadata:\n  name: x\n"))
	s.fails(`spec.template.spec.containers[0].image: Required value`, "create", "-f", write("noimage.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: noimage}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: c}]
`))
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: " + strings.Repeat("x", 4<<20) + "\n"
	s.fails(`Request entity too large`, "create", "-f", write("big.yaml", big))
	// Stale resourceVersion on replace.
	s.ok("create", "configmap", "c1", "--from-literal=a=1")
	stale := s.ok("get", "cm", "c1", "-o", "yaml")
	s.ok("label", "cm", "c1", "x=y")
	s.fails(`Operation cannot be fulfilled on configmaps "c1": the object has been modified; please apply your changes to the latest version and try again`,
		"replace", "-f", write("stale.yaml", strings.Replace(stale, "a: \"1\"", "a: \"2\"", 1)))
	if out := s.ok("get", "cm", "-o", "name"); strings.TrimSpace(out) != "configmap/c1\nconfigmap/kube-root-ca.crt" && strings.TrimSpace(out) != "configmap/c1" {
		t.Fatalf("objects stored by bad requests: %q", out)
	}
	if out := s.ok("get", "cm", "c1", "-o", "jsonpath={.data.a}"); out != "1" {
		t.Fatalf("stale replace changed the object: %q", out)
	}
}

// TestRestartKeepsState stops the server with SIGTERM and with SIGKILL: objects, uids and
// resourceVersions survive both.
func TestRestartKeepsState(t *testing.T) {
	s := startServer(t)
	s.ok("create", "configmap", "survivor", "--from-literal=a=1")
	before := s.ok("get", "cm", "survivor", "-o", "jsonpath={.metadata.uid} {.metadata.resourceVersion}")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		s.stop(sig)
		if sig == syscall.SIGTERM && !strings.Contains(s.log.String(), "stopped") {
			t.Fatalf("no clean shutdown on SIGTERM:\n%s", s.log.String())
		}
		s.start()
		if after := s.ok("get", "cm", "survivor", "-o", "jsonpath={.metadata.uid} {.metadata.resourceVersion}"); after != before {
			t.Fatalf("after %v: %q, before %q", sig, after, before)
		}
	}
}
