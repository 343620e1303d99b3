package podnet

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vxlanPeer returns a peer with the vxlan annotations.
func vxlanPeer(name, ip, mac string, cidrs ...string) Peer {
	return Peer{Name: name, PodCIDRs: cidrs, Annotations: map[string]string{
		AnnotationBackend: BackendVXLAN, AnnotationPublicIP: ip, AnnotationVTEPMAC: mac, "unrelated": "x",
	}}
}

func hostGWPeer(name, ip string, cidrs ...string) Peer {
	return Peer{Name: name, PodCIDRs: cidrs, Annotations: map[string]string{AnnotationBackend: BackendHostGW, AnnotationPublicIP: ip}}
}

func TestPlanOverlay(t *testing.T) {
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	const macB, macC = "02:00:00:00:00:0b", "02:00:00:00:00:0c"
	self := Config{NodeName: "a", StateDir: "/x", PodCIDRs: []string{"10.42.0.0/24"}, NodeIP: "192.0.2.1"}
	tests := []struct {
		name    string
		backend string
		self    []string // the node's podCIDRs, if not self's
		peers   []Peer
		want    overlayPlan
	}{
		{name: "no peers", backend: BackendVXLAN},
		{name: "only itself", backend: BackendVXLAN, peers: []Peer{vxlanPeer("a", "192.0.2.1", macB, "10.42.0.0/24")}},
		{
			name: "vxlan: route onlink via the network address, neighbour and forwarding entry", backend: BackendVXLAN,
			peers: []Peer{vxlanPeer("c", "192.0.2.3", macC, "10.42.2.0/24"), vxlanPeer("b", "192.0.2.2", macB, "10.42.1.0/24")},
			want: overlayPlan{
				Routes: []overlayRoute{
					{Dst: pfx("10.42.1.0/24"), Gw: addr("10.42.1.0"), OnLink: true},
					{Dst: pfx("10.42.2.0/24"), Gw: addr("10.42.2.0"), OnLink: true},
				},
				Neighs: []overlayNeigh{{IP: addr("10.42.1.0"), MAC: macB}, {IP: addr("10.42.2.0"), MAC: macC}},
				FDB:    []overlayFDB{{MAC: macB, Dst: addr("192.0.2.2")}, {MAC: macC, Dst: addr("192.0.2.3")}},
			},
		},
		{
			name: "vxlan dual stack: one forwarding entry, a route and neighbour per podCIDR", backend: BackendVXLAN,
			self:  []string{"10.42.0.0/24", "fd00:42::/64"},
			peers: []Peer{vxlanPeer("b", "192.0.2.2", macB, "10.42.1.0/24", "fd00:42:0:1::/64")},
			want: overlayPlan{
				Routes: []overlayRoute{
					{Dst: pfx("10.42.1.0/24"), Gw: addr("10.42.1.0"), OnLink: true},
					{Dst: pfx("fd00:42:0:1::/64"), Gw: addr("fd00:42:0:1::"), OnLink: true},
				},
				Neighs: []overlayNeigh{{IP: addr("10.42.1.0"), MAC: macB}, {IP: addr("fd00:42:0:1::"), MAC: macB}},
				FDB:    []overlayFDB{{MAC: macB, Dst: addr("192.0.2.2")}},
			},
		},
		{
			name: "host-gw: route via the peer's address", backend: BackendHostGW,
			peers: []Peer{hostGWPeer("b", "192.0.2.2", "10.42.1.0/24", "fd00:42:0:1::/64")},
			want: overlayPlan{
				Routes:  []overlayRoute{{Dst: pfx("10.42.1.0/24"), Gw: addr("192.0.2.2")}},
				Skipped: []skippedPeer{{Name: "b", Reason: "podCIDR fd00:42:0:1::/64: host-gw needs a node address of its family (the node's is 192.0.2.2)"}},
			},
		},
		{name: "none: nothing", backend: BackendNone, peers: []Peer{vxlanPeer("b", "192.0.2.2", macB, "10.42.1.0/24")}},
		{
			name: "peers left out, with reasons", backend: BackendVXLAN,
			peers: []Peer{
				{Name: "no-cidr", Annotations: vxlanPeer("", "192.0.2.9", macC).Annotations},
				{Name: "unannounced", PodCIDRs: []string{"10.42.9.0/24"}},
				hostGWPeer("other-backend", "192.0.2.8", "10.42.8.0/24"),
				vxlanPeer("bad-ip", "not-an-ip", macC, "10.42.7.0/24"),
				vxlanPeer("bad-mac", "192.0.2.6", "01:00:5e:00:00:01", "10.42.6.0/24"),
				vxlanPeer("same-ip", "192.0.2.1", macC, "10.42.5.0/24"),
				vxlanPeer("own-cidr", "192.0.2.4", macC, "10.42.0.0/16"),
				vxlanPeer("bad-cidr", "192.0.2.3", macC, "10.42.3.7/24"),
				vxlanPeer("own-mac", "192.0.2.5", vtepMAC("a").String(), "10.42.4.0/24"),
			},
			want: overlayPlan{Skipped: []skippedPeer{
				{Name: "bad-cidr", Reason: `podCIDR: "10.42.3.7/24" is not a network address (want 10.42.3.0/24)`},
				{Name: "bad-ip", Reason: `annotation network.skiff.dev/public-ip: "not-an-ip" is not a unicast IP address`},
				{Name: "bad-mac", Reason: `annotation network.skiff.dev/vxlan-vtep-mac: "01:00:5e:00:00:01" is not a unicast MAC address`},
				{Name: "no-cidr", Reason: "no podCIDR yet", NotYet: true},
				{Name: "other-backend", Reason: `runs network backend "host-gw", this node "vxlan"`},
				{Name: "own-cidr", Reason: "podCIDR 10.42.0.0/16 overlaps this node's 10.42.0.0/24"},
				{Name: "own-mac", Reason: "VTEP MAC " + vtepMAC("a").String() + " is this node's own"},
				{Name: "same-ip", Reason: "publishes this node's own IP 192.0.2.1"},
				{Name: "unannounced", Reason: "has not published its network (annotation network.skiff.dev/backend)", NotYet: true},
			}},
		},
		{
			name: "two peers claim one podCIDR or MAC: the first in name order keeps it", backend: BackendVXLAN,
			peers: []Peer{
				vxlanPeer("z", "192.0.2.26", macC, "10.42.1.0/25"),
				vxlanPeer("b", "192.0.2.2", macB, "10.42.1.0/24"),
				vxlanPeer("y", "192.0.2.25", macB, "10.42.2.0/24"),
			},
			want: overlayPlan{
				Routes:  []overlayRoute{{Dst: pfx("10.42.1.0/24"), Gw: addr("10.42.1.0"), OnLink: true}},
				Neighs:  []overlayNeigh{{IP: addr("10.42.1.0"), MAC: macB}},
				FDB:     []overlayFDB{{MAC: macB, Dst: addr("192.0.2.2")}},
				Skipped: []skippedPeer{{Name: "y", Reason: "VTEP MAC " + macB + " is node b's too"}, {Name: "z", Reason: "podCIDR 10.42.1.0/25 overlaps 10.42.1.0/24 of node b"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := self
			cfg.Backend = tt.backend
			if tt.self != nil {
				cfg.PodCIDRs = tt.self
			}
			p, err := parseConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := planOverlay(p, tt.peers)
			slices.SortFunc(got.Skipped, func(a, b skippedPeer) int { return strings.Compare(a.Name+a.Reason, b.Name+b.Reason) })
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("planOverlay (-want +got):\n%s", diff)
			}
			// The plan does not depend on the order of the peers.
			rev := slices.Clone(tt.peers)
			slices.Reverse(rev)
			again := planOverlay(p, rev)
			slices.SortFunc(again.Skipped, func(a, b skippedPeer) int { return strings.Compare(a.Name+a.Reason, b.Name+b.Reason) })
			if !slices.Equal(again.Routes, got.Routes) || !slices.Equal(again.Neighs, got.Neighs) || !slices.Equal(again.FDB, got.FDB) || !slices.Equal(again.Skipped, got.Skipped) {
				t.Errorf("the plan depends on the peers' order")
			}
		})
	}
}

func TestDiffByKey(t *testing.T) {
	type kv struct{ K, V string }
	key := func(e kv) string { return e.K }
	tests := []struct {
		name               string
		have, want         []kv
		upsert, wantRemove []kv
	}{
		{"nothing", nil, nil, nil, nil},
		{"add all", nil, []kv{{"a", "1"}}, []kv{{"a", "1"}}, nil},
		{"remove all", []kv{{"a", "1"}}, nil, nil, []kv{{"a", "1"}}},
		{"same", []kv{{"a", "1"}}, []kv{{"a", "1"}}, nil, nil},
		{"changed value replaces, stale key goes", []kv{{"a", "1"}, {"b", "2"}}, []kv{{"a", "9"}, {"c", "3"}}, []kv{{"a", "9"}, {"c", "3"}}, []kv{{"b", "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, rm := diffByKey(tt.have, tt.want, key)
			if !slices.Equal(up, tt.upsert) || !slices.Equal(rm, tt.wantRemove) {
				t.Errorf("diffByKey = %v, %v; want %v, %v", up, rm, tt.upsert, tt.wantRemove)
			}
		})
	}
}

func TestNodeAnnotations(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want map[string]string
	}{
		{Config{NodeName: "node-1", NodeIP: "192.0.2.10"}, map[string]string{
			AnnotationBackend: "vxlan", AnnotationPublicIP: "192.0.2.10", AnnotationVTEPMAC: "ea:b3:ba:0c:7e:86"}},
		{Config{NodeName: "node-1", NodeIP: "192.0.2.10", Backend: BackendHostGW}, map[string]string{
			AnnotationBackend: "host-gw", AnnotationPublicIP: "192.0.2.10"}},
		{Config{NodeName: "node-1", Backend: BackendNone}, map[string]string{AnnotationBackend: "none"}},
	} {
		tt.cfg.StateDir, tt.cfg.PodCIDRs = "/x", []string{"10.42.1.0/24"}
		p, err := parseConfig(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeAnnotations(p); !cmp.Equal(got, tt.want) {
			t.Errorf("%+v: annotations %v, want %v", tt.cfg, got, tt.want)
		}
	}
	// Two nodes publishing each other's annotations see each other.
	a, _ := parseConfig(Config{NodeName: "a", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24"}, NodeIP: "192.0.2.1"})
	b, _ := parseConfig(Config{NodeName: "b", StateDir: "/x", PodCIDRs: []string{"10.42.2.0/24"}, NodeIP: "192.0.2.2"})
	plan := planOverlay(a, []Peer{{Name: "b", PodCIDRs: []string{"10.42.2.0/24"}, Annotations: nodeAnnotations(b)}})
	if len(plan.Routes) != 1 || len(plan.FDB) != 1 || plan.FDB[0].MAC != vtepMAC("b").String() || len(plan.Skipped) != 0 {
		t.Errorf("a's plan for b: %+v", plan)
	}
}

func TestVXLANAddrs(t *testing.T) {
	p, err := parseConfig(Config{NodeName: "a", StateDir: "/x", PodCIDRs: []string{"10.42.1.0/24", "fd00:42:0:1::/64"}, NodeIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	got := vxlanAddrs(p)
	want := []netip.Prefix{netip.MustParsePrefix("10.42.1.0/32"), netip.MustParsePrefix("fd00:42:0:1::/128")}
	if !slices.Equal(got, want) {
		t.Errorf("vxlanAddrs = %v, want %v", got, want)
	}
}
