package proxy

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/nftables"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// TestMeasureSync measures, in the test's network namespace, how long the proxy takes with
// 1,000 Services of 10 endpoints each (10,000 endpoints): the full sync that writes the
// table, and the time from an EndpointSlice change (one endpoint removed) to its rules
// being in force (the removed endpoint's chain is gone from the kernel), through the
// informer and the sync loop. Run it with
//
//	SKIFF_PROXY_MEASURE=1 go test ./internal/network/proxy -run TestMeasureSync -v
func TestMeasureSync(t *testing.T) {
	if os.Getenv("SKIFF_PROXY_MEASURE") == "" {
		t.Skip("set SKIFF_PROXY_MEASURE=1 to measure")
	}
	requireRoot(t)
	nServices, perService := 1000, 10
	if s := os.Getenv("SKIFF_PROXY_MEASURE_SERVICES"); s != "" {
		nServices = atoi(s)
	}
	var services []*v1.Service
	var eps []*discovery.EndpointSlice
	for i := range nServices {
		key := fmt.Sprintf("bench/svc-%04d", i)
		services = append(services, service(key, fmt.Sprintf("10.43.%d.%d", i/250, i%250+1), "http:80"))
		var addrs []string
		for j := range perService {
			n := i*perService + j
			addrs = append(addrs, fmt.Sprintf("10.42.%d.%d@node-%d", n/250, n%250+1, j%3))
		}
		eps = append(eps, slice(key, fmt.Sprintf("svc-%04d-a", i), "http:8080", addrs...))
	}
	api := newFakeAPI(t, services, eps)
	cfg := Config{
		NodeName:     "node-0",
		NodeIPs:      []netip.Addr{netip.MustParseAddr("192.168.50.1")},
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.43.0.0/16")},
	}
	p := startProxier(t, cfg, api)
	full := p.Stats()
	t.Logf("first (full) sync: %v; %d services, %d chains, %d rules", full.Duration, full.Services, full.Chains, full.Rules)

	// A second full sync over the existing table: every chain flushed and rewritten.
	p.mu.Lock()
	p.needFull = true
	p.mu.Unlock()
	mustNoErr(t, p.Sync())
	t.Logf("full resync over the existing table: %v", p.Stats().Duration)

	conn, err := nftables.New()
	mustNoErr(t, err)
	table := &nftables.Table{Name: p.TableName(), Family: nftables.TableFamilyINet}
	var latencies, syncs, queued []time.Duration
	for round := range 20 {
		i := round * 37 % nServices
		key := fmt.Sprintf("bench/svc-%04d", i)
		s := eps[i].DeepCopy()
		removed := s.Endpoints[len(s.Endpoints)-1]
		s.Endpoints = s.Endpoints[:len(s.Endpoints)-1]
		eps[i] = s
		sp := servicePort{fam: ipv4, name: key + "/tcp/http"}
		gone := endpointName("endpoint", sp, endpoint{addr: netip.MustParseAddr(removed.Addresses[0]), port: 8080})
		if _, err := conn.ListChain(table, gone); err != nil {
			t.Fatalf("chain %s missing before the change: %v", gone, err)
		}
		start := time.Now()
		api.slicesWatch.Modify(s)
		for {
			if _, err := conn.ListChain(table, gone); err != nil {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("chain %s still there after 5s", gone)
			}
			time.Sleep(500 * time.Microsecond)
		}
		latencies = append(latencies, time.Since(start))
		st := p.Stats()
		if st.Full || st.ChainsWritten > 3 {
			t.Fatalf("the change was applied by %+v; want a partial sync of one Service", st)
		}
		syncs = append(syncs, st.Duration)
		queued = append(queued, st.Start.Sub(start))
		time.Sleep(150 * time.Millisecond) // past MinSyncPeriod, so each change is measured alone
	}
	slices.Sort(latencies)
	slices.Sort(syncs)
	slices.Sort(queued)
	t.Logf("one EndpointSlice changed, 20 rounds: sync median %v max %v; change to rule in force median %v max %v",
		syncs[len(syncs)/2], syncs[len(syncs)-1], latencies[len(latencies)/2], latencies[len(latencies)-1])
	t.Logf("from the change to the start of its sync: median %v max %v", queued[len(queued)/2], queued[len(queued)-1])
	t.Logf("GOMAXPROCS %d", runtime.GOMAXPROCS(0))
}
