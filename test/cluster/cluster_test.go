package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/network/podnet"
	"github.com/skiff-project/skiff/internal/testreexec"
)

// As root, the test binary re-executes itself in new network and mount namespaces standing for
// the machine, so that the bridge and mounts never touch the machine's own.
const isolatedEnv = "SKIFF_CLUSTER_TEST_ISOLATED"

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 && os.Getenv(isolatedEnv) == "" {
		code, err := testreexec.Run(testreexec.Config{
			Env:  []string{isolatedEnv + "=1"},
			Attr: testreexec.NetMountNamespaces(),
		})
		if err == nil {
			if code != 0 {
				code = max(code, 1) // -1: a signal ended it
			}
			os.Exit(code)
		}
		fmt.Fprintln(os.Stderr, "cluster tests: cannot make namespaces, running without:", err)
	}
	if os.Getenv(isolatedEnv) != "" {
		if err := testreexec.PrepareMachine(""); err != nil {
			fmt.Fprintln(os.Stderr, "cluster tests:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// TestCluster checks the harness itself: two nodes come up with their overlay annotations,
// each node's namespace has its address and route, Partition cuts a node off and Heal
// reconnects it, and RestartAgent brings an agent back.
func TestCluster(t *testing.T) {
	var before string
	c := New(t, Options{BeforeAgents: func(c *Cluster) []string {
		before = c.ServerIP
		return []string{"--max-pods", "50"}
	}})
	if before != c.ServerIP {
		t.Errorf("BeforeAgents saw ServerIP %q, want %q", before, c.ServerIP)
	}
	c.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: default\ndata:\n  k: v\n")
	if out := c.MustKubectl("get", "configmap", "applied", "-o", "jsonpath={.data.k}"); out != "v" {
		t.Errorf("the applied ConfigMap has k=%q", out)
	}
	ctx := context.Background()
	for _, n := range c.Nodes {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if node.Annotations[podnet.AnnotationPublicIP] != n.IP || node.Annotations[podnet.AnnotationBackend] != podnet.BackendVXLAN {
			t.Errorf("node %s: annotations %v", n.Name, node.Annotations)
		}
		if pods := node.Status.Capacity.Pods().Value(); pods != 50 {
			t.Errorf("node %s: pods capacity %d, want 50 from BeforeAgents' --max-pods", n.Name, pods)
		}
	}
	out := c.MustKubectl("get", "nodes", "-o", "wide")
	for _, n := range c.Nodes {
		if !strings.Contains(out, n.Name) || !strings.Contains(out, n.IP) {
			t.Errorf("kubectl get nodes lacks %s %s:\n%s", n.Name, n.IP, out)
		}
	}
	a := c.Node("a")
	if out, err := a.Exec("ip", "route"); err != nil || !strings.Contains(out, "default via "+c.ServerIP) {
		t.Errorf("ip route on node a: %v\n%s", err, out)
	}

	server := net.JoinHostPort(c.ServerIP, fmt.Sprint(c.Server.Port))
	reach := func() error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		conn, err := a.Dial(ctx, "tcp", server)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := reach(); err != nil {
		t.Fatalf("node a does not reach the server: %v", err)
	}
	c.Partition("a")
	if err := reach(); err == nil {
		t.Fatal("a partitioned node reaches the server")
	}
	c.Heal("a")
	c.Eventually(10*time.Second, func() string {
		if err := reach(); err != nil {
			return err.Error()
		}
		return ""
	})

	pid := a.PID()
	c.RestartAgent("a")
	if a.PID() == pid || !a.Running() {
		t.Fatalf("RestartAgent: pid %d before, %d after", pid, a.PID())
	}
	if n := strings.Count(a.AgentLog(), "----- agent started"); n != 2 {
		t.Errorf("the agent log shows %d starts, want 2", n)
	}
	c.WaitNodesReady(30 * time.Second)
}

// TestRemoveLeftovers checks that a cluster directory whose owner is gone is removed with its
// bridge, and one whose owner lives is kept.
func TestRemoveLeftovers(t *testing.T) {
	if os.Geteuid() != 0 || os.Getenv(isolatedEnv) == "" {
		t.Skip("needs root, in namespaces of its own")
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(id string, st state) string {
		dir := filepath.Join(baseDir, id)
		if err := os.MkdirAll(filepath.Join(dir, "nodes", "a"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := writeState(dir, st); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "skcdead"
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		t.Fatal(err)
	}
	gone := mk("test-dead", state{OwnerPID: dead.Process.Pid, OwnerStart: 1, Bridge: "skcdead", Nodes: []string{"node-a-dead"}})
	live := mk("test-live", state{OwnerPID: os.Getpid(), OwnerStart: processStart(os.Getpid()), Bridge: "skclive"})
	// A process of the dead run, still there.
	sleeper := exec.Command("sleep", "60", gone+"/nodes/a/")
	sleeper.Args = []string{"sh", "-c", "sleep 60 # " + gone + "/nodes/a/"}
	sleeper.Path = "/bin/sh"
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	removeLeftovers(t.Logf)
	if exists(gone) {
		t.Errorf("%s is still there", gone)
	}
	if _, err := netlink.LinkByName("skcdead"); err == nil {
		t.Error("the dead run's bridge is still there")
	}
	if err := sleeper.Wait(); err == nil {
		t.Error("the dead run's process was not killed")
	}
	if !exists(live) {
		t.Errorf("%s of a live owner was removed", live)
	}
}
