package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config says what the node's service proxy serves. Only NodeName is required.
type Config struct {
	// NodeName is the Node's name: endpoints on it are local (for the traffic policies of
	// Local), and the table is named from it ("skiff-proxy-" and 8 hex characters), so that
	// two agents in one network namespace never collide.
	NodeName string
	// NodeIPs are the node's addresses that accept NodePort traffic. Empty means every local
	// address but loopback.
	NodeIPs []netip.Addr
	// ClusterCIDRs are the pod networks. Traffic from elsewhere to a ClusterIP is
	// masqueraded, so that replies come back through this node; with
	// externalTrafficPolicy Local, pods reaching an external IP still use every endpoint.
	ClusterCIDRs []netip.Prefix
	// ServiceCIDRs are the ranges ClusterIPs come from. A Service whose ClusterIP lies
	// outside them is skipped (with a warning), and traffic to an unallocated address in
	// them is dropped. Empty means any ClusterIP is accepted.
	ServiceCIDRs []netip.Prefix
	// DNS, if set, sends the cluster DNS service IP's port 53 (UDP and TCP) to the node's
	// own DNS listener, whatever endpoints the DNS Service has.
	DNS *LocalDNS
	// MinSyncPeriod is the least time between two syncs: changes within it are batched.
	// 0 means DefaultMinSyncPeriod.
	MinSyncPeriod time.Duration
	// SyncPeriod is the time between two full resyncs, which rewrite the whole table. 0 means
	// DefaultSyncPeriod.
	SyncPeriod time.Duration
	// Log receives a line per sync and per problem with a Service; nil discards them.
	Log *slog.Logger
	// Registerer receives the metrics (sync duration, rule count); nil registers none.
	Registerer prometheus.Registerer
}

// LocalDNS is the redirect of the cluster DNS service to the node's DNS server.
type LocalDNS struct {
	ServiceIP netip.Addr     // the cluster DNS Service's ClusterIP, e.g. 10.43.0.10
	Target    netip.AddrPort // the node's listener, e.g. the bridge gateway 10.42.0.1:53
}

const (
	// DefaultMinSyncPeriod batches changes for at most this long, so that a rule is in
	// force well within a second of the EndpointSlice write.
	DefaultMinSyncPeriod = 100 * time.Millisecond
	// DefaultSyncPeriod is how often the whole table is rewritten, to repair what else
	// changed it.
	DefaultSyncPeriod = time.Hour
)

// TableName returns the name of the node's proxy table (family inet):
// "skiff-proxy-" and 8 hex characters of a hash of the node name.
func TableName(nodeName string) string {
	sum := sha256.Sum256([]byte("proxy-table/" + nodeName))
	return "skiff-proxy-" + hex.EncodeToString(sum[:])[:8]
}

// parseConfig checks cfg and derives the node facts the rules are built from.
func parseConfig(cfg Config) (*nodeFacts, error) {
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("node name is empty")
	}
	n := &nodeFacts{table: TableName(cfg.NodeName), node: cfg.NodeName}
	seen := map[family]bool{}
	for _, a := range cfg.NodeIPs {
		if !a.IsValid() || a.Zone() != "" {
			return nil, fmt.Errorf("node %s: node IP %q is not valid", cfg.NodeName, a)
		}
		a = a.Unmap()
		n.nodeIPs = append(n.nodeIPs, a)
		seen[familyOf(a)] = true
	}
	slices.SortFunc(n.nodeIPs, netip.Addr.Compare)
	n.nodeIPs = slices.Compact(n.nodeIPs)
	for _, list := range []struct {
		what string
		in   []netip.Prefix
		out  *[]netip.Prefix
	}{{"cluster CIDR", cfg.ClusterCIDRs, &n.clusterCIDRs}, {"service CIDR", cfg.ServiceCIDRs, &n.serviceCIDRs}} {
		for _, p := range list.in {
			if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				return nil, fmt.Errorf("node %s: %s %q is not valid", cfg.NodeName, list.what, p)
			}
			*list.out = append(*list.out, p.Masked())
			seen[familyOf(p.Addr())] = true
		}
	}
	if d := cfg.DNS; d != nil {
		if !d.ServiceIP.IsValid() || !d.Target.IsValid() || familyOf(d.ServiceIP.Unmap()) != familyOf(d.Target.Addr().Unmap()) {
			return nil, fmt.Errorf("node %s: local DNS %s -> %s: want a service IP and a target of one family", cfg.NodeName, d.ServiceIP, d.Target)
		}
		dns := LocalDNS{ServiceIP: d.ServiceIP.Unmap(), Target: netip.AddrPortFrom(d.Target.Addr().Unmap(), d.Target.Port())}
		n.dns = &dns
		seen[familyOf(dns.ServiceIP)] = true
	}
	for _, f := range families {
		if seen[f] {
			n.families = append(n.families, f)
		}
	}
	if len(n.families) == 0 {
		n.families = []family{ipv4}
	}
	return n, nil
}
