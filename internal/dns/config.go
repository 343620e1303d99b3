package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Defaults for the Config fields left zero.
const (
	DefaultClusterDomain   = "cluster.local"
	DefaultResolvConf      = "/etc/resolv.conf"
	DefaultUpstreamTimeout = 2 * time.Second
	DefaultCacheSize       = 10000
)

// Config says what the cluster DNS server serves and where.
type Config struct {
	// ClusterDomain is the domain the server answers for from the cluster's Services and
	// EndpointSlices; "" means DefaultClusterDomain. It must be the kubelet's
	// --cluster-domain, which the search lines of pods' resolv.conf use.
	ClusterDomain string
	// Listen lists host:port addresses, each served on UDP and on TCP, e.g. "10.42.0.1:53".
	// Port 0 picks a free port, the same for both protocols; Server.Addrs says which. At
	// least one is required.
	Listen []string
	// Upstreams lists the resolvers ("host" or "host:port", port 53 by default) that names
	// outside the cluster domain, and reverse names the cluster does not know, are forwarded
	// to, tried in order starting from the last one that answered. Empty means the
	// nameservers of ResolvConf.
	Upstreams []string
	// ResolvConf is read when Upstreams is empty ("" means DefaultResolvConf), once, in New.
	// Its nameservers become the upstreams, loopback ones included (the server runs in the
	// host's network namespace, where a local stub such as systemd-resolved's 127.0.0.53
	// answers), except any that is one of the server's own Listen addresses on port 53, which
	// would forward to itself. A file that names no usable nameserver leaves the server
	// without upstreams: it then answers SERVFAIL for every name it would forward.
	ResolvConf string
	// UpstreamTimeout bounds one exchange with one upstream, after which the next is tried;
	// 0 means DefaultUpstreamTimeout.
	UpstreamTimeout time.Duration
	// CacheSize is how many forwarded answers are cached at most; 0 means
	// DefaultCacheSize, negative disables the cache.
	CacheSize int
	// ClusterDNS lists the cluster DNS Service IPs, the ones pods' resolv.conf names (the
	// kubelet's --cluster-dns): ns.dns.<cluster domain> resolves to them, and the NS answer
	// for the cluster domain carries them as glue. May be empty.
	ClusterDNS []netip.Addr
	// Services is a shared informer of v1 Services and EndpointSlices one of
	// discovery.k8s.io/v1 EndpointSlices, both for all namespaces, normally from the agent's
	// informer factory (the service proxy reads the same ones). New adds indexes to them; the
	// caller starts them.
	Services       cache.SharedIndexInformer
	EndpointSlices cache.SharedIndexInformer
	// Clock drives the cache's expiry and the SOA serial; nil means the real clock.
	Clock clock.PassiveClock
	// Log receives the server's warnings and errors; nil discards them.
	Log *slog.Logger
}

// parsedConfig is a Config checked, with its defaults applied.
type parsedConfig struct {
	zone            string // lower case, fully qualified: "cluster.local."
	listen          []string
	upstreams       []string // host:port
	upstreamTimeout time.Duration
	cacheSize       int
}

// parseConfig checks cfg and applies its defaults. It reads cfg.ResolvConf when cfg has no
// Upstreams, and nothing else.
func parseConfig(cfg Config) (parsedConfig, error) {
	p := parsedConfig{upstreamTimeout: cfg.UpstreamTimeout, cacheSize: cfg.CacheSize}
	domain := strings.ToLower(strings.TrimSuffix(cfg.ClusterDomain, "."))
	if domain == "" {
		domain = DefaultClusterDomain
	}
	if _, ok := dns.IsDomainName(domain); !ok || strings.HasPrefix(domain, ".") {
		return p, fmt.Errorf("cluster domain %q is not a domain name", cfg.ClusterDomain)
	}
	p.zone = dns.Fqdn(domain)
	if len(cfg.Listen) == 0 {
		return p, errors.New("no listen address")
	}
	for _, l := range cfg.Listen {
		if _, _, err := splitListen(l); err != nil {
			return p, err
		}
	}
	p.listen = cfg.Listen
	if p.upstreamTimeout <= 0 {
		p.upstreamTimeout = DefaultUpstreamTimeout
	}
	if p.cacheSize == 0 {
		p.cacheSize = DefaultCacheSize
	}
	if len(cfg.Upstreams) > 0 {
		for _, u := range cfg.Upstreams {
			hp, err := upstreamAddr(u)
			if err != nil {
				return p, err
			}
			p.upstreams = append(p.upstreams, hp)
		}
		return p, nil
	}
	file := cfg.ResolvConf
	if file == "" {
		file = DefaultResolvConf
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return p, fmt.Errorf("upstreams: %w", err)
	}
	rc, err := parseResolvConf(data)
	if err != nil {
		return p, fmt.Errorf("upstreams: %s: %w", file, err)
	}
	p.upstreams = upstreamsFromResolvConf(rc.nameservers, cfg.Listen)
	return p, nil
}

// splitListen parses a Listen address. The host may be empty (all addresses) and the port
// 0 (any free port).
func splitListen(l string) (host string, port int, err error) {
	h, ps, err := net.SplitHostPort(l)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", l, err)
	}
	p, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: bad port", l)
	}
	if h != "" {
		if _, err := netip.ParseAddr(h); err != nil {
			return "", 0, fmt.Errorf("listen address %q: host is not an IP address", l)
		}
	}
	return h, int(p), nil
}

// upstreamAddr turns "host" or "host:port" (host an IP address, "[v6]:port" with a port)
// into "host:port", port 53 by default.
func upstreamAddr(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		return "", fmt.Errorf("upstream %q: want an IP address or IP:port", s)
	}
	return ap.String(), nil
}

// upstreamsFromResolvConf turns the nameserver lines of a resolv.conf into upstreams
// (port 53), leaving out those that are not IP addresses and those that would reach this
// server itself: a nameserver equal to a listen address on port 53, or, when the server
// listens on all addresses on port 53, a loopback or unspecified one.
func upstreamsFromResolvConf(nameservers, listen []string) []string {
	self := map[netip.Addr]bool{}
	allAddrs := false
	for _, l := range listen {
		host, port, err := splitListen(l)
		if err != nil || port != 53 {
			continue
		}
		a, err := netip.ParseAddr(host)
		if host == "" || (err == nil && a.IsUnspecified()) {
			allAddrs = true
			continue
		}
		if err == nil {
			self[a.Unmap()] = true
		}
	}
	var out []string
	for _, ns := range nameservers {
		a, err := netip.ParseAddr(ns)
		if err != nil {
			continue
		}
		a = a.Unmap()
		if self[a] || (allAddrs && (a.IsLoopback() || a.IsUnspecified())) {
			continue
		}
		out = append(out, netip.AddrPortFrom(a, 53).String())
	}
	return out
}
