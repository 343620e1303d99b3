package dns

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeUpstream is a resolver on 127.0.0.1 (UDP and TCP, one port) that answers from a
// small fixed zone and counts the questions that reach it.
type fakeUpstream struct {
	addr string

	mu      sync.Mutex
	queries map[string]int // "name type net" -> count
	// delay, if set, is waited before each answer.
	delay time.Duration
}

// The fake upstream's zone.
const (
	exampleA   = "example.com. 300 IN A 93.184.216.34"
	exampleSOA = "example.com. 300 IN SOA ns.example.com. host.example.com. 1 7200 1800 86400 60"
	bigTXTs    = 60
)

func startUpstream(t testing.TB) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{queries: map[string]int{}}
	pc, ln, addr, err := listenPair("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = addr
	for _, srv := range []*dns.Server{
		{PacketConn: pc, Handler: dns.HandlerFunc(u.serve)},
		{Listener: ln, Handler: dns.HandlerFunc(u.serve)},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return u
}

// count returns how many times name (any case) of type qtype reached the upstream over
// network ("udp", "tcp", or "" for both).
func (u *fakeUpstream) count(name string, qtype uint16, network string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for k, c := range u.queries {
		f := strings.Fields(k)
		if f[0] == strings.ToLower(name) && f[1] == dns.TypeToString[qtype] && (network == "" || f[2] == network) {
			n += c
		}
	}
	return n
}

func (u *fakeUpstream) serve(w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	u.mu.Lock()
	u.queries[fmt.Sprintf("%s %s %s", strings.ToLower(q.Name), dns.TypeToString[q.Qtype], network)]++
	delay := u.delay
	u.mu.Unlock()
	time.Sleep(delay)

	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	switch name := strings.ToLower(q.Name); {
	case name == "example.com." && q.Qtype == dns.TypeA:
		m.Answer = []dns.RR{mustRR(exampleA)}
	case name == "example.com.":
		m.Ns = []dns.RR{mustRR(exampleSOA)}
	case name == "big.example.com." && q.Qtype == dns.TypeTXT:
		for i := range bigTXTs {
			m.Answer = append(m.Answer, mustRR(fmt.Sprintf(`big.example.com. 300 IN TXT "%02d %s"`, i, strings.Repeat("x", 60))))
		}
	case name == "servfail.example.com.":
		m.Rcode = dns.RcodeServerFailure
	case name == "1.1.1.1.in-addr.arpa." && q.Qtype == dns.TypePTR:
		m.Answer = []dns.RR{mustRR("1.1.1.1.in-addr.arpa. 300 IN PTR one.one.one.one.")}
	default:
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{mustRR(exampleSOA)}
	}
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), opt.Do())
	}
	if network == "udp" {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// blackHole returns the address of a UDP socket that never answers.
func blackHole(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func TestForwarder(t *testing.T) {
	good := startUpstream(t)
	ctx := context.Background()
	q := func(name string, qtype uint16) *dns.Msg { return upstreamQuery(name, qtype, false, false) }

	t.Run("the next upstream after a timeout, and it is tried first next time", func(t *testing.T) {
		f := &forwarder{upstreams: []string{blackHole(t), good.addr}, timeout: 200 * time.Millisecond}
		start := time.Now()
		r, err := f.exchange(ctx, q("example.com.", dns.TypeA))
		if err != nil || len(r.Answer) != 1 {
			t.Fatalf("exchange = %v, %v; want the answer", r, err)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("answered after %s, before the first upstream's timeout", d)
		}
		start = time.Now()
		if _, err := f.exchange(ctx, q("example.com.", dns.TypeA)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 150*time.Millisecond {
			t.Errorf("second exchange took %s: the upstream that answered was not tried first", d)
		}
	})
	t.Run("the next upstream after SERVFAIL", func(t *testing.T) {
		f := &forwarder{upstreams: []string{good.addr, good.addr}, timeout: time.Second}
		r, err := f.exchange(ctx, q("servfail.example.com.", dns.TypeA))
		if err != nil || r.Rcode != dns.RcodeServerFailure {
			t.Fatalf("exchange = %v, %v; want the last SERVFAIL", r, err)
		}
		if n := good.count("servfail.example.com.", dns.TypeA, ""); n != 2 {
			t.Errorf("upstreams asked %d times, want 2", n)
		}
	})
	t.Run("NXDOMAIN is an answer", func(t *testing.T) {
		f := &forwarder{upstreams: []string{good.addr, blackHole(t)}, timeout: time.Second}
		r, err := f.exchange(ctx, q("nx.example.com.", dns.TypeA))
		if err != nil || r.Rcode != dns.RcodeNameError {
			t.Fatalf("exchange = %v, %v; want NXDOMAIN", r, err)
		}
	})
	t.Run("truncated over UDP: again over TCP", func(t *testing.T) {
		f := &forwarder{upstreams: []string{good.addr}, timeout: time.Second}
		r, err := f.exchange(ctx, q("big.example.com.", dns.TypeTXT))
		if err != nil || len(r.Answer) != bigTXTs || r.Truncated {
			t.Fatalf("exchange: %d records, truncated %t, %v; want %d", len(r.Answer), r.Truncated, err, bigTXTs)
		}
		if good.count("big.example.com.", dns.TypeTXT, "udp") != 1 || good.count("big.example.com.", dns.TypeTXT, "tcp") != 1 {
			t.Error("want one UDP and one TCP exchange")
		}
	})
	t.Run("none answers", func(t *testing.T) {
		f := &forwarder{upstreams: []string{blackHole(t), blackHole(t)}, timeout: 100 * time.Millisecond}
		if r, err := f.exchange(ctx, q("example.com.", dns.TypeA)); err == nil {
			t.Fatalf("exchange = %v, want an error", r)
		}
	})
	t.Run("no upstreams", func(t *testing.T) {
		f := &forwarder{timeout: time.Second}
		if _, err := f.exchange(ctx, q("example.com.", dns.TypeA)); err != errNoUpstreams {
			t.Fatalf("exchange error = %v, want %v", err, errNoUpstreams)
		}
	})
}
