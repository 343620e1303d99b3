package controller_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/controller/servicelb"
)

// TestServiceLB runs the service load balancer against simulated nodes: a LoadBalancer
// Service's ingress lists the Ready, schedulable nodes' addresses (each once) and follows
// them as nodes join and are cordoned; another implementation's Service is left alone; the ingress
// is cleared when the Service stops being a LoadBalancer.
func TestServiceLB(t *testing.T) {
	cl := startCluster(t, controller.Options{Controllers: []string{"service-lb"}}, "lb-a-")
	ctx := cl.ctx

	lb := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := cl.c.CoreV1().Services("default").Create(ctx, lb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := lb.DeepCopy()
	other.Name, other.Spec.LoadBalancerClass = "elsewhere", ptr.To("example.com/lb")
	if _, err := cl.c.CoreV1().Services("default").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// nodeIPs returns the InternalIPs of the nodes that should carry traffic, sorted.
	nodeIPs := func() []string {
		l, err := cl.c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var ips []string
		for i := range l.Items {
			for _, a := range servicelb.NodeAddresses(&l.Items[i]) {
				ips = append(ips, a.String())
			}
		}
		slices.Sort(ips)
		return slices.Compact(ips) // simulated node sets number their IPs alike
	}
	waitIngress := func(what string, want func() []string) {
		t.Helper()
		cl.poll(30*time.Second, what, func() (bool, error) {
			svc, err := cl.c.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			var got []string
			for _, in := range svc.Status.LoadBalancer.Ingress {
				if in.IPMode == nil || *in.IPMode != corev1.LoadBalancerIPModeVIP {
					return false, fmt.Errorf("ingress %s without ipMode VIP", in.IP)
				}
				got = append(got, in.IP)
			}
			w := want()
			if !slices.Equal(got, w) {
				return false, fmt.Errorf("ingress %v, want %v", got, w)
			}
			return true, nil
		})
	}

	waitIngress("ingress of the first two nodes", func() []string {
		ips := nodeIPs()
		if len(ips) != 2 {
			t.Fatalf("%d schedulable nodes, want 2", len(ips))
		}
		return ips
	})

	// lb-b-0 and lb-b-1 share lb-a-0's and lb-a-1's IPs; lb-b-2 brings a third.
	cl.addNodes("lb-b-", 3)
	waitIngress("ingress of the new node too", func() []string { return nodeIPs() })
	if len(nodeIPs()) != 3 {
		t.Fatalf("node IPs %v, want 3", nodeIPs())
	}

	node, err := cl.c.CoreV1().Nodes().Get(ctx, "lb-b-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cordoned := node.Status.Addresses[0].Address
	node.Spec.Unschedulable = true
	if _, err := cl.c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIngress("ingress without the cordoned node", func() []string {
		ips := nodeIPs()
		if slices.Contains(ips, cordoned) {
			return append(ips, "(cordon not seen yet)")
		}
		return ips
	})

	svc, err := cl.c.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	for i := range svc.Spec.Ports {
		svc.Spec.Ports[i].NodePort = 0
	}
	svc.Spec.AllocateLoadBalancerNodePorts = nil
	svc.Spec.ExternalTrafficPolicy = ""
	if _, err := cl.c.CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIngress("ingress cleared after the type changed", func() []string { return nil })

	o, err := cl.c.CoreV1().Services("default").Get(ctx, "elsewhere", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("the Service of another load-balancer class got ingress %v", o.Status.LoadBalancer.Ingress)
	}
}
