package dns_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/utils/ptr"

	clusterdns "github.com/skiff-project/skiff/internal/dns"
	"github.com/skiff-project/skiff/internal/testserver"
)

// TestServerWithAPIServer runs the server over informers of a real API server: Services
// and EndpointSlices created, changed and deleted through the API show in its answers.
func TestServerWithAPIServer(t *testing.T) {
	s := testserver.Start(t, testserver.Options{DisableControllers: true, DisableScheduler: true})
	up := clusterdns.StartUpstream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	factory := informers.NewSharedInformerFactory(s.Client, 0)
	srv, err := clusterdns.New(clusterdns.Config{
		Listen:         []string{"127.0.0.1:0"},
		Upstreams:      []string{up.Addr()},
		Services:       factory.Core().V1().Services().Informer(),
		EndpointSlices: factory.Discovery().V1().EndpointSlices().Informer(),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	factory.Start(ctx.Done())
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
	}()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready after 30s")
	}
	addr := srv.Addrs()[0]
	c := s.Client
	const ns = "dns-test"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	web, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if web.Spec.ClusterIP == "" {
		t.Fatal("the API server allocated no ClusterIP")
	}
	must(c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
			Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}},
	}, metav1.CreateOptions{}))
	must(c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"},
	}, metav1.CreateOptions{}))
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "db-abcde", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("pg"), Port: ptr.To[int32](5432), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.0.5"}, Hostname: ptr.To("db-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.42.0.6"}, Hostname: ptr.To("db-1"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
		},
	}
	slice, err = c.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// eventually asks until the answer, rendered as "RCODE rr; rr", is want.
	eventually := func(network, name string, qtype uint16, want string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			m := new(dns.Msg)
			m.SetQuestion(name, qtype)
			r, _, err := (&dns.Client{Net: network, Timeout: 2 * time.Second}).Exchange(m, addr)
			if err != nil {
				got = err.Error()
				continue
			}
			got = render(r)
			if got == want {
				return
			}
		}
		t.Fatalf("%s %s %s: got %q, want %q", network, name, dns.TypeToString[qtype], got, want)
	}
	d := ".dns-test.svc.cluster.local."
	for _, network := range []string{"udp", "tcp"} {
		eventually(network, "web"+d, dns.TypeA, "NOERROR web"+d+" 5 IN A "+web.Spec.ClusterIP)
		eventually(network, "_http._tcp.web"+d, dns.TypeSRV, "NOERROR _http._tcp.web"+d+" 5 IN SRV 0 100 80 web"+d)
		eventually(network, "db"+d, dns.TypeA, "NOERROR db"+d+" 5 IN A 10.42.0.5")
		eventually(network, "db-0.db"+d, dns.TypeA, "NOERROR db-0.db"+d+" 5 IN A 10.42.0.5")
		eventually(network, "db-1.db"+d, dns.TypeA, "NXDOMAIN")
		eventually(network, "_pg._tcp.db"+d, dns.TypeSRV, "NOERROR _pg._tcp.db"+d+" 5 IN SRV 0 100 5432 db-0.db"+d)
		eventually(network, "ext"+d, dns.TypeA, "NOERROR ext"+d+" 5 IN CNAME example.com.; example.com. 300 IN A 93.184.216.34")
		rev, _ := dns.ReverseAddr(web.Spec.ClusterIP)
		eventually(network, rev, dns.TypePTR, "NOERROR "+rev+" 5 IN PTR web"+d)
		eventually(network, "5.0.42.10.in-addr.arpa.", dns.TypePTR, "NOERROR 5.0.42.10.in-addr.arpa. 5 IN PTR db-0.db"+d)
		eventually(network, "dns-test.svc.cluster.local.", dns.TypeA, "NOERROR")
	}

	// Changes show.
	slice.Endpoints[1].Conditions.Ready = ptr.To(true)
	must(c.DiscoveryV1().EndpointSlices(ns).Update(ctx, slice, metav1.UpdateOptions{}))
	eventually("udp", "db"+d, dns.TypeA, "NOERROR db"+d+" 5 IN A 10.42.0.5; db"+d+" 5 IN A 10.42.0.6")
	eventually("udp", "db-1.db"+d, dns.TypeA, "NOERROR db-1.db"+d+" 5 IN A 10.42.0.6")
	if err := c.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("udp", "web"+d, dns.TypeA, "NXDOMAIN")

	// Forwarding, with the negative answer cached.
	eventually("udp", "example.com.", dns.TypeA, "NOERROR example.com. 300 IN A 93.184.216.34")
	for range 3 {
		eventually("udp", "nx.example.com.", dns.TypeA, "NXDOMAIN")
	}
	if n := up.Count("nx.example.com.", dns.TypeA); n != 1 {
		t.Errorf("nx.example.com reached the upstream %d times, want 1", n)
	}
}

// render returns the rcode and the answer records of r, the addresses sorted, the TTLs
// of forwarded records (which count down) as 300.
func render(r *dns.Msg) string {
	var rrs []string
	for _, rr := range r.Answer {
		if rr.Header().Ttl > 5 && rr.Header().Ttl <= 300 {
			rr.Header().Ttl = 300
		}
		rrs = append(rrs, strings.Join(strings.Fields(rr.String()), " "))
	}
	if len(rrs) > 0 && strings.Contains(rrs[0], " IN A ") {
		slices.Sort(rrs)
	}
	out := dns.RcodeToString[r.Rcode]
	if len(rrs) > 0 {
		out += " " + strings.Join(rrs, "; ")
	}
	return out
}
