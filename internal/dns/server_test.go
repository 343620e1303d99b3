package dns

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"
	testclock "k8s.io/utils/clock/testing"
)

// testServer runs a server over v on 127.0.0.1 with the given upstreams, until the test
// ends, and returns it once it is ready.
func testServer(t testing.TB, v view, clk clock.PassiveClock, upstreams ...string) *Server {
	t.Helper()
	p := parsedConfig{zone: "cluster.local.", listen: []string{"127.0.0.1:0"}, upstreams: upstreams,
		upstreamTimeout: 500 * time.Millisecond, cacheSize: 1000}
	s := newServer(p, v, clk, slog.New(slog.DiscardHandler))
	runServer(t, s)
	return s
}

// runServer runs s until the test ends and waits until it is ready.
func runServer(t testing.TB, s *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready after 10s")
	}
}

// query asks addr over network ("udp" or "tcp") and fails the test if there is no answer.
func query(t testing.TB, network, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := dns.Client{Net: network, Timeout: 3 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", network, m.Question[0].String(), err)
	}
	return r
}

func question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

func TestServerAnswers(t *testing.T) {
	s := testServer(t, newTestView(t, testCluster()...), clock.RealClock{})
	addr := s.Addrs()[0]
	for _, network := range []string{"udp", "tcp"} {
		r := query(t, network, addr, question("web.default.svc.cluster.local.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative || !r.RecursionAvailable || len(r.Answer) != 1 ||
			r.Answer[0].(*dns.A).A.String() != "10.43.0.10" {
			t.Errorf("%s: answer %v", network, r)
		}
		r = query(t, network, addr, question("nope.default.svc.cluster.local.", dns.TypeA))
		if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("%s: want NXDOMAIN with the SOA: %v", network, r)
		}
	}
}

// TestServerMalformed feeds a real UDP listener broken and odd requests; after each the
// server must still answer a good query.
func TestServerMalformed(t *testing.T) {
	s := testServer(t, newTestView(t, testCluster()...), clock.RealClock{})
	addr := s.Addrs()[0]
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	header := func(id uint16, flags uint16, qd, an, ns, ar uint16) []byte {
		b := make([]byte, 12)
		for i, v := range []uint16{id, flags, qd, an, ns, ar} {
			binary.BigEndian.PutUint16(b[2*i:], v)
		}
		return b
	}
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withClass := func(class uint16) []byte {
		m := question("version.bind.", dns.TypeTXT)
		m.Question[0].Qclass = class
		return pack(m)
	}
	withOpcode := func(op int) []byte {
		m := question("web.default.svc.cluster.local.", dns.TypeA)
		m.Opcode = op
		return pack(m)
	}
	withAncount := func(b []byte, n uint16) []byte {
		binary.BigEndian.PutUint16(b[6:], n)
		return b
	}
	twoQuestions := question("web.default.svc.cluster.local.", dns.TypeA)
	twoQuestions.Question = append(twoQuestions.Question, dns.Question{Name: "example.com.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	noQuestion := question("web.default.svc.cluster.local.", dns.TypeA)
	noQuestion.Question = nil
	ednsV1 := question("web.default.svc.cluster.local.", dns.TypeA)
	ednsV1.SetEdns0(1232, false)
	ednsV1.IsEdns0().SetVersion(1)
	response := question("web.default.svc.cluster.local.", dns.TypeA)
	response.Response = true

	tests := []struct {
		name  string
		raw   []byte
		rcode int // -1: no reply
	}{
		{name: "garbage shorter than a header", raw: []byte{0xde, 0xad, 0xbe}, rcode: -1},
		{name: "empty datagram", raw: []byte{}, rcode: -1},
		{name: "header only, one question announced", raw: header(0x1234, 0x0100, 1, 0, 0, 0), rcode: dns.RcodeFormatError},
		{name: "question cut short", raw: append(header(0x1235, 0x0100, 1, 0, 0, 0), 63, 'w', 'e', 'b'), rcode: dns.RcodeFormatError},
		{name: "label pointer loop", raw: append(header(0x1236, 0x0100, 1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1), rcode: dns.RcodeFormatError},
		// miekg/dns unpacks a message that ends where a section should start as one
		// without that section: the question is there, so it is answered.
		{name: "an answer record announced but missing", raw: withAncount(pack(question("web.default.svc.cluster.local.", dns.TypeA)), 1),
			rcode: dns.RcodeSuccess},
		{name: "too many answer records announced", raw: withAncount(pack(question("web.default.svc.cluster.local.", dns.TypeA)), 9),
			rcode: dns.RcodeFormatError},
		{name: "no question", raw: pack(noQuestion), rcode: dns.RcodeFormatError},
		{name: "two questions", raw: pack(twoQuestions), rcode: dns.RcodeFormatError},
		{name: "a response, not a query", raw: pack(response), rcode: -1},
		{name: "opcode STATUS", raw: withOpcode(dns.OpcodeStatus), rcode: dns.RcodeNotImplemented},
		{name: "opcode UPDATE", raw: withOpcode(dns.OpcodeUpdate), rcode: dns.RcodeNotImplemented},
		{name: "opcode NOTIFY", raw: withOpcode(dns.OpcodeNotify), rcode: dns.RcodeNotImplemented},
		{name: "class CHAOS", raw: withClass(dns.ClassCHAOS), rcode: dns.RcodeRefused},
		{name: "class ANY", raw: withClass(dns.ClassANY), rcode: dns.RcodeRefused},
		{name: "EDNS version 1", raw: pack(ednsV1), rcode: dns.RcodeBadVers},
		{name: "AXFR", raw: pack(question("cluster.local.", dns.TypeAXFR)), rcode: dns.RcodeRefused},
	}
	good := func(t *testing.T) {
		t.Helper()
		r := query(t, "udp", addr, question("web.default.svc.cluster.local.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("good query after a bad one: %v", r)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := conn.Write(tt.raw); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 65535)
			wait := 2 * time.Second
			if tt.rcode == -1 {
				wait = 300 * time.Millisecond
			}
			_ = conn.SetReadDeadline(time.Now().Add(wait))
			n, err := conn.Read(buf)
			switch {
			case tt.rcode == -1 && err == nil:
				t.Fatalf("got a %d-byte reply, want none", n)
			case tt.rcode == -1:
			case err != nil:
				t.Fatalf("no reply: %v", err)
			default:
				r := new(dns.Msg)
				if err := r.Unpack(buf[:n]); err != nil {
					t.Fatalf("reply does not unpack: %v", err)
				}
				if r.Rcode != tt.rcode {
					t.Errorf("rcode = %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				if len(tt.raw) >= 2 && r.Id != binary.BigEndian.Uint16(tt.raw) {
					t.Errorf("reply id %#x, want the query's %#x", r.Id, binary.BigEndian.Uint16(tt.raw))
				}
				if !r.Response {
					t.Error("reply has QR unset")
				}
			}
			good(t)
		})
	}

	t.Run("random garbage", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		valid := pack(question("web.default.svc.cluster.local.", dns.TypeSRV))
		for range 500 {
			var b []byte
			if rng.IntN(2) == 0 {
				b = make([]byte, rng.IntN(600))
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
			} else { // a valid query with a few bytes flipped
				b = append([]byte(nil), valid...)
				for range 1 + rng.IntN(4) {
					b[rng.IntN(len(b))] = byte(rng.Uint32())
				}
			}
			if _, err := conn.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		// The burst may still fill the socket's receive queue, dropping a datagram sent
		// now; a client would ask again, and so does this one.
		c := dns.Client{Net: "udp", Timeout: time.Second}
		for attempt := 1; ; attempt++ {
			r, _, err := c.Exchange(question("web.default.svc.cluster.local.", dns.TypeA), addr)
			if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
				break
			}
			if attempt == 5 {
				t.Fatalf("no good answer after the garbage: %v, %v", r, err)
			}
		}
	})
}

// panicView panics on any Service lookup in namespace "boom".
type panicView struct{ view }

func (v panicView) service(namespace, name string) *corev1.Service {
	if namespace == "boom" {
		panic("boom")
	}
	return v.view.service(namespace, name)
}

func TestServerRecoversFromPanics(t *testing.T) {
	s := testServer(t, panicView{newTestView(t, testCluster()...)}, clock.RealClock{})
	addr := s.Addrs()[0]
	for _, network := range []string{"udp", "tcp"} {
		r := query(t, network, addr, question("x.boom.svc.cluster.local.", dns.TypeA))
		if r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s: rcode %s, want SERVFAIL", network, dns.RcodeToString[r.Rcode])
		}
		r = query(t, network, addr, question("web.default.svc.cluster.local.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s: query after a panic: %v", network, r)
		}
	}
}

func TestServerEDNSAndTruncation(t *testing.T) {
	objs := []runtime.Object{headlessService("default", "many", false, port("http", corev1.ProtocolTCP, 80))}
	var eps []discoveryv1.Endpoint
	for i := range 100 {
		eps = append(eps, endpoint(fmt.Sprintf("10.42.1.%d", i+1), "", "true"))
	}
	objs = append(objs, endpointSlice("default", "many-1", "many", discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{slicePort("http", corev1.ProtocolTCP, 80)}, eps...))
	s := testServer(t, newTestView(t, objs...), clock.RealClock{})
	addr := s.Addrs()[0]
	const name = "many.default.svc.cluster.local."
	withEDNS := func(size uint16, do bool) *dns.Msg {
		m := question(name, dns.TypeA)
		m.SetEdns0(size, do)
		return m
	}

	tests := []struct {
		name      string
		network   string
		q         *dns.Msg
		truncated bool
		maxSize   int
		opt       bool
		do        bool
	}{
		{name: "UDP without EDNS: 512 bytes", network: "udp", q: question(name, dns.TypeA), truncated: true, maxSize: 512},
		{name: "UDP with EDNS 4096: our 1232", network: "udp", q: withEDNS(4096, false), truncated: true, maxSize: 1232, opt: true},
		{name: "UDP with EDNS 800", network: "udp", q: withEDNS(800, true), truncated: true, maxSize: 800, opt: true, do: true},
		{name: "UDP with EDNS below 512 counts as 512", network: "udp", q: withEDNS(100, false), truncated: true, maxSize: 512, opt: true},
		{name: "TCP: everything", network: "tcp", q: question(name, dns.TypeA), maxSize: 65535},
		{name: "TCP with EDNS: everything", network: "tcp", q: withEDNS(512, false), maxSize: 65535, opt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := query(t, tt.network, addr, tt.q)
			if r.Truncated != tt.truncated {
				t.Errorf("TC = %t, want %t", r.Truncated, tt.truncated)
			}
			if tt.truncated && len(r.Answer) >= 100 {
				t.Errorf("truncated answer has all %d records", len(r.Answer))
			}
			if !tt.truncated && len(r.Answer) != 100 {
				t.Errorf("answer has %d records, want 100", len(r.Answer))
			}
			r.Compress = true // as it came over the wire
			if n := r.Len(); n > tt.maxSize {
				t.Errorf("answer is %d bytes, want at most %d", n, tt.maxSize)
			}
			opt := r.IsEdns0()
			if (opt != nil) != tt.opt {
				t.Fatalf("OPT in the answer: %t, want %t", opt != nil, tt.opt)
			}
			if opt != nil && (opt.UDPSize() != ednsSize || opt.Do() != tt.do || opt.Version() != 0) {
				t.Errorf("OPT = size %d, DO %t, version %d; want %d, %t, 0", opt.UDPSize(), opt.Do(), opt.Version(), ednsSize, tt.do)
			}
		})
	}

	t.Run("addresses are shuffled", func(t *testing.T) {
		firsts := map[string]bool{}
		for range 20 {
			r := query(t, "tcp", addr, question(name, dns.TypeA))
			firsts[r.Answer[0].(*dns.A).A.String()] = true
		}
		if len(firsts) < 2 {
			t.Errorf("20 answers all start with %v", firsts)
		}
	})
}

func TestServerForwarding(t *testing.T) {
	up := startUpstream(t)
	clk := testclock.NewFakePassiveClock(testTime)
	s := testServer(t, newTestView(t, testCluster()...), clk, up.addr)
	addr := s.Addrs()[0]

	t.Run("positive answers are cached for their TTL", func(t *testing.T) {
		r := query(t, "udp", addr, question("example.com.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Authoritative || !r.RecursionAvailable {
			t.Fatalf("answer %v", r)
		}
		clk.SetTime(testTime.Add(100 * time.Second))
		r = query(t, "udp", addr, question("EXAMPLE.com.", dns.TypeA))
		if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 200 {
			t.Fatalf("cached answer %v, want TTL 200", r)
		}
		if r.Question[0].Name != "EXAMPLE.com." {
			t.Errorf("question %s, want it as asked", r.Question[0].Name)
		}
		if n := up.count("example.com.", dns.TypeA, ""); n != 1 {
			t.Errorf("upstream asked %d times, want 1", n)
		}
		clk.SetTime(testTime.Add(300 * time.Second))
		query(t, "udp", addr, question("example.com.", dns.TypeA))
		if n := up.count("example.com.", dns.TypeA, ""); n != 2 {
			t.Errorf("after the TTL: upstream asked %d times, want 2", n)
		}
	})
	t.Run("NXDOMAIN is cached for the SOA minimum", func(t *testing.T) {
		clk.SetTime(testTime)
		for range 3 {
			if r := query(t, "udp", addr, question("nx.example.com.", dns.TypeA)); r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
				t.Fatalf("answer %v, want NXDOMAIN with the SOA", r)
			}
		}
		if n := up.count("nx.example.com.", dns.TypeA, ""); n != 1 {
			t.Errorf("upstream asked %d times, want 1", n)
		}
		clk.SetTime(testTime.Add(59 * time.Second))
		query(t, "udp", addr, question("nx.example.com.", dns.TypeA))
		if n := up.count("nx.example.com.", dns.TypeA, ""); n != 1 {
			t.Errorf("after 59s: upstream asked %d times, want 1", n)
		}
		clk.SetTime(testTime.Add(60 * time.Second))
		query(t, "udp", addr, question("nx.example.com.", dns.TypeA))
		if n := up.count("nx.example.com.", dns.TypeA, ""); n != 2 {
			t.Errorf("after 60s: upstream asked %d times, want 2", n)
		}
	})
	t.Run("NODATA is cached", func(t *testing.T) {
		for range 2 {
			if r := query(t, "udp", addr, question("example.com.", dns.TypeAAAA)); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
				t.Fatalf("answer %v, want NODATA", r)
			}
		}
		if n := up.count("example.com.", dns.TypeAAAA, ""); n != 1 {
			t.Errorf("upstream asked %d times, want 1", n)
		}
	})
	t.Run("SERVFAIL is passed on and not cached", func(t *testing.T) {
		for range 2 {
			if r := query(t, "udp", addr, question("servfail.example.com.", dns.TypeA)); r.Rcode != dns.RcodeServerFailure {
				t.Fatalf("answer %v, want SERVFAIL", r)
			}
		}
		if n := up.count("servfail.example.com.", dns.TypeA, ""); n != 2 {
			t.Errorf("upstream asked %d times, want 2", n)
		}
	})
	t.Run("a big answer: the server asks over TCP, the client gets TC over UDP", func(t *testing.T) {
		m := question("big.example.com.", dns.TypeTXT)
		m.SetEdns0(1232, false)
		if r := query(t, "udp", addr, m); !r.Truncated {
			t.Errorf("UDP answer of %d records not truncated", len(r.Answer))
		}
		if r := query(t, "tcp", addr, m); r.Truncated || len(r.Answer) != bigTXTs {
			t.Errorf("TCP answer: %d records, truncated %t; want %d", len(r.Answer), r.Truncated, bigTXTs)
		}
		if n := up.count("big.example.com.", dns.TypeTXT, "tcp"); n != 1 {
			t.Errorf("upstream asked over TCP %d times, want 1", n)
		}
	})
	t.Run("ExternalName target resolved upstream", func(t *testing.T) {
		r := query(t, "udp", addr, question("ext.default.svc.cluster.local.", dns.TypeA))
		want := []string{"ext.default.svc.cluster.local. 5 IN CNAME example.com.", "example.com. 300 IN A 93.184.216.34"}
		if got := rrStrings(r.Answer); r.Rcode != dns.RcodeSuccess || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("answer %s %v, want %v", dns.RcodeToString[r.Rcode], got, want)
		}
		r = query(t, "udp", addr, question("ext.default.svc.cluster.local.", dns.TypeAAAA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || len(r.Ns) != 1 || r.Ns[0].Header().Name != "example.com." {
			t.Errorf("AAAA: want the CNAME and example.com's SOA: %v", r)
		}
	})
	t.Run("reverse names the cluster does not know", func(t *testing.T) {
		r := query(t, "udp", addr, question("1.1.1.1.in-addr.arpa.", dns.TypePTR))
		if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "one.one.one.one." {
			t.Errorf("answer %v", r)
		}
	})
	t.Run("concurrent questions share one exchange", func(t *testing.T) {
		up.mu.Lock()
		up.delay = 200 * time.Millisecond
		up.mu.Unlock()
		defer func() { up.mu.Lock(); up.delay = 0; up.mu.Unlock() }()
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				query(t, "udp", addr, question("same.example.com.", dns.TypeA))
			}()
		}
		wg.Wait()
		if n := up.count("same.example.com.", dns.TypeA, ""); n != 1 {
			t.Errorf("upstream asked %d times, want 1", n)
		}
	})
}

func TestServerWithoutUpstreams(t *testing.T) {
	s := testServer(t, newTestView(t, testCluster()...), clock.RealClock{}, blackHole(t))
	addr := s.Addrs()[0]
	start := time.Now()
	if r := query(t, "udp", addr, question("example.com.", dns.TypeA)); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("answer %v, want SERVFAIL", r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("SERVFAIL after %s", d)
	}
	none := testServer(t, newTestView(t), clock.RealClock{})
	if r := query(t, "udp", none.Addrs()[0], question("example.com.", dns.TypeA)); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("no upstreams: answer %v, want SERVFAIL", r)
	}
}

// TestServerBeforeSync runs New over informers that are never started: the cluster
// domain gets SERVFAIL, the rest is forwarded.
func TestServerBeforeSync(t *testing.T) {
	up := startUpstream(t)
	f := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	s, err := New(Config{Listen: []string{"127.0.0.1:0"}, Upstreams: []string{up.addr},
		Services: f.Core().V1().Services().Informer(), EndpointSlices: f.Discovery().V1().EndpointSlices().Informer()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var addrs []string
	for deadline := time.Now().Add(5 * time.Second); len(addrs) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		addrs = s.Addrs()
	}
	if len(addrs) != 1 {
		t.Fatalf("Addrs = %v", addrs)
	}
	if r := query(t, "udp", addrs[0], question("web.default.svc.cluster.local.", dns.TypeA)); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("cluster name before sync: %v, want SERVFAIL", r)
	}
	if r := query(t, "udp", addrs[0], question("example.com.", dns.TypeA)); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("forwarded name before sync: %v", r)
	}
	select {
	case <-s.Ready():
		t.Error("Ready closed with informers not started")
	default:
	}
}

func TestRunListenErrors(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name   string
		listen string
	}{
		{name: "port taken", listen: taken.LocalAddr().String()},
		{name: "address not on this host", listen: "192.0.2.1:53"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parsedConfig{zone: "cluster.local.", listen: []string{"127.0.0.1:0", tt.listen}, upstreamTimeout: time.Second}
			s := newServer(p, newTestView(t), clock.RealClock{}, slog.New(slog.DiscardHandler))
			done := make(chan error, 1)
			go func() { done <- s.Run(context.Background()) }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("Run returned nil")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return")
			}
		})
	}
}

func TestRunStops(t *testing.T) {
	p := parsedConfig{zone: "cluster.local.", listen: []string{"127.0.0.1:0", "[::1]:0"}, upstreamTimeout: time.Second}
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		p.listen = p.listen[:1] // no IPv6 loopback here
	} else {
		ln.Close()
	}
	s := newServer(p, newTestView(t, testCluster()...), clock.RealClock{}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Ready()
	addrs := s.Addrs()
	for _, a := range addrs {
		query(t, "udp", a, question("web.default.svc.cluster.local.", dns.TypeA))
		query(t, "tcp", a, question("web.default.svc.cluster.local.", dns.TypeA))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	for _, a := range addrs {
		// The ports are free again.
		pc, ln, _, err := listenPair(a)
		if err != nil {
			t.Fatalf("%s still in use: %v", a, err)
		}
		pc.Close()
		ln.Close()
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run returned nil")
	}
}

func TestNewChecksConfig(t *testing.T) {
	f := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	svcs, slices := f.Core().V1().Services().Informer(), f.Discovery().V1().EndpointSlices().Informer()
	resolv := t.TempDir() + "/resolv.conf"
	writeFile(t, resolv, "nameserver 10.42.0.1\nnameserver 192.168.1.1\n")
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		check   func(t *testing.T, s *Server)
	}{
		{name: "defaults", cfg: Config{Listen: []string{"10.42.0.1:53"}, ResolvConf: resolv},
			check: func(t *testing.T, s *Server) {
				if s.zone.name != "cluster.local." || s.cfg.cacheSize != DefaultCacheSize || s.fwd.timeout != DefaultUpstreamTimeout {
					t.Errorf("defaults not applied: %+v", s.cfg)
				}
				if got := strings.Join(s.fwd.upstreams, " "); got != "192.168.1.1:53" {
					t.Errorf("upstreams %q, want the resolv.conf's without our own address", got)
				}
			}},
		{name: "domain with a dot, in capitals", cfg: Config{ClusterDomain: "Corp.Example.", Listen: []string{":0"}, Upstreams: []string{"8.8.8.8"}},
			check: func(t *testing.T, s *Server) {
				if s.zone.name != "corp.example." {
					t.Errorf("zone %q", s.zone.name)
				}
			}},
		{name: "no listen address", cfg: Config{Upstreams: []string{"8.8.8.8"}}, wantErr: "no listen address"},
		{name: "bad listen address", cfg: Config{Listen: []string{"10.42.0.1"}, Upstreams: []string{"8.8.8.8"}}, wantErr: "listen address"},
		{name: "listen host not an IP", cfg: Config{Listen: []string{"localhost:53"}, Upstreams: []string{"8.8.8.8"}}, wantErr: "not an IP"},
		{name: "bad upstream", cfg: Config{Listen: []string{":53"}, Upstreams: []string{"dns.google"}}, wantErr: "upstream"},
		{name: "bad domain", cfg: Config{ClusterDomain: "a..b", Listen: []string{":53"}, Upstreams: []string{"8.8.8.8"}}, wantErr: "cluster domain"},
		{name: "missing resolv.conf", cfg: Config{Listen: []string{":53"}, ResolvConf: t.TempDir() + "/none"}, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Services, tt.cfg.EndpointSlices = svcs, slices
			s, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
	if _, err := New(Config{Listen: []string{":53"}, Upstreams: []string{"8.8.8.8"}}); err == nil {
		t.Error("New without informers succeeded")
	}
}

func TestClusterDNSIsTheZonesNameserver(t *testing.T) {
	f := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	s, err := New(Config{Listen: []string{"127.0.0.1:0"}, Upstreams: []string{"192.0.2.1"},
		ClusterDNS: []netip.Addr{netip.MustParseAddr("10.43.0.10")},
		Services:   f.Core().V1().Services().Informer(), EndpointSlices: f.Discovery().V1().EndpointSlices().Informer()})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(s.zone.nameservers); got != "[10.43.0.10]" {
		t.Errorf("zone nameservers %s", got)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzRespond feeds respond whatever unpacks as a request: it must not panic and its
// answer must pack.
func FuzzRespond(f *testing.F) {
	for _, q := range benchNames(20) {
		b, _ := q.Pack()
		f.Add(b)
	}
	for _, name := range []string{"cluster.local.", "db.data.svc.cluster.local.", "ext.default.svc.cluster.local.",
		"alias.default.svc.cluster.local.", "10.0.43.10.in-addr.arpa.", "example.com."} {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeNS, dns.TypeSOA, dns.TypeANY} {
			m := question(name, qtype)
			m.SetEdns0(1232, true)
			b, _ := m.Pack()
			f.Add(b)
		}
	}
	p := parsedConfig{zone: "cluster.local.", listen: []string{"127.0.0.1:0"}, upstreamTimeout: time.Millisecond}
	s := newServer(p, newTestView(f, append(testCluster(), manyServices(20)...)...), clock.RealClock{}, slog.New(slog.DiscardHandler))
	s.synced.Store(true)
	f.Fuzz(func(t *testing.T, b []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(b); err != nil || req.Response {
			return
		}
		for _, udp := range []bool{true, false} {
			resp := s.respond(context.Background(), req, udp)
			if _, err := resp.Pack(); err != nil {
				t.Fatalf("answer to %v does not pack: %v\n%v", req, err, resp)
			}
		}
	})
}
