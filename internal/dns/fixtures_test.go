package dns

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	testclock "k8s.io/utils/clock/testing"
)

// testTime is the time of the views newTestView returns, and so their SOA serial.
var testTime = time.Unix(1_700_000_000, 0)

// newTestView returns a view over indexers holding objs (Services and EndpointSlices),
// with the informers' index functions.
func newTestView(t testing.TB, objs ...runtime.Object) *informerView {
	t.Helper()
	svcs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, serviceIndexers())
	slices := cache.NewIndexer(cache.MetaNamespaceKeyFunc, sliceIndexers())
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = svcs.Add(o)
		case *discoveryv1.EndpointSlice:
			err = slices.Add(o)
		default:
			t.Fatalf("newTestView: unexpected %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	v := &informerView{services: svcs, slices: slices, clock: testclock.NewFakePassiveClock(testTime)}
	v.touch()
	return v
}

func port(name string, proto corev1.Protocol, p int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: p}
}

// clusterIPService returns a ClusterIP Service with the given ClusterIPs and ports.
func clusterIPService(ns, name string, ips []string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ips[0], ClusterIPs: ips, Ports: ports},
	}
}

func headlessService(ns, name string, publishNotReady bool, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: corev1.ClusterIPNone,
			ClusterIPs: []string{corev1.ClusterIPNone}, Ports: ports, PublishNotReadyAddresses: publishNotReady},
	}
}

func externalNameService(ns, name, target string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target},
	}
}

func slicePort(name string, proto corev1.Protocol, p int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &p}
}

// endpoint returns an endpoint with one address; hostname "" for none; ready "" for
// unset, else "true" or "false".
func endpoint(addr, hostname, ready string) discoveryv1.Endpoint {
	ep := discoveryv1.Endpoint{Addresses: []string{addr}}
	if hostname != "" {
		ep.Hostname = &hostname
	}
	if ready != "" {
		r := ready == "true"
		ep.Conditions.Ready = &r
	}
	return ep
}

func endpointSlice(ns, name, service string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: family,
		Ports:       ports,
		Endpoints:   eps,
	}
}

// rrStrings returns the records as single-space-separated text.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	return out
}

// manyServices returns n ClusterIP Services in namespace "bench" named svc-0..svc-(n-1),
// each with a port "http", and a headless Service "stateful" with n/10 endpoints.
func manyServices(n int) []runtime.Object {
	var objs []runtime.Object
	for i := range n {
		objs = append(objs, clusterIPService("bench", fmt.Sprintf("svc-%d", i),
			[]string{fmt.Sprintf("10.43.%d.%d", i/250, i%250+1)}, port("http", corev1.ProtocolTCP, 80)))
	}
	objs = append(objs, headlessService("bench", "stateful", false, port("http", corev1.ProtocolTCP, 80)))
	var eps []discoveryv1.Endpoint
	for i := range max(n/10, 1) {
		eps = append(eps, endpoint(fmt.Sprintf("10.42.%d.%d", i/250, i%250+2), fmt.Sprintf("stateful-%d", i), "true"))
	}
	objs = append(objs, endpointSlice("bench", "stateful-abc", "stateful", discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{slicePort("http", corev1.ProtocolTCP, 80)}, eps...))
	return objs
}
