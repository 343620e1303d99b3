package cluster

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"

	"github.com/skiff-project/skiff/internal/pinnedns"
)

// StartResolver starts a DNS server standing for the resolver of the machines' network, in a
// network namespace of its own on the cluster's bridge (address .53 of the subnet), and returns
// its address. It answers A queries for the names in records (name without the final dot ->
// IPv4 address) and NXDOMAIN for every other name; it stops when the test ends. Give it to the
// agents with --resolv-conf (see Options.BeforeAgents) to test names outside the cluster.
func (c *Cluster) StartResolver(records map[string]string) string {
	c.t.Helper()
	ip := c.Subnet.Addr().As4()
	ip[3] = 53
	host := &Node{Name: "resolver", IP: netip.AddrFrom4(ip).String(), NetNS: filepath.Join(c.Dir, "netns", "resolver"),
		HostLink: "skc" + c.ID + "-dns"}
	must(c.t, pinnedns.Create(host.NetNS))
	br, err := netlink.LinkByName(c.Bridge)
	must(c.t, err)
	must(c.t, c.plug(host, br))
	var pc net.PacketConn
	must(c.t, pinnedns.Do(host.NetNS, func() error {
		var err error
		pc, err = net.ListenPacket("udp", net.JoinHostPort(host.IP, "53"))
		return err
	}))
	answers := map[string]string{}
	for name, addr := range records {
		answers[strings.ToLower(dns.Fqdn(name))] = addr
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		if len(req.Question) == 1 {
			q := req.Question[0]
			addr, ok := answers[strings.ToLower(q.Name)]
			switch {
			case !ok:
				m.Rcode = dns.RcodeNameError
			case q.Qtype == dns.TypeA:
				rr, _ := dns.NewRR(fmt.Sprintf("%s 30 IN A %s", q.Name, addr))
				m.Answer = append(m.Answer, rr)
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	c.t.Cleanup(func() { _ = srv.Shutdown() })
	return host.IP
}
