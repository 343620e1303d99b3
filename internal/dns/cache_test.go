package dns

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
	testclock "k8s.io/utils/clock/testing"
)

// upstreamAnswer returns an answer as an upstream would send it.
func upstreamAnswer(name string, qtype uint16, rcode int, answer []string, ns []string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Response = true
	m.Rcode = rcode
	for _, s := range answer {
		m.Answer = append(m.Answer, mustRR(s))
	}
	for _, s := range ns {
		m.Ns = append(m.Ns, mustRR(s))
	}
	return m
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", s, err))
	}
	return rr
}

func TestCacheTTL(t *testing.T) {
	const soa = "example. %d IN SOA ns.example. host.example. 1 7200 1800 86400 %d"
	tests := []struct {
		name string
		msg  *dns.Msg
		want uint32
		keep bool
	}{
		{name: "positive: the smallest TTL", keep: true, want: 30,
			msg: upstreamAnswer("a.example.", dns.TypeA, dns.RcodeSuccess,
				[]string{"a.example. 300 IN CNAME b.example.", "b.example. 30 IN A 192.0.2.1"}, nil)},
		{name: "positive: capped at 3600", keep: true, want: 3600,
			msg: upstreamAnswer("a.example.", dns.TypeA, dns.RcodeSuccess, []string{"a.example. 86400 IN A 192.0.2.1"}, nil)},
		{name: "positive: at least 5", keep: true, want: 5,
			msg: upstreamAnswer("a.example.", dns.TypeA, dns.RcodeSuccess, []string{"a.example. 0 IN A 192.0.2.1"}, nil)},
		{name: "NXDOMAIN: the SOA minimum", keep: true, want: 60,
			msg: upstreamAnswer("nx.example.", dns.TypeA, dns.RcodeNameError, nil, []string{fmt.Sprintf(soa, 300, 60)})},
		{name: "NXDOMAIN: the SOA TTL if smaller", keep: true, want: 20,
			msg: upstreamAnswer("nx.example.", dns.TypeA, dns.RcodeNameError, nil, []string{fmt.Sprintf(soa, 20, 60)})},
		{name: "NXDOMAIN: capped at 1800", keep: true, want: 1800,
			msg: upstreamAnswer("nx.example.", dns.TypeA, dns.RcodeNameError, nil, []string{fmt.Sprintf(soa, 86400, 86400)})},
		{name: "NXDOMAIN without SOA: 5", keep: true, want: 5,
			msg: upstreamAnswer("nx.example.", dns.TypeA, dns.RcodeNameError, nil, nil)},
		{name: "NODATA: the SOA minimum", keep: true, want: 60,
			msg: upstreamAnswer("a.example.", dns.TypeAAAA, dns.RcodeSuccess, nil, []string{fmt.Sprintf(soa, 300, 60)})},
		{name: "SERVFAIL is not kept",
			msg: upstreamAnswer("a.example.", dns.TypeA, dns.RcodeServerFailure, nil, nil)},
		{name: "REFUSED is not kept",
			msg: upstreamAnswer("a.example.", dns.TypeA, dns.RcodeRefused, nil, nil)},
		{name: "truncated is not kept",
			msg: func() *dns.Msg {
				m := upstreamAnswer("a.example.", dns.TypeA, dns.RcodeSuccess, []string{"a.example. 60 IN A 192.0.2.1"}, nil)
				m.Truncated = true
				return m
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, keep := cacheTTL(tt.msg)
			if keep != tt.keep || got != tt.want {
				t.Errorf("cacheTTL = %d, %t; want %d, %t", got, keep, tt.want, tt.keep)
			}
		})
	}
}

func TestCacheExpiry(t *testing.T) {
	clk := testclock.NewFakePassiveClock(testTime)
	c := newMsgCache(clk, 100)
	k := newCacheKey("A.Example.", dns.TypeA, false, false)
	c.put(k, upstreamAnswer("a.example.", dns.TypeA, dns.RcodeSuccess,
		[]string{"a.example. 30 IN A 192.0.2.1", "a.example. 300 IN A 192.0.2.2"}, nil))

	check := func(after time.Duration, wantTTL uint32, hit bool) {
		t.Helper()
		clk.SetTime(testTime.Add(after))
		m, ok := c.get(newCacheKey("a.example.", dns.TypeA, false, false))
		if ok != hit {
			t.Fatalf("after %s: hit = %t, want %t", after, ok, hit)
		}
		if !ok {
			return
		}
		for _, rr := range m.Answer {
			if rr.Header().Ttl != wantTTL {
				t.Errorf("after %s: TTL of %s = %d, want %d", after, rr, rr.Header().Ttl, wantTTL)
			}
		}
	}
	check(0, 30, true)
	check(10*time.Second, 20, true)
	check(29*time.Second+999*time.Millisecond, 1, true)
	check(30*time.Second, 0, false)
	if c.len() != 0 {
		t.Errorf("expired entry kept: %d entries", c.len())
	}

	// The DO and CD bits make other keys.
	c.put(k, upstreamAnswer("a.example.", dns.TypeA, dns.RcodeSuccess, []string{"a.example. 30 IN A 192.0.2.1"}, nil))
	for _, other := range []cacheKey{
		newCacheKey("a.example.", dns.TypeA, true, false),
		newCacheKey("a.example.", dns.TypeA, false, true),
		newCacheKey("a.example.", dns.TypeAAAA, false, false),
	} {
		if _, ok := c.get(other); ok {
			t.Errorf("get(%+v) hit an answer cached for %+v", other, k)
		}
	}
}

func TestCacheNegativeExpiry(t *testing.T) {
	clk := testclock.NewFakePassiveClock(testTime)
	c := newMsgCache(clk, 100)
	k := newCacheKey("nx.example.", dns.TypeA, false, false)
	c.put(k, upstreamAnswer("nx.example.", dns.TypeA, dns.RcodeNameError, nil,
		[]string{"example. 3600 IN SOA ns.example. host.example. 1 7200 1800 86400 60"}))
	clk.SetTime(testTime.Add(59 * time.Second))
	m, ok := c.get(k)
	if !ok || m.Rcode != dns.RcodeNameError || m.Ns[0].Header().Ttl != 1 {
		t.Fatalf("after 59s: %v, %t; want the NXDOMAIN with TTL 1", m, ok)
	}
	clk.SetTime(testTime.Add(60 * time.Second))
	if _, ok := c.get(k); ok {
		t.Fatal("after 60s: still cached")
	}
}

func TestCacheBounded(t *testing.T) {
	c := newMsgCache(testclock.NewFakePassiveClock(testTime), 3)
	for i := range 10 {
		name := fmt.Sprintf("n%d.example.", i)
		c.put(newCacheKey(name, dns.TypeA, false, false),
			upstreamAnswer(name, dns.TypeA, dns.RcodeSuccess, []string{name + " 60 IN A 192.0.2.1"}, nil))
		if n := c.len(); n > 3 {
			t.Fatalf("after %d puts: %d entries, want at most 3", i+1, n)
		}
	}
	name := "n9.example."
	if _, ok := c.get(newCacheKey(name, dns.TypeA, false, false)); !ok {
		t.Error("the newest entry was evicted")
	}
	off := newMsgCache(testclock.NewFakePassiveClock(testTime), -1)
	off.put(newCacheKey(name, dns.TypeA, false, false),
		upstreamAnswer(name, dns.TypeA, dns.RcodeSuccess, []string{name + " 60 IN A 192.0.2.1"}, nil))
	if off.len() != 0 {
		t.Error("a disabled cache kept an entry")
	}
}

func TestCacheReturnsCopies(t *testing.T) {
	c := newMsgCache(testclock.NewFakePassiveClock(testTime), 10)
	k := newCacheKey("a.example.", dns.TypeA, false, false)
	m := upstreamAnswer("a.example.", dns.TypeA, dns.RcodeSuccess, []string{"a.example. 60 IN A 192.0.2.1"}, nil)
	c.put(k, m)
	m.Answer[0].(*dns.A).Hdr.Ttl = 1 // the caller's message is its own
	got, _ := c.get(k)
	got.Answer = nil
	again, _ := c.get(k)
	if len(again.Answer) != 1 || again.Answer[0].Header().Ttl != 60 {
		t.Fatalf("cached answer changed: %v", again)
	}
}
