package testreexec

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// PrepareMachine readies a child's new network and mount namespaces (NetMountNamespaces) to
// stand for a machine: mounts private, so that nothing mounted in the tests reaches the real
// machine, and lo up. With nodeIP set it also gives the "machine" that address (/32) on a veth
// pair node0/node0-peer (the dummy driver may be missing) and a default route through it, as a
// machine has: the host reaches ClusterIPs through it (the service proxy's output chain
// translates them after routing).
func PrepareMachine(nodeIP string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := linkUp("lo"); err != nil {
		return err
	}
	if nodeIP == "" {
		return nil
	}
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "node0"}, PeerName: "node0-peer"}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("node0: %w", err)
	}
	addr, err := netlink.ParseAddr(nodeIP + "/32")
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(v, addr); err != nil {
		return err
	}
	for _, name := range []string{"node0-peer", "node0"} {
		if err := linkUp(name); err != nil {
			return err
		}
	}
	return netlink.RouteAdd(&netlink.Route{LinkIndex: v.Attrs().Index, Scope: netlink.SCOPE_LINK, Dst: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}})
}

func linkUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}
