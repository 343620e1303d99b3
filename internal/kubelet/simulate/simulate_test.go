package simulate_test

import (
	"context"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/kubelet/simulate"
	"github.com/skiff-project/skiff/internal/testserver"
)

func poll(t *testing.T, timeout time.Duration, what string, f func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := f()
		if ok {
			return
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
}

func TestSimulate(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- simulate.Run(ctx, s.Config, simulate.Options{Nodes: 100, NamePrefix: "sim-",
			CPU: resource.MustParse("32"), Memory: resource.MustParse("256Gi"),
			Labels:      map[string]string{"skiff.dev/simulated": "true"},
			ClusterCIDR: "10.64.0.0/10", NodeCIDRMaskSize: 24})
	}()
	c := s.Client
	bg := context.Background()

	// 100 Ready nodes, each with its own podCIDR.
	poll(t, 30*time.Second, "100 Ready nodes with podCIDRs", func() (bool, error) {
		nodes, err := c.CoreV1().Nodes().List(bg, metav1.ListOptions{LabelSelector: "skiff.dev/simulated=true"})
		if err != nil {
			return false, err
		}
		seen := map[string]bool{}
		ready := 0
		for _, n := range nodes.Items {
			if n.Spec.PodCIDR == "" || seen[n.Spec.PodCIDR] {
				continue
			}
			seen[n.Spec.PodCIDR] = true
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue && cond.Reason == "KubeletReady" {
					ready++
				}
			}
		}
		return ready == 100, nil
	})
	node, err := c.CoreV1().Nodes().Get(bg, "sim-7", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Labels["kubernetes.io/hostname"] != "sim-7" || node.Status.Allocatable.Cpu().String() != "32" || node.Status.Allocatable.Pods().Value() != 110 {
		t.Errorf("node sim-7: labels %v, allocatable %v", node.Labels, node.Status.Allocatable)
	}

	// A pod bound by hand runs, with an IP from its node's podCIDR, and goes away when deleted.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: "sim-7", Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
	}
	if _, err := c.CoreV1().Pods("default").Create(bg, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, cidr, _ := net.ParseCIDR(node.Spec.PodCIDR)
	poll(t, 20*time.Second, "pod web Running and Ready", func() (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(bg, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready := false
		for _, cond := range p.Status.Conditions {
			ready = ready || (cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue)
		}
		return p.Status.Phase == corev1.PodRunning && ready && cidr.Contains(net.ParseIP(p.Status.PodIP)) &&
			p.Status.HostIP == node.Status.Addresses[0].Address, nil
	})
	events, err := c.CoreV1().Events("default").List(bg, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, e := range events.Items {
		if e.InvolvedObject.Name == "web" && e.Source.Host == "sim-7" {
			reasons[e.Reason] = true
		}
	}
	for _, r := range []string{"Pulling", "Pulled", "Created", "Started"} {
		if !reasons[r] {
			t.Errorf("no %s event for pod web (have %v)", r, reasons)
		}
	}
	if err := c.CoreV1().Pods("default").Delete(bg, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, 20*time.Second, "pod web deleted", func() (bool, error) {
		_, err := c.CoreV1().Pods("default").Get(bg, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})

	// Stopping the simulator stops the heartbeats: the Leases go stale.
	lease, err := c.CoordinationV1().Leases("kube-node-lease").Get(bg, "sim-7", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(lease.Spec.RenewTime.Time); age > 15*time.Second {
		t.Fatalf("lease renewed %v ago while running", age)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("simulate.Run did not return after cancel")
	}
	stopped := time.Now()
	before, err := c.CoordinationV1().Leases("kube-node-lease").List(bg, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(11 * time.Second)
	after, err := c.CoordinationV1().Leases("kube-node-lease").List(bg, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	renewed := map[string]time.Time{}
	for _, l := range before.Items {
		renewed[l.Name] = l.Spec.RenewTime.Time
	}
	if len(after.Items) < 100 {
		t.Fatalf("%d leases, want 100", len(after.Items))
	}
	for _, l := range after.Items {
		if !l.Spec.RenewTime.Time.Equal(renewed[l.Name]) || l.Spec.RenewTime.Time.After(stopped) {
			t.Errorf("lease %s renewed after the simulator stopped", l.Name)
		}
	}
}
