package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// validIngress returns an ingress with one rule and one prefix path.
func validIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("nginx"),
			Rules: []networkingv1.IngressRule{{
				Host: "example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
				}}}},
			}},
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"example.com"}, SecretName: "web-tls"}},
		},
	}
}

func TestValidateNetworking(t *testing.T) {
	ing := func(f func(*networkingv1.Ingress)) runtime.Object {
		i := validIngress()
		f(i)
		return i
	}
	port := intstr.FromInt32(80)
	cases := []struct {
		name string
		obj  runtime.Object
		want []want
	}{
		{"valid ingress", validIngress(), nil},
		{"ingress host is an IP", ing(func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "10.0.0.1" }), []want{
			invalid("spec.rules[0].host", `spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address`),
		}},
		{"ingress pathType required", ing(func(i *networkingv1.Ingress) {
			i.Spec.Rules[0].HTTP.Paths[0].PathType = nil
		}), []want{
			required("spec.rules[0].http.paths[0].pathType", "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"),
		}},
		{"ingress relative prefix path", ing(func(i *networkingv1.Ingress) { i.Spec.Rules[0].HTTP.Paths[0].Path = "api" }), []want{
			invalid("spec.rules[0].http.paths[0].path", `spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path`),
		}},
		{"ingress backend port required", ing(func(i *networkingv1.Ingress) {
			i.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{}
		}), []want{
			required("spec.rules[0].http.paths[0].backend", "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"),
		}},
		{"ingress without rules or default backend", ing(func(i *networkingv1.Ingress) { i.Spec.Rules = nil }), []want{
			invalid("spec", "spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"),
		}},
		{"valid network policy", &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: &port}},
				From:  []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
			}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		}}, nil},
		{"network policy empty peer", &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{}}}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		}}, []want{
			required("spec.egress[0].to[0]", "spec.egress[0].to[0]: Required value: must specify a peer"),
		}},
		{"network policy except not a subset", &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"192.168.0.0/24"}}}}}},
		}}, []want{
			invalid("spec.ingress[0].from[0].ipBlock.except[0]", "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"192.168.0.0/24\": must be a strict subset of `cidr`"),
		}},
		{"network policy type enum", &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Both"}}}, []want{
			unsupported("spec.policyTypes[0]", `spec.policyTypes[0]: Unsupported value: "Both": supported values: "Ingress", "Egress"`),
		}},
		{"ingress class controller", &networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Controller: "nginx"}}, []want{
			invalid("spec.controller", `spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")`),
		}},
		{"service CIDR required", &networkingv1.ServiceCIDR{}, []want{
			required("spec.cidrs", "spec.cidrs: Required value: at least one CIDR required"),
		}},
		{"IP address parent required", &networkingv1.IPAddress{}, []want{
			required("spec", "spec: Required value"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}
}
