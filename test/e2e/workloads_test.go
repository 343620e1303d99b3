package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStatefulSetAndDaemonSetRollouts drives StatefulSet and DaemonSet rollouts with the real
// kubectl on simulated nodes: rollout status, set image, history and undo, as on upstream.
func TestStatefulSetAndDaemonSetRollouts(t *testing.T) {
	s := startServer(t, "--simulated-nodes", "3")
	s.waitNodesReady(3)
	manifest := filepath.Join(t.TempDir(), "workloads.yaml")
	_ = os.WriteFile(manifest, []byte(`apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 3
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: skiff-test:v1
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: skiff-test:v1
`), 0o644)
	mustContain(t, "apply", s.ok("apply", "-f", manifest), "statefulset.apps/db created", "daemonset.apps/agent created")

	// StatefulSet: ordinal pods, a rolling update, history and undo. The defaulted
	// rollingUpdate.partition (0) makes kubectl report every RollingUpdate StatefulSet's
	// rollout as "partitioned", as against upstream.
	mustContain(t, "sts rollout status", s.ok("rollout", "status", "sts/db", "--timeout=90s"), "partitioned roll out complete: 3 new pods have been updated...")
	if out := s.ok("get", "pods", "-l", "app=db", "-o", "jsonpath={.items[*].metadata.name}"); out != "db-0 db-1 db-2" {
		t.Fatalf("StatefulSet pods: %q", out)
	}
	s.ok("set", "image", "sts/db", "db=skiff-test:v2")
	mustContain(t, "sts rollout status after set image", s.ok("rollout", "status", "sts/db", "--timeout=90s"), "partitioned roll out complete: 3 new pods have been updated...")
	if out := s.ok("get", "pods", "-l", "app=db", "-o", "jsonpath={.items[*].spec.containers[0].image}"); out != "skiff-test:v2 skiff-test:v2 skiff-test:v2" {
		t.Fatalf("StatefulSet images after set image: %q", out)
	}
	out := s.ok("rollout", "history", "sts/db")
	mustContain(t, "sts rollout history", out, "statefulset.apps/db", "REVISION", "CHANGE-CAUSE", "1 ", "2 ")
	mustContain(t, "sts rollout history --revision", s.ok("rollout", "history", "sts/db", "--revision=1"), "Image:", "skiff-test:v1")
	mustContain(t, "sts rollout undo", s.ok("rollout", "undo", "sts/db"), "statefulset.apps/db rolled back")
	mustContain(t, "sts rollout status after undo", s.ok("rollout", "status", "sts/db", "--timeout=90s"), "partitioned roll out complete: 3 new pods have been updated...")
	if out := s.ok("get", "pods", "-l", "app=db", "-o", "jsonpath={.items[*].spec.containers[0].image}"); out != "skiff-test:v1 skiff-test:v1 skiff-test:v1" {
		t.Fatalf("StatefulSet images after undo: %q", out)
	}
	// A partition keeps the ordinals below it on the old revision.
	s.ok("patch", "sts/db", "-p", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}`)
	s.ok("set", "image", "sts/db", "db=skiff-test:v3")
	mustContain(t, "partitioned rollout status", s.ok("rollout", "status", "sts/db", "--timeout=90s"), "partitioned roll out complete: 1 new pods have been updated...")
	if out := s.ok("get", "pods", "-l", "app=db", "-o", "jsonpath={.items[*].spec.containers[0].image}"); out != "skiff-test:v1 skiff-test:v1 skiff-test:v3" {
		t.Fatalf("StatefulSet images with partition 2: %q", out)
	}

	// DaemonSet: one pod per node, a rolling update, history and undo.
	mustContain(t, "ds rollout status", s.ok("rollout", "status", "ds/agent", "--timeout=90s"), `daemon set "agent" successfully rolled out`)
	nodesOf := func() string {
		return s.ok("get", "pods", "-l", "app=agent", "-o", "jsonpath={.items[*].spec.nodeName}")
	}
	if got := strings.Fields(nodesOf()); len(got) != 3 || got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
		t.Fatalf("DaemonSet pods on nodes %v, want one on each of 3:\n%s", got, s.ok("get", "pods", "-o", "wide"))
	}
	s.ok("set", "image", "ds/agent", "agent=skiff-test:v2")
	mustContain(t, "ds rollout status after set image", s.ok("rollout", "status", "ds/agent", "--timeout=90s"), `daemon set "agent" successfully rolled out`)
	mustContain(t, "ds rollout history", s.ok("rollout", "history", "ds/agent"), "daemonset.apps/agent", "REVISION", "1 ", "2 ")
	mustContain(t, "ds rollout undo", s.ok("rollout", "undo", "ds/agent"), "daemonset.apps/agent rolled back")
	mustContain(t, "ds rollout status after undo", s.ok("rollout", "status", "ds/agent", "--timeout=90s"), `daemon set "agent" successfully rolled out`)
	s.eventually(60*time.Second, func() string {
		if out := s.ok("get", "pods", "-l", "app=agent", "-o", "jsonpath={.items[*].spec.containers[0].image}"); out != "skiff-test:v1 skiff-test:v1 skiff-test:v1" {
			return "DaemonSet images after undo: " + out
		}
		return ""
	})
	if out := s.ok("get", "ds", "agent"); !regexp.MustCompile(`agent\s+3\s+3\s+3\s+3\s+3\s+<none>`).MatchString(out) {
		t.Fatalf("get ds:\n%s", out)
	}
}

// TestDrain: `kubectl drain` cordons a node and evicts its pods through the eviction API,
// retrying while a PodDisruptionBudget forbids an eviction, skipping DaemonSet pods with
// --ignore-daemonsets; the pods come back on the other nodes, and uncordon reopens the node.
func TestDrain(t *testing.T) {
	s := startServer(t, "--simulated-nodes", "3")
	s.waitNodesReady(3)
	manifest := filepath.Join(t.TempDir(), "drain.yaml")
	_ = os.WriteFile(manifest, []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 6
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: skiff-test:v1
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: web}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: skiff-test:v1
`), 0o644)
	s.ok("apply", "-f", manifest)
	s.ok("rollout", "status", "deploy/web", "--timeout=90s")
	s.ok("rollout", "status", "ds/agent", "--timeout=90s")
	s.eventually(30*time.Second, func() string {
		if out := s.ok("get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}"); out != "1" {
			return "disruptionsAllowed " + out
		}
		return ""
	})
	// Without --ignore-daemonsets, drain cordons the node and then refuses, as upstream does.
	stdout, stderr, code := s.kubectl("drain", "sim-0", "--timeout=60s")
	if code == 0 || !strings.Contains(stdout, "node/sim-0 cordoned") || !strings.Contains(stderr, "cannot delete DaemonSet-managed Pods") {
		t.Fatalf("drain without --ignore-daemonsets: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	out := s.ok("drain", "sim-0", "--ignore-daemonsets", "--timeout=120s")
	mustContain(t, "drain", out, "node/sim-0 already cordoned", "evicting pod default/web-", "node/sim-0 drained")
	mustContain(t, "get node", s.ok("get", "node", "sim-0"), "Ready,SchedulingDisabled")
	onNode := func(node string) string {
		return s.ok("get", "pods", "-l", "app=web", "--field-selector", "spec.nodeName="+node, "-o", "name")
	}
	if out := onNode("sim-0"); out != "" {
		t.Fatalf("web pods left on the drained node: %s", out)
	}
	if out := s.ok("get", "pods", "-l", "app=agent", "--field-selector", "spec.nodeName=sim-0", "-o", "name"); out == "" {
		t.Fatal("drain --ignore-daemonsets evicted the DaemonSet's pod")
	}
	mustContain(t, "rollout status after drain", s.ok("rollout", "status", "deploy/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	mustContain(t, "uncordon", s.ok("uncordon", "sim-0"), "node/sim-0 uncordoned")
	if out := s.ok("get", "node", "sim-0"); strings.Contains(out, "SchedulingDisabled") {
		t.Fatalf("after uncordon:\n%s", out)
	}
	// A new pod may land on the node again.
	s.ok("scale", "deploy/web", "--replicas=12")
	s.eventually(60*time.Second, func() string {
		if onNode("sim-0") == "" {
			return "no web pod on sim-0 after uncordon"
		}
		return ""
	})
}

// waitNodesReady waits until n nodes are Ready.
func (s *server) waitNodesReady(n int) {
	s.t.Helper()
	s.eventually(60*time.Second, func() string {
		out := s.ok("get", "nodes", "--no-headers")
		if got := len(regexp.MustCompile(`(?m)^\S+\s+Ready\s`).FindAllString(out, -1)); got != n {
			return "nodes:\n" + out
		}
		return ""
	})
}
