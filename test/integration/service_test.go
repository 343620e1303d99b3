package integration

import (
	"net"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestServiceAllocation(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	svcs := client().CoreV1().Services(ns)
	_, serviceNet, _ := net.ParseCIDR("10.43.0.0/16")
	svc, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP(svc.Spec.ClusterIP)
	if ip == nil || !serviceNet.Contains(ip) || len(svc.Spec.ClusterIPs) != 1 {
		t.Fatalf("cluster IP %q", svc.Spec.ClusterIP)
	}
	np := svc.Spec.Ports[0].NodePort
	if np < 30000 || np > 32767 || svc.Spec.Ports[0].TargetPort.IntValue() != 80 || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
		t.Fatalf("ports %+v policy %q", svc.Spec.Ports, svc.Spec.ExternalTrafficPolicy)
	}
	addr, err := client().NetworkingV1().IPAddresses().Get(ctx, svc.Spec.ClusterIP, metav1.GetOptions{})
	if err != nil || addr.Spec.ParentRef.Name != "web" || addr.Spec.ParentRef.Namespace != ns {
		t.Fatalf("IPAddress for %s: %v %+v", svc.Spec.ClusterIP, err, addr)
	}
	// The same cluster IP or node port cannot be had twice.
	_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dup-ip"},
		Spec: corev1.ServiceSpec{ClusterIP: svc.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided IP is already allocated") {
		t.Fatalf("duplicate cluster IP: %v", err)
	}
	_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dup-port"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: np}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Fatalf("duplicate node port: %v", err)
	}
	// A cluster IP outside the service CIDR is refused, and nothing is stored.
	_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "out-of-range"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.99.0.5", Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.clusterIPs") {
		t.Fatalf("cluster IP outside the range: %v", err)
	}
	if _, err := svcs.Get(ctx, "out-of-range", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the refused Service was stored: %v", err)
	}
	// An update keeps the node port; deletion frees both.
	svc.Spec.Ports[0].NodePort = 0
	svc, err = svcs.Update(ctx, svc, metav1.UpdateOptions{})
	if err != nil || svc.Spec.Ports[0].NodePort != np {
		t.Fatalf("node port after update: %v %+v", err, svc.Spec.Ports)
	}
	if err := svcs.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client().NetworkingV1().IPAddresses().Get(ctx, svc.Spec.ClusterIP, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("IPAddress kept after delete: %v", err)
	}
	again, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "again"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: svc.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80, NodePort: np}}}}, metav1.CreateOptions{})
	if err != nil || again.Spec.Ports[0].NodePort != np {
		t.Fatalf("reusing freed IP and port: %v", err)
	}
	// Headless services get no IP.
	headless, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "headless"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"a": "b"}, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("headless: %v %+v", err, headless.Spec)
	}
}

func TestBootstrapObjects(t *testing.T) {
	ctx := ctxT(t)
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if _, err := client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := client().CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || svc.Spec.ClusterIP != "10.43.0.1" || svc.Spec.Ports[0].Port != 443 {
		t.Fatalf("kubernetes service: %v %+v", err, svc)
	}
	ep, err := client().CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || len(ep.Subsets) != 1 || ep.Subsets[0].Ports[0].Port != int32(shared.Server.Config.Port) {
		t.Fatalf("kubernetes endpoints: %v %+v", err, ep)
	}
	slice, err := client().DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || slice.Labels["kubernetes.io/service-name"] != "kubernetes" {
		t.Fatalf("kubernetes endpointslice: %v %+v", err, slice)
	}
	cidr, err := client().NetworkingV1().ServiceCIDRs().Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || cidr.Spec.CIDRs[0] != "10.43.0.0/16" {
		t.Fatalf("servicecidr: %v %+v", err, cidr)
	}
}
