package servicelb

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func node(name string, readyStatus corev1.ConditionStatus, unschedulable bool, addrs ...corev1.NodeAddress) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{Unschedulable: unschedulable},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: readyStatus}},
			Addresses:  addrs,
		},
	}
}

func internal(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

func external(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: ip}
}

func TestIngress(t *testing.T) {
	tests := []struct {
		name  string
		nodes []*corev1.Node
		want  []string
	}{
		{"no nodes", nil, nil},
		{"internal IPs sorted", []*corev1.Node{
			node("b", corev1.ConditionTrue, false, internal("10.0.0.12"), corev1.NodeAddress{Type: corev1.NodeHostName, Address: "b"}),
			node("a", corev1.ConditionTrue, false, internal("10.0.0.9")),
		}, []string{"10.0.0.9", "10.0.0.12"}},
		{"external IP preferred", []*corev1.Node{
			node("a", corev1.ConditionTrue, false, internal("10.0.0.9"), external("203.0.113.9")),
		}, []string{"203.0.113.9"}},
		{"unready, unknown and cordoned nodes take no traffic", []*corev1.Node{
			node("a", corev1.ConditionTrue, false, internal("10.0.0.1")),
			node("b", corev1.ConditionFalse, false, internal("10.0.0.2")),
			node("c", corev1.ConditionUnknown, false, internal("10.0.0.3")),
			node("d", corev1.ConditionTrue, true, internal("10.0.0.4")),
		}, []string{"10.0.0.1"}},
		{"duplicates once, IPv4 first, garbage skipped", []*corev1.Node{
			node("a", corev1.ConditionTrue, false, internal("fd00::1"), internal("10.0.0.1"), internal("not-an-ip")),
			node("b", corev1.ConditionTrue, false, internal("10.0.0.1")),
		}, []string{"10.0.0.1", "fd00::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, in := range Ingress(tt.nodes) {
				if in.IPMode == nil || *in.IPMode != corev1.LoadBalancerIPModeVIP {
					t.Errorf("ingress %s: ipMode %v, want VIP", in.IP, in.IPMode)
				}
				got = append(got, in.IP)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Ingress = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDesired(t *testing.T) {
	nodes := []*corev1.Node{node("a", corev1.ConditionTrue, false, internal("10.0.0.1"))}
	withIngress := corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "10.0.0.7"}}}
	tests := []struct {
		name    string
		svc     corev1.Service
		want    []string
		managed bool
	}{
		{"load balancer", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}, []string{"10.0.0.1"}, true},
		{"another implementation's", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: ptr.To("example.com/lb")},
			Status: corev1.ServiceStatus{LoadBalancer: withIngress}}, nil, false},
		{"type changed away: cleared", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP},
			Status: corev1.ServiceStatus{LoadBalancer: withIngress}}, nil, true},
		{"cluster IP without ingress", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Desired(&tt.svc, nodes)
			if ok != tt.managed {
				t.Fatalf("Desired says %v, want %v", ok, tt.managed)
			}
			var ips []string
			for _, in := range got.Ingress {
				ips = append(ips, in.IP)
			}
			if !slices.Equal(ips, tt.want) {
				t.Fatalf("ingress %v, want %v", ips, tt.want)
			}
		})
	}
}
