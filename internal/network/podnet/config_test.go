package podnet

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"net"
)

func TestNames(t *testing.T) {
	// The names are part of the node's state on the host: changing how they are derived
	// orphans bridges, tables and veths across an upgrade. These values pin them.
	pinned := map[string]string{
		bridgeName("node-1"):            "skba5a01438",
		tableName("node-1"):             "skiff-podnet-5f7a32c7",
		hostVethName("node-1", "uid-1"): "skvb75dc03bc77e",
		vxlanName("node-1"):             "skx1b58a0f5",
		vtepMAC("node-1").String():      "ea:b3:ba:0c:7e:86",
	}
	for got, want := range pinned {
		if got != want {
			t.Errorf("derived name %s, want %s", got, want)
		}
	}
	hex := regexp.MustCompile(`^[0-9a-f]+$`)
	seenBridge, seenTable, seenVeth := map[string]string{}, map[string]string{}, map[string]string{}
	for i := range 2000 {
		node := fmt.Sprintf("node-%d.example.internal", i)
		b, tb, v := bridgeName(node), tableName(node), hostVethName(node, "pod-uid")
		if len(b) != 11 || len(v) != maxIfaceName || validIfaceName(b) != "" || validIfaceName(v) != "" {
			t.Fatalf("node %s: bridge %q veth %q: want 11 and 15 valid characters", node, b, v)
		}
		if !hex.MatchString(b[3:]) || !hex.MatchString(v[3:]) || !hex.MatchString(strings.TrimPrefix(tb, "skiff-podnet-")) {
			t.Fatalf("node %s: names %s %s %s are not prefix+hex", node, b, tb, v)
		}
		for _, c := range []struct {
			seen map[string]string
			name string
		}{{seenBridge, b}, {seenTable, tb}, {seenVeth, v}} {
			if other, dup := c.seen[c.name]; dup {
				t.Fatalf("nodes %s and %s both get %s", other, node, c.name)
			}
			c.seen[c.name] = node
		}
	}
	// Different pods of one node, and one pod UID on two nodes, get different veths.
	if hostVethName("n", "uid-1") == hostVethName("n", "uid-2") || hostVethName("n1", "uid") == hostVethName("n2", "uid") {
		t.Fatal("veth names collide")
	}
	if mac := bridgeMAC(bridgeName("n")); mac[0]&1 != 0 || mac[0]&2 == 0 || len(mac) != 6 {
		t.Fatalf("bridge MAC %s is not a locally administered unicast address", mac)
	}
}

func TestValidIfaceName(t *testing.T) {
	for name, ok := range map[string]bool{
		"skb12345678": true, "cni0": true, "a23456789012345": true,
		"": false, "a234567890123456": false, "a/b": false, "a b": false, "..": false, "a:b": false,
	} {
		if got := validIfaceName(name) == ""; got != ok {
			t.Errorf("validIfaceName(%q) ok = %v, want %v", name, got, ok)
		}
	}
}

func TestParseConfig(t *testing.T) {
	base := func() Config {
		return Config{NodeName: "n1", StateDir: "/tmp/x", PodCIDRs: []string{"10.42.1.0/24"}, NodeIP: "192.0.2.10"}
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
		check   func(*testing.T, parsedConfig)
	}{
		{name: "minimal", check: func(t *testing.T, p parsedConfig) {
			if p.bridge != bridgeName("n1") || p.table != tableName("n1") || len(p.ranges) != 1 {
				t.Errorf("got %+v", p)
			}
		}},
		{name: "dual stack, IPv6 given first, comes second", edit: func(c *Config) { c.PodCIDRs = []string{"fd00:42:1::/64", "10.42.1.0/24"} },
			check: func(t *testing.T, p parsedConfig) {
				if len(p.ranges) != 2 || !p.ranges[0].Prefix.Addr().Is4() || !p.ranges[1].Prefix.Addr().Is6() {
					t.Errorf("ranges = %+v", p.ranges)
				}
			}},
		{name: "explicit bridge name", edit: func(c *Config) { c.BridgeName = "cbr0" }, check: func(t *testing.T, p parsedConfig) {
			if p.bridge != "cbr0" {
				t.Errorf("bridge = %s", p.bridge)
			}
		}},
		{name: "overlay defaults", check: func(t *testing.T, p parsedConfig) {
			if p.backend != BackendVXLAN || p.vni != 1 || p.port != 8472 || p.vxlan != vxlanName("n1") || p.nodeIP != netip.MustParseAddr("192.0.2.10") {
				t.Errorf("got %+v", p)
			}
		}},
		{name: "host-gw", edit: func(c *Config) { c.Backend = BackendHostGW; c.VNI = 7; c.VXLANPort = 4789 }, check: func(t *testing.T, p parsedConfig) {
			if p.backend != BackendHostGW || p.vni != 7 || p.port != 4789 {
				t.Errorf("got %+v", p)
			}
		}},
		{name: "none needs no node IP", edit: func(c *Config) { c.Backend = BackendNone; c.NodeIP = "" }},
		{name: "unknown backend", edit: func(c *Config) { c.Backend = "wireguard" }, wantErr: `network backend "wireguard": want vxlan, host-gw or none`},
		{name: "vxlan needs a node IP", edit: func(c *Config) { c.NodeIP = "" }, wantErr: "network backend vxlan needs the node IP"},
		{name: "host-gw needs a node IP", edit: func(c *Config) { c.NodeIP = ""; c.Backend = BackendHostGW }, wantErr: "network backend host-gw needs the node IP"},
		{name: "bad node IP", edit: func(c *Config) { c.NodeIP = "127.0.0.1" }, wantErr: `node IP "127.0.0.1" is not a unicast IP address`},
		{name: "bad VNI", edit: func(c *Config) { c.VNI = 1 << 24 }, wantErr: "VNI 16777216: want 1..16777215"},
		{name: "bad port", edit: func(c *Config) { c.VXLANPort = 70000 }, wantErr: "VXLAN port 70000"},
		{name: "no node name", edit: func(c *Config) { c.NodeName = "" }, wantErr: "node name is empty"},
		{name: "no state dir", edit: func(c *Config) { c.StateDir = "" }, wantErr: "state dir is empty"},
		{name: "no podCIDRs", edit: func(c *Config) { c.PodCIDRs = nil }, wantErr: "no podCIDRs"},
		{name: "IPv6 only", edit: func(c *Config) { c.PodCIDRs = []string{"fd00::/64"} }, wantErr: "an IPv4 CIDR is required"},
		{name: "two IPv4", edit: func(c *Config) { c.PodCIDRs = []string{"10.42.1.0/24", "10.42.2.0/24"} }, wantErr: "two CIDRs of one family"},
		{name: "three", edit: func(c *Config) { c.PodCIDRs = []string{"10.42.1.0/24", "fd00::/64", "fd01::/64"} }, wantErr: "at most one IPv4 and one IPv6"},
		{name: "not a network address", edit: func(c *Config) { c.PodCIDRs = []string{"10.42.1.7/24"} }, wantErr: `"10.42.1.7/24" is not a network address (want 10.42.1.0/24)`},
		{name: "garbage", edit: func(c *Config) { c.PodCIDRs = []string{"ten"} }, wantErr: `podCIDR: "ten"`},
		{name: "too small", edit: func(c *Config) { c.PodCIDRs = []string{"10.42.1.0/31"} }, wantErr: "no room for a pod"},
		{name: "mapped", edit: func(c *Config) { c.PodCIDRs = []string{"::ffff:10.42.1.0/120"} }, wantErr: "IPv4-mapped"},
		{name: "bad cluster CIDR", edit: func(c *Config) { c.ClusterCIDRs = []string{"10.42.0.0/8"} }, wantErr: "cluster or service CIDR"},
		{name: "long bridge name", edit: func(c *Config) { c.BridgeName = "a-very-long-bridge" }, wantErr: "longer than 15 characters"},
		{name: "MTU too small", edit: func(c *Config) { c.MTU = 500 }, wantErr: "MTU 500: want 0 or 576..65535"},
		{name: "MTU too small for IPv6", edit: func(c *Config) { c.MTU = 1000; c.PodCIDRs = append(c.PodCIDRs, "fd00::/64") }, wantErr: "want 0 or 1280..65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			p, err := parseConfig(cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestNoMasqueradeDestinations(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	tests := []struct {
		name        string
		pod, others []netip.Prefix
		want        []netip.Prefix
	}{
		{"pod CIDR alone", pfx("10.42.1.0/24"), nil, pfx("10.42.1.0/24")},
		{"pod CIDR inside the cluster CIDR", pfx("10.42.1.0/24"), pfx("10.42.0.0/16", "10.43.0.0/16"), pfx("10.42.0.0/16", "10.43.0.0/16")},
		{"duplicates", pfx("10.42.1.0/24"), pfx("10.43.0.0/16", "10.43.0.0/16", "10.42.1.0/24"), pfx("10.42.1.0/24", "10.43.0.0/16")},
		{"IPv4 before IPv6", pfx("fd00:42:1::/64", "10.42.1.0/24"), pfx("fd00:43::/108", "10.43.0.0/16"), pfx("10.42.1.0/24", "10.43.0.0/16", "fd00:42:1::/64", "fd00:43::/108")},
		{"a wider IPv6 covers", pfx("10.42.1.0/24", "fd00:42:0:1::/64"), pfx("fd00:42::/56"), pfx("10.42.1.0/24", "fd00:42::/56")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := noMasqueradeDestinations(tt.pod, tt.others)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDefaultRouteLink(t *testing.T) {
	_, sub, _ := net.ParseCIDR("192.0.2.0/24")
	_, zero, _ := net.ParseCIDR("0.0.0.0/0")
	tests := []struct {
		name   string
		routes []netlink.Route
		want   int
	}{
		{"none", []netlink.Route{{Dst: sub, LinkIndex: 2}}, 0},
		{"nil Dst is default", []netlink.Route{{Dst: sub, LinkIndex: 2}, {LinkIndex: 3}}, 3},
		{"0.0.0.0/0 is default", []netlink.Route{{Dst: zero, LinkIndex: 4, Table: unix.RT_TABLE_MAIN}}, 4},
		{"lowest metric wins", []netlink.Route{{LinkIndex: 5, Priority: 200}, {LinkIndex: 6, Priority: 100}}, 6},
		{"other tables do not count", []netlink.Route{{LinkIndex: 7, Table: 100}}, 0},
		{"multipath takes the first hop", []netlink.Route{{MultiPath: []*netlink.NexthopInfo{{LinkIndex: 8}, {LinkIndex: 9}}}}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := defaultRouteLink(tt.routes)
			if got != tt.want || ok != (tt.want != 0) {
				t.Fatalf("defaultRouteLink = %d, %v; want %d", got, ok, tt.want)
			}
		})
	}
}
