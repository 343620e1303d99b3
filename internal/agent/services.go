package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"

	"github.com/skiff-project/skiff/internal/dns"
	"github.com/skiff-project/skiff/internal/network/proxy"
	"github.com/skiff-project/skiff/internal/trim"
)

// serviceSyncWait bounds how long start-up waits for the first service proxy sync before the
// node reports ready anyway (the proxy keeps trying, and says why in its log).
const serviceSyncWait = 30 * time.Second

// startServices starts what makes Services work on this node, from one informer factory of
// Services and EndpointSlices: the service proxy (an nftables table of its own, see
// internal/network/proxy), which also sends the cluster DNS Service's port 53 to this node's
// DNS listener on the bridge gateway, and that DNS server (internal/dns). It runs after the
// pod network, whose bridge (the listener's address) and br_netfilter it needs, and waits for
// the proxy's first sync and the DNS server's informers.
func (a *Agent) startServices(ctx context.Context) error {
	cidrs, err := prefixes(a.cfg.ClusterCIDRs)
	if err != nil {
		return fmt.Errorf("cluster CIDRs: %w", err)
	}
	svcCIDRs, err := prefixes(a.cfg.ServiceCIDRs)
	if err != nil {
		return fmt.Errorf("service CIDRs: %w", err)
	}
	nodeIP, err := netip.ParseAddr(a.cfg.NodeIP)
	if err != nil {
		return fmt.Errorf("node IP: %w", err)
	}
	dnsIP, err := netip.ParseAddr(a.cfg.ClusterDNS)
	if err != nil {
		return fmt.Errorf("cluster DNS IP: %w", err)
	}
	gateway, err := a.gatewayV4()
	if err != nil {
		return err
	}
	f := informers.NewSharedInformerFactoryWithOptions(a.api, 0, informers.WithTransform(trim.ManagedFields))
	services := f.Core().V1().Services().Informer()
	slices := f.Discovery().V1().EndpointSlices().Informer()
	p, err := proxy.New(proxy.Config{
		NodeName:     a.cfg.NodeName,
		NodeIPs:      []netip.Addr{nodeIP},
		ClusterCIDRs: cidrs,
		ServiceCIDRs: svcCIDRs,
		DNS:          &proxy.LocalDNS{ServiceIP: dnsIP, Target: netip.AddrPortFrom(gateway, 53)},
		Log:          a.log.With("component", "proxy"),
	}, services, slices)
	if err != nil {
		return err
	}
	listen := netip.AddrPortFrom(gateway, 53).String()
	d, err := dns.New(dns.Config{
		ClusterDomain:  a.cfg.ClusterDomain,
		Listen:         []string{listen},
		ResolvConf:     a.cfg.ResolvConf,
		ClusterDNS:     []netip.Addr{dnsIP},
		Services:       services,
		EndpointSlices: slices,
		Log:            a.log.With("component", "dns"),
	})
	if err != nil {
		return fmt.Errorf("cluster DNS: %w", err)
	}
	f.Start(ctx.Done())
	a.goRun(func() {
		if err := p.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("service proxy stopped", "err", err)
		}
	})
	dnsErr := make(chan error, 1)
	a.goRun(func() {
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("cluster DNS server stopped", "listen", listen, "err", err)
			dnsErr <- err
		}
	})
	deadline := time.After(serviceSyncWait)
	select {
	case <-p.Synced():
		a.log.Info("service proxy ready", "nftables-table", "inet "+p.TableName(), "cluster-dns", dnsIP, "dns-target", listen)
	case <-deadline:
		a.log.Warn("service proxy not synced yet; the node starts without it", "waited", serviceSyncWait)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-d.Ready():
		a.log.Info("cluster DNS ready", "listen", listen, "domain", a.cfg.ClusterDomain)
	case err := <-dnsErr:
		return fmt.Errorf("cluster DNS on %s: %w", listen, err)
	case <-deadline:
		a.log.Warn("cluster DNS not ready yet; the node starts without it", "waited", serviceSyncWait)
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// podResolvConf is a pod's /etc/resolv.conf for its dnsPolicy (upstream kubelet's rules:
// ClusterFirst gives the cluster DNS IP, the search path of the pod's namespace and ndots:5),
// from the agent's --resolv-conf for the host's part. What the kubelet reports as a
// DNSConfigForming event (too many nameservers or search domains) is logged.
func (a *Agent) podResolvConf(pod *corev1.Pod) ([]byte, error) {
	host, err := os.ReadFile(a.resolvConfPath())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("resolv.conf: %w", err)
	}
	dnsIP, err := netip.ParseAddr(a.cfg.ClusterDNS)
	if err != nil {
		return nil, fmt.Errorf("cluster DNS IP: %w", err)
	}
	conf, warnings, err := dns.PodResolvConf(pod, dns.NodeDNS{ClusterDNS: []netip.Addr{dnsIP}, ClusterDomain: a.cfg.ClusterDomain, HostResolvConf: host})
	for _, w := range warnings {
		a.log.Warn("pod DNS configuration", "pod", pod.Namespace+"/"+pod.Name, "reason", w.Reason, "message", w.Message)
	}
	return conf, err
}

// resolvConfPath is the host resolver configuration: --resolv-conf, or /etc/resolv.conf.
func (a *Agent) resolvConfPath() string {
	if a.cfg.ResolvConf != "" {
		return a.cfg.ResolvConf
	}
	return dns.DefaultResolvConf
}

// gatewayV4 is the pod network's gateway on this node: the first address of the IPv4 podCIDR
// (the bridge's address).
func (a *Agent) gatewayV4() (netip.Addr, error) {
	for _, c := range a.podCIDRs {
		p, err := netip.ParsePrefix(c)
		if err == nil && p.Addr().Is4() {
			return nthAddress(c, 1)
		}
	}
	return netip.Addr{}, fmt.Errorf("no IPv4 podCIDR in %v", a.podCIDRs)
}

func prefixes(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
