package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/vishvananda/netlink"

	"github.com/skiff-project/skiff/internal/pinnedns"
)

// The tests in this file need root (see netns_test.go for where they run).
//
// The test's own network namespace is the node. It has a bridge skt-br (10.42.1.1/24)
// with two "endpoint" namespaces on it, ep1 (10.42.1.11) and ep2 (10.42.1.12), each
// serving HTTP on port 8080 with its name as the body, and a "client" namespace outside the
// cluster behind the veth skt-cl (node 192.168.50.1/24, client 192.168.50.2), through which
// the node's default route goes.

type testbed struct {
	ep1, ep2, client string // pinned namespaces
}

func newTestbed(t *testing.T) *testbed {
	t.Helper()
	tb := &testbed{ep1: newNetNS(t), ep2: newNetNS(t), client: newNetNS(t)}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "skt-br"
	mustNoErr(t, netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}))
	t.Cleanup(func() {
		if l, err := netlink.LinkByName("skt-br"); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	br, err := netlink.LinkByName("skt-br")
	mustNoErr(t, err)
	mustNoErr(t, netlink.AddrAdd(br, mustAddr("10.42.1.1/24")))
	mustNoErr(t, netlink.LinkSetUp(br))
	for i, ns := range []string{tb.ep1, tb.ep2} {
		l := vethInto(t, fmt.Sprintf("skt-ep%d", i+1), ns, fmt.Sprintf("10.42.1.%d/24", 11+i), "10.42.1.1")
		mustNoErr(t, netlink.LinkSetMaster(l, br))
		mustNoErr(t, netlink.LinkSetHairpin(l, true)) // as the pod network sets it
		serveHTTP(t, ns, fmt.Sprintf("ep%d", i+1))
		serveUDP(t, ns, fmt.Sprintf("ep%d", i+1))
	}
	cl := vethInto(t, "skt-cl", tb.client, "192.168.50.2/24", "192.168.50.1")
	mustNoErr(t, netlink.AddrAdd(cl, mustAddr("192.168.50.1/24")))
	mustNoErr(t, netlink.RouteAdd(&netlink.Route{LinkIndex: cl.Attrs().Index, Gw: net.ParseIP("192.168.50.2")}))
	return tb
}

// serveHTTP answers every request in the namespace at nsPath on port 8080 with name.
func serveHTTP(t *testing.T, nsPath, name string) {
	t.Helper()
	var ln net.Listener
	mustNoErr(t, pinnedns.Do(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp", ":8080")
		return err
	}))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/peer" {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			fmt.Fprint(w, host)
			return
		}
		fmt.Fprint(w, name)
	}), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
}

// get fetches http://addr/ over a new connection from the namespace at nsPath ("" for the
// node) and returns the body.
func get(nsPath, addr string) (string, error) { return getPath(nsPath, addr, "/") }

// getPath fetches http://addr/path; the path /peer answers with the client's address as
// the endpoint sees it.
func getPath(nsPath, addr, path string) (string, error) {
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		d := net.Dialer{Timeout: 3 * time.Second}
		if nsPath == "" {
			return d.DialContext(ctx, network, a)
		}
		var c net.Conn
		err := pinnedns.Do(nsPath, func() error {
			var err error
			c, err = d.DialContext(ctx, network, a)
			return err
		})
		return c, err
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// serveUDP answers every datagram to port 9000 in the namespace at nsPath with name.
func serveUDP(t *testing.T, nsPath, name string) {
	t.Helper()
	var pc net.PacketConn
	mustNoErr(t, pinnedns.Do(nsPath, func() error {
		var err error
		pc, err = net.ListenPacket("udp", ":9000")
		return err
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(name), from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
}

// tally fetches addr n times and counts the answers.
func tally(t *testing.T, nsPath, addr string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		body, err := get(nsPath, addr)
		if err != nil {
			t.Fatalf("GET %s from %q: %v", addr, nsPath, err)
		}
		out[body]++
	}
	return out
}

// eventually retries check until it returns nil or the deadline passes, and returns how
// long it took.
func eventually(t *testing.T, within time.Duration, check func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := check()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startProxier(t *testing.T, cfg Config, api *fakeAPI) *Proxier {
	t.Helper()
	cfg.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := New(cfg, api.services, api.slices)
	mustNoErr(t, err)
	api.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := Cleanup(cfg.NodeName); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
	select {
	case <-p.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("no successful sync within 10s")
	}
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func nftList(t *testing.T, table string) string {
	t.Helper()
	out, err := exec.Command("nft", "list", "table", "inet", table).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table inet %s: %v\n%s", table, err, out)
	}
	return string(out)
}

func TestProxyEndToEnd(t *testing.T) {
	requireRoot(t)
	tb := newTestbed(t)
	cfg := Config{
		NodeName:     "node-1",
		NodeIPs:      []netip.Addr{netip.MustParseAddr("192.168.50.1")},
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.43.0.0/16")},
		DNS:          &LocalDNS{ServiceIP: netip.MustParseAddr("10.43.0.10"), Target: netip.MustParseAddrPort("10.42.1.1:53")},
	}
	web := service("default/web", "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeNodePort))
	webSlice := slice("default/web", "web-a", "http:8080", "10.42.1.11", "10.42.1.12@node-2")
	sticky := service("default/sticky", "10.43.0.21", "http:80", withAffinity(0))
	stickySlice := slice("default/sticky", "sticky-a", "http:8080", "10.42.1.11", "10.42.1.12")
	empty := service("default/empty", "10.43.0.22", "http:80")
	api := newFakeAPI(t, []*v1.Service{web, sticky, empty}, []*discovery.EndpointSlice{webSlice, stickySlice})
	p := startProxier(t, cfg, api)
	t.Logf("table after the first sync:\n%s", nftList(t, p.TableName()))

	t.Run("balances over both endpoints", func(t *testing.T) {
		got := tally(t, "", "10.43.0.20:80", 100)
		if got["ep1"] < 20 || got["ep2"] < 20 || got["ep1"]+got["ep2"] != 100 {
			t.Fatalf("100 requests to the ClusterIP from the node: %v; want both endpoints, each at least 20 times", got)
		}
		t.Logf("from the node: %v", got)
		got = tally(t, tb.client, "192.168.50.1:30080", 40)
		if got["ep1"] == 0 || got["ep2"] == 0 {
			t.Fatalf("40 requests to the NodePort from outside: %v; want both endpoints", got)
		}
		t.Logf("NodePort from outside: %v", got)
	})

	t.Run("session affinity sticks", func(t *testing.T) {
		if got := tally(t, "", "10.43.0.21:80", 30); len(got) != 1 {
			t.Fatalf("30 requests with ClientIP affinity: %v; want one endpoint", got)
		}
	})

	t.Run("no endpoints is refused fast", func(t *testing.T) {
		start := time.Now()
		_, err := get("", "10.43.0.22:80")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("GET to a Service without endpoints: %v; want connection refused", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("refused after %v; want at once", d)
		}
		if _, err := get(tb.client, "192.168.50.1:30081"); err == nil {
			t.Fatal("an unused NodePort answered")
		}
	})

	t.Run("DNS redirect over UDP", func(t *testing.T) {
		var pc net.PacketConn
		pc, err := net.ListenPacket("udp", "10.42.1.1:53")
		mustNoErr(t, err)
		defer pc.Close()
		go func() {
			buf := make([]byte, 512)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo(append([]byte("answer:"), buf[:n]...), from)
			}
		}()
		var c net.Conn
		mustNoErr(t, pinnedns.Do(tb.ep1, func() error { var err error; c, err = net.Dial("udp", "10.43.0.10:53"); return err }))
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Write([]byte("query")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "answer:query" {
			t.Fatalf("DNS service IP from a pod: %q, %v; want the node's listener's answer", buf[:n], err)
		}
	})

	t.Run("removing an endpoint takes effect", func(t *testing.T) {
		changed := slice("default/web", "web-a", "http:8080", "10.42.1.11")
		before := p.Stats()
		api.slicesWatch.Modify(changed)
		took := eventually(t, 2*time.Second, func() error {
			if got := tally(t, "", "10.43.0.20:80", 20); got["ep2"] > 0 {
				return fmt.Errorf("ep2 still answers: %v", got)
			}
			return nil
		})
		after := p.Stats()
		t.Logf("endpoint removal in force within %v; sync %+v", took, after)
		if after.Full || after == before {
			t.Fatalf("the change was applied by %+v; want a partial sync", after)
		}
	})

	t.Run("adding endpoints to an empty service", func(t *testing.T) {
		api.slicesWatch.Add(slice("default/empty", "empty-a", "http:8080", "10.42.1.12"))
		eventually(t, 2*time.Second, func() error {
			body, err := get("", "10.43.0.22:80")
			if err != nil || body != "ep2" {
				return fmt.Errorf("GET: %q, %v", body, err)
			}
			return nil
		})
	})

	t.Run("a full resync leaves one copy of everything", func(t *testing.T) {
		p.mu.Lock()
		p.needFull = true
		p.mu.Unlock()
		// Affinity entries survive; only their remaining time changes.
		expires := regexp.MustCompile(` expires [0-9hms]+`)
		before := expires.ReplaceAllString(nftList(t, p.TableName()), "")
		mustNoErr(t, p.Sync())
		if after := expires.ReplaceAllString(nftList(t, p.TableName()), ""); after != before {
			t.Fatalf("a full resync changed the table:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("deleting a service removes its rules", func(t *testing.T) {
		api.serviceWatch.Delete(sticky)
		eventually(t, 2*time.Second, func() error {
			if strings.Contains(nftList(t, p.TableName()), "default/sticky") {
				return fmt.Errorf("the table still mentions default/sticky")
			}
			return nil
		})
	})
}

func TestProxyPoliciesConntrackAndBadInput(t *testing.T) {
	requireRoot(t)
	tb := newTestbed(t)
	cfg := Config{
		NodeName:     "node-1",
		NodeIPs:      []netip.Addr{netip.MustParseAddr("192.168.50.1")},
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.43.0.0/16")},
	}
	services := []*v1.Service{
		service("default/cluster", "10.43.0.20", "http:80>30080", withType(v1.ServiceTypeNodePort)),
		service("default/local", "10.43.0.21", "http:80>30090", withType(v1.ServiceTypeNodePort), withETPLocal()),
		service("default/udp", "10.43.0.30", "u:9000/UDP"),
		// Bad input: outside the service CIDR; a duplicate NodePort on a younger Service.
		service("default/outside", "10.99.0.1", "http:80"),
		service("default/dup", "10.43.0.40", "http:80>30080", withType(v1.ServiceTypeNodePort), createdAt(time.Minute)),
	}
	slices := []*discovery.EndpointSlice{
		slice("default/cluster", "cluster-a", "http:8080", "10.42.1.11"),
		slice("default/local", "local-a", "http:8080", "10.42.1.11", "10.42.1.12@node-2"),
		slice("default/udp", "udp-a", "u:9000/UDP", "10.42.1.11", "10.42.1.12"),
		slice("default/outside", "outside-a", "http:8080", "10.42.1.12"),
		slice("default/dup", "dup-a", "http:8080", "10.42.1.12", "10.42.1.300", "fd00::1", "garbage"),
	}
	api := newFakeAPI(t, services, slices)
	startProxier(t, cfg, api)

	t.Run("bad input leaves the rest working", func(t *testing.T) {
		got := tally(t, tb.client, "192.168.50.1:30080", 10)
		if got["ep1"] != 10 {
			t.Fatalf("NodePort 30080, claimed by default/cluster (ep1) and the younger default/dup (ep2): %v; want ep1 only", got)
		}
		if body, err := get("", "10.43.0.40:80"); err != nil || body != "ep2" {
			t.Fatalf("default/dup's ClusterIP: %q, %v; want ep2", body, err)
		}
	})

	t.Run("pods reach Services, and themselves through them", func(t *testing.T) {
		if _, err := os.Stat("/proc/sys/net/bridge"); err != nil {
			t.Skip("br_netfilter is not loaded: replies between pods on one bridge bypass netfilter")
		}
		if body, err := get(tb.ep2, "10.43.0.20:80"); err != nil || body != "ep1" {
			t.Fatalf("pod ep2 to default/cluster (ep1): %q, %v", body, err)
		}
		if peer, err := getPath(tb.ep2, "10.43.0.20:80", "/peer"); err != nil || peer != "10.42.1.12" {
			t.Fatalf("pod ep2 to default/cluster: the endpoint saw %q (%v); want the pod's own 10.42.1.12", peer, err)
		}
		if peer, err := getPath(tb.ep1, "10.43.0.20:80", "/peer"); err != nil || peer != "10.42.1.1" {
			t.Fatalf("hairpin, pod ep1 to its own Service: the endpoint saw %q (%v); want the node's 10.42.1.1 (masqueraded)", peer, err)
		}
	})

	t.Run("external traffic policy", func(t *testing.T) {
		if got := tally(t, tb.client, "192.168.50.1:30090", 20); got["ep1"] != 20 {
			t.Fatalf("NodePort with externalTrafficPolicy Local: %v; want the local endpoint ep1 only", got)
		}
		if peer, err := getPath(tb.client, "192.168.50.1:30090", "/peer"); err != nil || peer != "192.168.50.2" {
			t.Fatalf("externalTrafficPolicy Local: the endpoint saw %q (%v); want the client's own 192.168.50.2", peer, err)
		}
		if peer, err := getPath(tb.client, "192.168.50.1:30080", "/peer"); err != nil || peer != "10.42.1.1" {
			t.Fatalf("externalTrafficPolicy Cluster: the endpoint saw %q (%v); want the node's 10.42.1.1 (masqueraded)", peer, err)
		}
	})

	t.Run("stale UDP conntrack entries go with their endpoint", func(t *testing.T) {
		c, err := net.Dial("udp", "10.43.0.30:9000")
		mustNoErr(t, err)
		defer c.Close()
		ask := func() string {
			t.Helper()
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write([]byte("?")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("UDP to the ClusterIP: %v", err)
			}
			return string(buf[:n])
		}
		first := ask()
		for range 5 {
			if got := ask(); got != first {
				t.Fatalf("one UDP flow answered by %s, then %s; want one endpoint (conntrack)", first, got)
			}
		}
		keep := map[string]string{"ep1": "10.42.1.12", "ep2": "10.42.1.11"}[first]
		api.slicesWatch.Modify(slice("default/udp", "udp-a", "u:9000/UDP", keep))
		// The removed endpoint still answers: only the deleted conntrack entry moves the flow.
		eventually(t, 2*time.Second, func() error {
			if got := ask(); got == first {
				return fmt.Errorf("the flow still goes to %s, the removed endpoint", got)
			}
			return nil
		})
	})
}
