package podnet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
)

// Config says what the node's pod network is. Only NodeName, StateDir and PodCIDRs are
// required.
type Config struct {
	// NodeName is the Node's name. The bridge, the nftables table and the host ends of the
	// veth pairs are named from it, so that two agents in one network namespace never
	// collide.
	NodeName string
	// StateDir holds the IPAM records, e.g. <agent-data-dir>/network. It is created (0700)
	// if missing and kept across restarts.
	StateDir string
	// PodCIDRs is the Node's spec.podCIDRs: one IPv4 CIDR, required, and at most one IPv6
	// CIDR. Each must be a network address (10.42.1.0/24, not 10.42.1.7/24) with room for at
	// least one pod: /30 or wider for IPv4, /126 or wider for IPv6.
	PodCIDRs []string
	// ClusterCIDRs lists destinations that pod traffic reaches unmasqueraded (other pods).
	// The PodCIDRs themselves are always such destinations.
	ClusterCIDRs []string
	// ServiceCIDRs lists service ranges that pod traffic reaches unmasqueraded.
	ServiceCIDRs []string
	// MTU is the MTU of the bridge, of every veth and of the VXLAN device. 0 means the MTU
	// of the interface that holds NodeIP (else the one with the default route; 1500 if there
	// is none), less the VXLAN overhead with BackendVXLAN (50 bytes over IPv4, 70 over IPv6).
	MTU int
	// BridgeName is the bridge's name; "" means one derived from NodeName: "skb" and 8 hex
	// characters of a hash.
	BridgeName string
	// Backend is how pods reach the pods of other nodes: BackendVXLAN ("" means it),
	// BackendHostGW, or BackendNone (pods reach pods of this node only).
	Backend string
	// NodeIP is the node's address on the network between the nodes (the Node's InternalIP):
	// the VXLAN device's local address, the address other nodes route this node's podCIDRs
	// to, and what the node publishes as AnnotationPublicIP. Required unless Backend is
	// BackendNone.
	NodeIP string
	// VNI is the VXLAN network identifier; 0 means 1. Every node of a cluster must use the same.
	VNI int
	// VXLANPort is the UDP port of the VXLAN device; 0 means 8472 (Linux's and flannel's).
	VXLANPort int
	// Log receives one line per change the Network makes to the host; nil discards them.
	Log *slog.Logger
}

// The backends of Config.Backend.
const (
	// BackendVXLAN carries pod traffic between nodes in VXLAN (UDP port 8472), as flannel's
	// vxlan backend does: it works across any IP network between the nodes.
	BackendVXLAN = "vxlan"
	// BackendHostGW routes each other node's podCIDRs via that node's address, as flannel's
	// host-gw backend does: no encapsulation, but every node must be on one L2 segment.
	BackendHostGW = "host-gw"
	// BackendNone connects no nodes: pods reach the pods of their own node and, masqueraded,
	// the world.
	BackendNone = "none"
)

// Defaults of the VXLAN device.
const (
	DefaultVNI       = 1
	DefaultVXLANPort = 8472
)

// maxIfaceName is the longest Linux interface name (IFNAMSIZ less the terminating NUL).
const maxIfaceName = 15

// podIface is the name of the pod's end of its veth pair, inside the pod's namespace.
const podIface = "eth0"

// nameHash returns the first n hex characters of the SHA-256 of parts joined by "/".
func nameHash(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return hex.EncodeToString(sum[:])[:n]
}

// bridgeName returns the bridge name derived from a node name: "skb" and 8 hex characters of
// a hash of the name, 11 characters in all.
func bridgeName(nodeName string) string { return "skb" + nameHash(8, "bridge", nodeName) }

// tableName returns the name of the node's nftables table (family inet):
// "skiff-podnet-" and 8 hex characters of a hash of the node name.
func tableName(nodeName string) string { return "skiff-podnet-" + nameHash(8, "table", nodeName) }

// hostVethName returns the name of the host end of a pod's veth pair: "skv" and 12 hex
// characters of a hash of the node name and the pod UID, 15 characters in all. The node name
// is part of the hash so that two agents sharing a network namespace cannot collide even if
// handed the same UID.
func hostVethName(nodeName, podUID string) string {
	return "skv" + nameHash(12, "veth", nodeName, podUID)
}

// vxlanName returns the VXLAN device name derived from a node name: "skx" and 8 hex
// characters of a hash of the name, 11 characters in all.
func vxlanName(nodeName string) string { return "skx" + nameHash(8, "vxlan", nodeName) }

// vtepMAC returns the VXLAN device's MAC address derived from the node name: stable, so that
// a re-created device (after a reboot) keeps the address the other nodes know.
func vtepMAC(nodeName string) net.HardwareAddr { return localMAC("vtep-mac/" + nodeName) }

// bridgeMAC returns a stable, locally administered unicast MAC address for the bridge named
// name, so that the bridge's address does not change as ports come and go (a bridge without
// an explicitly set address takes the lowest of its ports').
func bridgeMAC(name string) net.HardwareAddr { return localMAC("mac/" + name) }

// localMAC returns a locally administered unicast MAC address from a hash of seed.
func localMAC(seed string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(seed))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}

// validIfaceName reports why name cannot be a Linux interface name, or "" if it can.
func validIfaceName(name string) string {
	switch {
	case name == "":
		return "empty"
	case len(name) > maxIfaceName:
		return fmt.Sprintf("longer than %d characters", maxIfaceName)
	case name == "." || name == "..":
		return "reserved"
	case strings.ContainsAny(name, "/: \t\n\x00"):
		return "contains '/', ':', a space or a control character"
	}
	return ""
}

// parsedConfig is a Config checked and turned into the values the Network works with.
type parsedConfig struct {
	ranges []ipRange      // one per podCIDR, in the order given; IPv4 first after sorting
	noMasq []netip.Prefix // destinations pod traffic reaches unmasqueraded
	bridge string
	table  string
	node   string

	backend string     // BackendVXLAN, BackendHostGW or BackendNone
	nodeIP  netip.Addr // invalid with BackendNone and no NodeIP
	vxlan   string     // the VXLAN device's name
	vni     int
	port    int
}

// parseConfig checks cfg and derives names and ranges from it. It does not touch the host.
func parseConfig(cfg Config) (parsedConfig, error) {
	var p parsedConfig
	if cfg.NodeName == "" {
		return p, fmt.Errorf("node name is empty")
	}
	if cfg.StateDir == "" {
		return p, fmt.Errorf("state dir is empty")
	}
	if len(cfg.PodCIDRs) == 0 {
		return p, fmt.Errorf("node %s: no podCIDRs", cfg.NodeName)
	}
	if len(cfg.PodCIDRs) > 2 {
		return p, fmt.Errorf("node %s: podCIDRs %v: at most one IPv4 and one IPv6 CIDR", cfg.NodeName, cfg.PodCIDRs)
	}
	var v4, v6 *ipRange
	for _, s := range cfg.PodCIDRs {
		pfx, err := parseCIDR(s)
		if err != nil {
			return p, fmt.Errorf("node %s: podCIDR: %w", cfg.NodeName, err)
		}
		r, err := newIPRange(pfx)
		if err != nil {
			return p, fmt.Errorf("node %s: podCIDR: %w", cfg.NodeName, err)
		}
		slot := &v4
		if pfx.Addr().Is6() {
			slot = &v6
		}
		if *slot != nil {
			return p, fmt.Errorf("node %s: podCIDRs %v: two CIDRs of one family", cfg.NodeName, cfg.PodCIDRs)
		}
		*slot = &r
	}
	if v4 == nil {
		return p, fmt.Errorf("node %s: podCIDRs %v: an IPv4 CIDR is required", cfg.NodeName, cfg.PodCIDRs)
	}
	p.ranges = append(p.ranges, *v4)
	if v6 != nil {
		p.ranges = append(p.ranges, *v6)
	}

	var others []netip.Prefix
	for _, list := range [][]string{cfg.ClusterCIDRs, cfg.ServiceCIDRs} {
		for _, s := range list {
			pfx, err := parseCIDR(s)
			if err != nil {
				return p, fmt.Errorf("node %s: cluster or service CIDR: %w", cfg.NodeName, err)
			}
			others = append(others, pfx)
		}
	}
	podPrefixes := make([]netip.Prefix, len(p.ranges))
	for i, r := range p.ranges {
		podPrefixes[i] = r.Prefix
	}
	p.noMasq = noMasqueradeDestinations(podPrefixes, others)

	p.bridge = cfg.BridgeName
	if p.bridge == "" {
		p.bridge = bridgeName(cfg.NodeName)
	}
	if why := validIfaceName(p.bridge); why != "" {
		return p, fmt.Errorf("node %s: bridge name %q: %s", cfg.NodeName, p.bridge, why)
	}
	p.table = tableName(cfg.NodeName)
	p.node = cfg.NodeName
	minMTU := 576 // the least datagram every IPv4 host must accept
	if v6 != nil {
		minMTU = 1280 // the least link MTU IPv6 allows
	}
	if cfg.MTU != 0 && (cfg.MTU < minMTU || cfg.MTU > 65535) {
		return p, fmt.Errorf("node %s: MTU %d: want 0 or %d..65535", cfg.NodeName, cfg.MTU, minMTU)
	}
	if err := parseOverlay(cfg, &p); err != nil {
		return p, fmt.Errorf("node %s: %w", cfg.NodeName, err)
	}
	return p, nil
}

// parseOverlay checks the overlay's part of cfg into p.
func parseOverlay(cfg Config, p *parsedConfig) error {
	p.backend = cfg.Backend
	if p.backend == "" {
		p.backend = BackendVXLAN
	}
	switch p.backend {
	case BackendVXLAN, BackendHostGW, BackendNone:
	default:
		return fmt.Errorf("network backend %q: want %s, %s or %s", cfg.Backend, BackendVXLAN, BackendHostGW, BackendNone)
	}
	if cfg.NodeIP != "" {
		a, err := netip.ParseAddr(cfg.NodeIP)
		if err != nil || a.Zone() != "" || a.Is4In6() || !a.IsGlobalUnicast() {
			return fmt.Errorf("node IP %q is not a unicast IP address", cfg.NodeIP)
		}
		p.nodeIP = a
	}
	if p.backend != BackendNone && !p.nodeIP.IsValid() {
		return fmt.Errorf("network backend %s needs the node IP", p.backend)
	}
	p.vxlan = vxlanName(cfg.NodeName)
	p.vni, p.port = cfg.VNI, cfg.VXLANPort
	if p.vni == 0 {
		p.vni = DefaultVNI
	}
	if p.port == 0 {
		p.port = DefaultVXLANPort
	}
	if p.vni < 1 || p.vni > 1<<24-1 {
		return fmt.Errorf("VNI %d: want 1..16777215", p.vni)
	}
	if p.port < 1 || p.port > 65535 {
		return fmt.Errorf("VXLAN port %d: want 1..65535", p.port)
	}
	return nil
}

// parseCIDR parses a CIDR that must be a network address in canonical form.
func parseCIDR(s string) (netip.Prefix, error) {
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q: %w", s, err)
	}
	if pfx.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q: IPv4-mapped IPv6 is not allowed", s)
	}
	if pfx.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: zones are not allowed", s)
	}
	if m := pfx.Masked(); m != pfx {
		return netip.Prefix{}, fmt.Errorf("%q is not a network address (want %s)", s, m)
	}
	return pfx, nil
}

// noMasqueradeDestinations returns the destinations that pod traffic reaches without
// masquerade: the podCIDRs and the cluster and service CIDRs, without duplicates and without
// a prefix that another listed prefix contains, IPv4 before IPv6, in the order given.
func noMasqueradeDestinations(podCIDRs, others []netip.Prefix) []netip.Prefix {
	all := append(append([]netip.Prefix{}, podCIDRs...), others...)
	var out []netip.Prefix
	for _, is6 := range []bool{false, true} {
		for i, p := range all {
			if p.Addr().Is6() != is6 || coveredByOther(all, i) {
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

// coveredByOther reports whether all[i] lies within another entry of all; of two equal
// entries, the later one counts as covered.
func coveredByOther(all []netip.Prefix, i int) bool {
	p := all[i]
	for j, q := range all {
		if j == i || q.Addr().Is6() != p.Addr().Is6() || q.Bits() > p.Bits() || !q.Contains(p.Addr()) {
			continue
		}
		if q.Bits() < p.Bits() || j < i {
			return true
		}
	}
	return false
}
