package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/test/cluster"
)

// Multi-node tests: a `skiff server` and agents in network namespaces of their own
// (test/cluster), real containers from the test images.

// nodePod returns a pod bound to node (spec.nodeName: no scheduling to wait for) running the
// image with args, with container port 8080 (published on the node as hostPort, if not 0).
func nodePod(name, node, image string, hostPort int32, args ...string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeName: node, TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "c", Image: image, Args: args,
				Ports: []corev1.ContainerPort{{ContainerPort: 8080, HostPort: hostPort}},
			}},
		},
	}
}

// runPods creates the pods and waits until they run; it returns them as they are then.
func runPods(t *testing.T, c *cluster.Cluster, pods ...*corev1.Pod) map[string]*corev1.Pod {
	t.Helper()
	ctx := context.Background()
	for _, p := range pods {
		if _, err := c.Client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*corev1.Pod{}
	c.Eventually(60*time.Second, func() string {
		for _, p := range pods {
			got, err := c.Client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err.Error()
			}
			if got.Status.Phase != corev1.PodRunning || got.Status.PodIP == "" {
				desc, _, _ := c.Kubectl("describe", "pod", p.Name)
				return fmt.Sprintf("pod %s is %s:\n%s", p.Name, got.Status.Phase, desc)
			}
			out[p.Name] = got
		}
		return ""
	})
	return out
}

// podGet runs `skiffhost get URL` in pod and returns the body, trimmed.
func podGet(c *cluster.Cluster, pod, url string) (string, error) {
	out, errOut, code := c.Kubectl("exec", pod, "--", "/skiffhost", "get", "--timeout", "3s", url)
	if code != 0 {
		return "", fmt.Errorf("kubectl exec %s -- skiffhost get %s: exit %d: %s", pod, url, code, strings.TrimSpace(errOut))
	}
	return strings.TrimSpace(out), nil
}

// expectGet checks, retrying for d, that pod gets want from url.
func expectGet(t *testing.T, c *cluster.Cluster, d time.Duration, pod, url, want string) {
	t.Helper()
	c.Eventually(d, func() string {
		got, err := podGet(c, pod, url)
		if err != nil {
			return err.Error()
		}
		if got != want {
			return fmt.Sprintf("pod %s: GET %s = %q, want %q", pod, url, got, want)
		}
		return ""
	})
}

// httpGet gets url with client and returns the body, trimmed.
func httpGet(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}

// TestMultiNodeNetwork runs pods on two nodes joined by the VXLAN overlay: pods reach pods of
// the other node by IP and see each other's pod IPs (no masquerade between pods), a hostPort
// answers on its node's address (and on 127.0.0.1 on the node), connectivity survives a killed
// and restarted agent (and comes back after a partition heals), and a deleted pod's address
// returns to its node's pool.
func TestMultiNodeNetwork(t *testing.T) {
	if isolate(t) {
		return
	}
	ctx := context.Background()
	imgs, err := cluster.TestImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	c := cluster.New(t, cluster.Options{Binary: skiffBin, Images: imgs})
	a, b := c.Nodes[0], c.Nodes[1]

	pods := []*corev1.Pod{
		nodePod("web-a", a.Name, cluster.SkiffhostImage, 0),
		nodePod("web-b", b.Name, cluster.SkiffhostImage, 0),
		nodePod("hostport-b", b.Name, cluster.SkiffhostImage, 18080),
	}
	_, busybox := imgs[cluster.BusyboxImage]
	if busybox {
		pods = append(pods, nodePod("busybox-a", a.Name, cluster.BusyboxImage, 0, "sleep", "3600"))
		pods[len(pods)-1].Spec.Containers[0].Command = []string{"sh", "-c"}
		pods[len(pods)-1].Spec.Containers[0].Args = []string{"sleep 3600"}
	}
	start := time.Now()
	running := runPods(t, c, pods...)
	t.Logf("%d pods Running on two nodes in %v", len(pods), time.Since(start).Round(time.Millisecond))
	ipA, ipB := running["web-a"].Status.PodIP, running["web-b"].Status.PodIP

	// Pod to pod across nodes, both ways: the receiver sees the sender's pod IP.
	expectGet(t, c, 20*time.Second, "web-a", "http://"+net.JoinHostPort(ipB, "8080")+"/clientip", ipA)
	expectGet(t, c, 20*time.Second, "web-b", "http://"+net.JoinHostPort(ipA, "8080")+"/clientip", ipB)
	if out, errOut, code := c.Kubectl("exec", "web-a", "--", "/skiffhost", "tcp-connect", net.JoinHostPort(ipB, "8080")); code != 0 {
		t.Errorf("tcp-connect from web-a to web-b: exit %d %s %s", code, out, errOut)
	}
	if busybox {
		ipBB := running["busybox-a"].Status.PodIP
		out, errOut, code := c.Kubectl("exec", "busybox-a", "--", "sh", "-c", "timeout 5 wget -qO- http://"+net.JoinHostPort(ipB, "8080")+"/clientip")
		if code != 0 || strings.TrimSpace(out) != ipBB {
			t.Errorf("busybox wget from node a to web-b: exit %d %q %s, want %s", code, out, errOut, ipBB)
		}
	}

	// The overlay as the kernel holds it on node a.
	if out, err := a.Exec("ip", "-d", "link", "show", "type", "vxlan"); err != nil || !strings.Contains(out, "vxlan id 1") || !strings.Contains(out, "local "+a.IP) || !strings.Contains(out, "dstport 8472") || !strings.Contains(out, "nolearning") {
		t.Errorf("ip -d link show type vxlan on node a: %v\n%s", err, out)
	}
	podCIDRB := mustNode(t, c, b.Name).Spec.PodCIDRs[0]
	if out, err := a.Exec("ip", "route", "show", podCIDRB); err != nil || !strings.Contains(out, "onlink") {
		t.Errorf("ip route show %s on node a: %v\n%s", podCIDRB, err, out)
	}
	if out, err := a.Exec("bridge", "fdb", "show"); err != nil || !strings.Contains(out, "dst "+b.IP) {
		t.Errorf("bridge fdb show on node a: %v\n%s", err, out)
	}

	// A hostPort answers on its node's address: from the machine (no masquerade: the pod sees
	// the machine's address), from a pod of the other node, and from the node itself through
	// 127.0.0.1 (masqueraded to the node's pod gateway).
	hostPortURL := "http://" + net.JoinHostPort(b.IP, "18080")
	machine := &http.Client{Timeout: 3 * time.Second}
	c.Eventually(20*time.Second, func() string {
		got, err := httpGet(machine, hostPortURL+"/clientip")
		if err != nil {
			return err.Error()
		}
		if got != c.ServerIP {
			return fmt.Sprintf("hostPort from the machine: the pod saw %s, want %s", got, c.ServerIP)
		}
		return ""
	})
	expectGet(t, c, 20*time.Second, "web-a", hostPortURL+"/hostname", "hostport-b")
	gatewayB := gateway(t, podCIDRB)
	c.Eventually(20*time.Second, func() string {
		got, err := httpGet(b.HTTPClient(3*time.Second), "http://127.0.0.1:18080/clientip")
		if err != nil {
			return "hostPort from node b's 127.0.0.1: " + err.Error()
		}
		if got != gatewayB {
			return fmt.Sprintf("hostPort from node b's 127.0.0.1: the pod saw %s, want the gateway %s", got, gatewayB)
		}
		return ""
	})

	// A killed agent leaves the data path alone; restarted, it adopts its pods and routes.
	c.KillAgent(b.Name)
	expectGet(t, c, 10*time.Second, "web-a", "http://"+net.JoinHostPort(ipB, "8080")+"/clientip", ipA)
	if got, err := httpGet(machine, hostPortURL+"/hostname"); err != nil || got != "hostport-b" {
		t.Errorf("hostPort while node b's agent is down: %q, %v", got, err)
	}
	c.StartAgent(b.Name)
	c.WaitNodesReady(30 * time.Second)
	expectGet(t, c, 20*time.Second, "web-a", "http://"+net.JoinHostPort(ipB, "8080")+"/clientip", ipA)
	expectGet(t, c, 20*time.Second, "web-b", "http://"+net.JoinHostPort(ipA, "8080")+"/clientip", ipB)
	if got, err := httpGet(machine, hostPortURL+"/hostname"); err != nil || got != "hostport-b" {
		t.Errorf("hostPort after node b's agent restarted: %q, %v", got, err)
	}
	c.RestartAgent(a.Name)
	c.WaitNodesReady(30 * time.Second)
	for name, before := range running {
		after, err := c.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if after.Status.PodIP != before.Status.PodIP || after.Status.Phase != corev1.PodRunning ||
			len(after.Status.ContainerStatuses) != 1 || after.Status.ContainerStatuses[0].RestartCount != 0 {
			t.Errorf("pod %s after the agents restarted: IP %s (was %s), phase %s, statuses %+v", name,
				after.Status.PodIP, before.Status.PodIP, after.Status.Phase, after.Status.ContainerStatuses)
		}
	}
	// A pod started after the restarts reaches the others, and they it.
	late := runPods(t, c, nodePod("late-b", b.Name, cluster.SkiffhostImage, 0))["late-b"]
	expectGet(t, c, 20*time.Second, "late-b", "http://"+net.JoinHostPort(ipA, "8080")+"/clientip", late.Status.PodIP)
	expectGet(t, c, 20*time.Second, "web-a", "http://"+net.JoinHostPort(late.Status.PodIP, "8080")+"/clientip", ipA)

	// A partitioned node's pods are out of reach, and back once it heals.
	c.Partition(b.Name)
	if got, err := podGet(c, "web-a", "http://"+net.JoinHostPort(ipB, "8080")+"/hostname"); err == nil {
		t.Errorf("web-a reaches web-b across a partition: %q", got)
	}
	c.Heal(b.Name)
	expectGet(t, c, 30*time.Second, "web-a", "http://"+net.JoinHostPort(ipB, "8080")+"/clientip", ipA)

	// A deleted pod's address goes back to its node's pool.
	record := filepath.Join(b.DataDir, "network", ipB)
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("IPAM record of web-b: %v", err)
	}
	c.MustKubectl("delete", "pod", "web-b", "--wait=true")
	c.Eventually(30*time.Second, func() string {
		if _, err := os.Stat(record); err == nil {
			return "the IPAM record " + record + " of the deleted pod is still there"
		}
		return ""
	})
	if got, err := podGet(c, "web-a", "http://"+net.JoinHostPort(ipB, "8080")+"/hostname"); err == nil {
		t.Errorf("the deleted pod's address still answers: %q", got)
	}
	t.Logf("TestMultiNodeNetwork: %v in all", time.Since(begin).Round(time.Millisecond))
}

// gateway returns the first host address of a podCIDR: the node's bridge, the pods' gateway.
func gateway(t *testing.T, cidr string) string {
	t.Helper()
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	ip := n.IP.To4()
	ip[3]++
	return ip.String()
}

func mustNode(t *testing.T, c *cluster.Cluster, name string) *corev1.Node {
	t.Helper()
	n, err := c.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMultiNodeHostGW runs two nodes with --network-backend host-gw: no VXLAN device, routes
// via the other node's address, and pods reach each other with their own addresses.
func TestMultiNodeHostGW(t *testing.T) {
	if isolate(t) {
		return
	}
	imgs, err := cluster.TestImages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.New(t, cluster.Options{Binary: skiffBin, Images: imgs, AgentArgs: []string{"--network-backend", "host-gw"}})
	a, b := c.Nodes[0], c.Nodes[1]
	running := runPods(t, c, nodePod("web-a", a.Name, cluster.SkiffhostImage, 0), nodePod("web-b", b.Name, cluster.SkiffhostImage, 0))
	ipA, ipB := running["web-a"].Status.PodIP, running["web-b"].Status.PodIP
	expectGet(t, c, 20*time.Second, "web-a", "http://"+net.JoinHostPort(ipB, "8080")+"/clientip", ipA)
	expectGet(t, c, 20*time.Second, "web-b", "http://"+net.JoinHostPort(ipA, "8080")+"/clientip", ipB)
	podCIDRB := mustNode(t, c, b.Name).Spec.PodCIDRs[0]
	if out, err := a.Exec("ip", "route", "show", podCIDRB); err != nil || !strings.Contains(out, "via "+b.IP) {
		t.Errorf("ip route show %s on node a: %v\n%s", podCIDRB, err, out)
	}
	if out, _ := a.Exec("ip", "-d", "link", "show", "type", "vxlan"); strings.TrimSpace(out) != "" {
		t.Errorf("a VXLAN device with host-gw:\n%s", out)
	}
}

// TestPodCIDRExhausted runs one node whose podCIDR (a /30) holds one pod: a second pod's
// sandbox fails with an event naming the exhausted podCIDR, and starts once the first pod is
// deleted and its address is back in the pool.
func TestPodCIDRExhausted(t *testing.T) {
	if isolate(t) {
		return
	}
	imgs, err := cluster.TestImages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.New(t, cluster.Options{Binary: skiffBin, Images: imgs, Nodes: 1, ServerArgs: []string{"--node-cidr-mask-size", "30"}})
	node := c.Nodes[0]
	podCIDR := mustNode(t, c, node.Name).Spec.PodCIDRs[0]
	first := runPods(t, c, nodePod("first", node.Name, cluster.SkiffhostImage, 0))["first"]
	ctx := context.Background()
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx, nodePod("second", node.Name, cluster.SkiffhostImage, 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var event string
	c.Eventually(60*time.Second, func() string {
		evs, err := c.Client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=second"})
		if err != nil {
			return err.Error()
		}
		for _, e := range evs.Items {
			if e.Reason == "FailedCreatePodSandBox" {
				event = e.Message
				return ""
			}
		}
		return fmt.Sprintf("no FailedCreatePodSandBox event for pod second (%d events)", len(evs.Items))
	})
	t.Logf("event: %s", event)
	for _, want := range []string{"podCIDR exhausted", "no address left in the node's podCIDR " + podCIDR, "1 of 1 in use"} {
		if !strings.Contains(event, want) {
			t.Errorf("the event %q does not say %q", event, want)
		}
	}
	desc := c.MustKubectl("describe", "pod", "second")
	if !strings.Contains(desc, "podCIDR exhausted") {
		t.Errorf("kubectl describe pod second does not show the exhaustion:\n%s", desc)
	}

	if err := c.Client.CoreV1().Pods("default").Delete(ctx, "first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Eventually(60*time.Second, func() string {
		if _, err := c.Client.CoreV1().Pods("default").Get(ctx, "first", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return "pod first still exists"
		}
		p, err := c.Client.CoreV1().Pods("default").Get(ctx, "second", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if p.Status.Phase != corev1.PodRunning {
			return "pod second is " + string(p.Status.Phase)
		}
		if p.Status.PodIP != first.Status.PodIP {
			return fmt.Sprintf("pod second has %s, want the one address of %s, %s", p.Status.PodIP, podCIDR, first.Status.PodIP)
		}
		return ""
	})
}
