package dns

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"
)

// benchNames returns a query mix over the Services of manyServices(n): mostly A records
// of ClusterIP Services, some SRV of their named port, some A of StatefulSet pods.
func benchNames(n int) []*dns.Msg {
	var qs []*dns.Msg
	for i := range n {
		qs = append(qs, question(fmt.Sprintf("svc-%d.bench.svc.cluster.local.", i), dns.TypeA))
		if i%10 == 0 {
			qs = append(qs, question(fmt.Sprintf("_http._tcp.svc-%d.bench.svc.cluster.local.", i), dns.TypeSRV))
		}
		if i%10 == 5 {
			qs = append(qs, question(fmt.Sprintf("stateful-%d.stateful.bench.svc.cluster.local.", i/10), dns.TypeA))
		}
	}
	return qs
}

func BenchmarkAnswer(b *testing.B) {
	v := newTestView(b, manyServices(1000)...)
	z := &zone{name: "cluster.local."}
	qs := benchNames(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := z.answer(qs[i%len(qs)].Question[0], v); !ok {
			b.Fatal("not answered")
		}
	}
}

// BenchmarkQuery measures a query over UDP, from the client's write to its read, against
// a server with 1,000 Services, with as many clients as GOMAXPROCS (each with one query in
// flight): "cluster" names are answered from the informers, "forwarded" ones from the
// cache.
func BenchmarkQuery(b *testing.B) {
	up := startUpstream(b)
	s := testServer(b, newTestView(b, manyServices(1000)...), clock.RealClock{}, up.addr)
	addr := s.Addrs()[0]
	for _, mix := range []struct {
		name string
		qs   []*dns.Msg
	}{
		{"cluster", benchNames(1000)},
		{"forwarded", []*dns.Msg{question("example.com.", dns.TypeA)}},
	} {
		b.Run(mix.name, func(b *testing.B) {
			b.ReportAllocs()
			var next atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				co, err := dns.Dial("udp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer co.Close()
				local := copyMsgs(mix.qs) // exchange sets their IDs
				for pb.Next() {
					q := local[next.Add(1)%uint64(len(local))]
					if _, err := exchange(co, q); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func copyMsgs(qs []*dns.Msg) []*dns.Msg {
	out := make([]*dns.Msg, len(qs))
	for i, q := range qs {
		out[i] = q.Copy()
	}
	return out
}

// exchange sends q on co and reads its answer.
func exchange(co *dns.Conn, q *dns.Msg) (*dns.Msg, error) {
	q.Id = dns.Id()
	_ = co.SetDeadline(time.Now().Add(time.Second))
	if err := co.WriteMsg(q); err != nil {
		return nil, err
	}
	for {
		r, err := co.ReadMsg()
		if err != nil {
			return nil, err
		}
		if r.Id == q.Id {
			if r.Rcode != dns.RcodeSuccess {
				return r, fmt.Errorf("%s: %s", q.Question[0].String(), dns.RcodeToString[r.Rcode])
			}
			return r, nil
		}
	}
}

// TestMeasureQueries reports queries per second and latency percentiles over UDP against
// a server over informers holding 1,000 Services, the way BENCHMARKS.md records them. It
// runs only with SKIFF_DNS_MEASURE=1; SKIFF_DNS_MEASURE_SECONDS (default 10) sets each
// run's length and SKIFF_DNS_MEASURE_CLIENTS (default "1,8,64") the concurrent clients,
// each a UDP socket with one query in flight.
func TestMeasureQueries(t *testing.T) {
	if os.Getenv("SKIFF_DNS_MEASURE") != "1" {
		t.Skip("set SKIFF_DNS_MEASURE=1 to measure")
	}
	seconds := 10
	if s := os.Getenv("SKIFF_DNS_MEASURE_SECONDS"); s != "" {
		seconds, _ = strconv.Atoi(s)
	}
	clientCounts := []int{1, 8, 64}
	if s := os.Getenv("SKIFF_DNS_MEASURE_CLIENTS"); s != "" {
		clientCounts = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("SKIFF_DNS_MEASURE_CLIENTS: %v", err)
			}
			clientCounts = append(clientCounts, n)
		}
	}

	up := startUpstream(t)
	client := fake.NewClientset(manyServices(1000)...)
	factory := informers.NewSharedInformerFactory(client, 0)
	s, err := New(Config{Listen: []string{"127.0.0.1:0"}, Upstreams: []string{up.addr},
		Services: factory.Core().V1().Services().Informer(), EndpointSlices: factory.Discovery().V1().EndpointSlices().Informer(),
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory.Start(ctx.Done())
	t.Cleanup(func() { // after the server's, which runServer registers
		cancel()
		factory.Shutdown()
	})
	runServer(t, s)
	addr := s.Addrs()[0]

	t.Logf("GOMAXPROCS %d, NumCPU %d, %s, 1,000 Services, %d s per run, client and server in one process",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version(), seconds)
	for _, mix := range []struct {
		name string
		qs   []*dns.Msg
	}{
		{"cluster names", benchNames(1000)},
		{"forwarded, cached", []*dns.Msg{question("example.com.", dns.TypeA)}},
	} {
		for _, clients := range clientCounts {
			res := measure(t, addr, mix.qs, clients, time.Duration(seconds)*time.Second)
			t.Logf("%-18s %3d clients: %8.0f queries/s  p50 %6s  p99 %6s  max %6s  errors %d",
				mix.name, clients, res.qps, res.p50, res.p99, res.max, res.errors)
		}
	}
}

type measurement struct {
	qps           float64
	p50, p99, max time.Duration
	errors        int
}

// measure runs clients UDP clients against addr for d, each asking the queries qs in a
// random order, one at a time.
func measure(t *testing.T, addr string, qs []*dns.Msg, clients int, d time.Duration) measurement {
	var mu sync.Mutex
	var all []time.Duration
	errors := 0
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			co, err := dns.Dial("udp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer co.Close()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			var lat []time.Duration
			errs := 0
			local := copyMsgs(qs)
			for time.Now().Before(deadline) {
				q := local[rng.IntN(len(local))]
				t0 := time.Now()
				if _, err := exchange(co, q); err != nil {
					errs++
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						t.Errorf("client %d: %v", c, err)
						return
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	if len(all) == 0 {
		return measurement{errors: errors}
	}
	pct := func(p float64) time.Duration {
		return all[min(len(all)-1, int(p*float64(len(all))))].Round(time.Microsecond)
	}
	return measurement{qps: float64(len(all)) / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99), max: all[len(all)-1].Round(time.Microsecond), errors: errors}
}
