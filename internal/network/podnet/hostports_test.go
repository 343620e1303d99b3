package podnet

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckHostPorts(t *testing.T) {
	tests := []struct {
		name    string
		in      []HostPortMapping
		want    []hostPort
		wantErr string
	}{
		{name: "none"},
		{name: "defaults to TCP on every address", in: []HostPortMapping{{HostPort: 8080, ContainerPort: 80}},
			want: []hostPort{{Proto: unix.IPPROTO_TCP, HostPort: 8080, ContainerPort: 80}}},
		{name: "protocols in any case, unspecified host IPs mean every address, duplicates go",
			in: []HostPortMapping{
				{Protocol: "udp", HostIP: "0.0.0.0", HostPort: 53, ContainerPort: 5353},
				{Protocol: "SCTP", HostIP: "::", HostPort: 9, ContainerPort: 9},
				{Protocol: "UDP", HostPort: 53, ContainerPort: 5353},
				{Protocol: "TCP", HostIP: "192.0.2.1", HostPort: 1, ContainerPort: 65535},
			},
			want: []hostPort{
				{Proto: unix.IPPROTO_UDP, HostPort: 53, ContainerPort: 5353},
				{Proto: unix.IPPROTO_SCTP, HostPort: 9, ContainerPort: 9},
				{Proto: unix.IPPROTO_TCP, HostIP: netip.MustParseAddr("192.0.2.1"), HostPort: 1, ContainerPort: 65535},
			}},
		{name: "unknown protocol", in: []HostPortMapping{{Protocol: "ICMP", HostPort: 1, ContainerPort: 1}}, wantErr: `protocol "ICMP"`},
		{name: "port 0", in: []HostPortMapping{{HostPort: 0, ContainerPort: 1}}, wantErr: "ports must be 1..65535"},
		{name: "port too big", in: []HostPortMapping{{HostPort: 1, ContainerPort: 65536}}, wantErr: "ports must be 1..65535"},
		{name: "bad host IP", in: []HostPortMapping{{HostIP: "node", HostPort: 1, ContainerPort: 1}}, wantErr: `hostIP "node"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkHostPorts(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("checkHostPorts = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestHostPortRulesFamilies(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.42.1.2"), netip.MustParseAddr("fd00::2")
	tcp := func(hostIP string) hostPort {
		hp := hostPort{Proto: unix.IPPROTO_TCP, HostPort: 80, ContainerPort: 8080}
		if hostIP != "" {
			hp.HostIP = netip.MustParseAddr(hostIP)
		}
		return hp
	}
	tests := []struct {
		name string
		hp   hostPort
		ips  []netip.Addr
		want []string
	}{
		{"any address, dual stack: both families", tcp(""), []netip.Addr{v4, v6}, []string{"10.42.1.2:8080", "[fd00::2]:8080"}},
		{"IPv4 host IP: IPv4 only", tcp("192.0.2.1"), []netip.Addr{v4, v6}, []string{"10.42.1.2:8080"}},
		{"IPv6 host IP, IPv4 pod: none", tcp("fd00::1"), []netip.Addr{v4}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range hostPortRules("uid", tt.hp, tt.ips) {
				got = append(got, r.To.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("DNAT targets %v, want %v", got, tt.want)
			}
		})
	}
	if got := firstOfEachFamily([]netip.Addr{v6, netip.MustParseAddr("fd00::3"), v4}); !slices.Equal(got, []netip.Addr{v4, v6}) {
		t.Errorf("firstOfEachFamily = %v", got)
	}
}

// TestHostPortRecords checks what SetHostPorts, Teardown and GC keep in the state directory,
// as far as it goes without root (no table is programmed for a pod without addresses).
func TestHostPortRecords(t *testing.T) {
	dir := t.TempDir()
	n, err := New(Config{NodeName: "n", StateDir: dir, PodCIDRs: []string{"10.42.1.0/24"}, Backend: BackendNone, MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = n.SetHostPorts(ctx, "pod-a", []HostPortMapping{{HostPort: 80, ContainerPort: 8080}})
	if err == nil || !strings.Contains(err.Error(), "the pod has no address (Setup first)") {
		t.Fatalf("SetHostPorts before Setup: %v", err)
	}
	if err := n.SetHostPorts(ctx, "../x", nil); err == nil {
		t.Fatal("SetHostPorts accepted a UID that is a path")
	}
	if err := n.SetHostPorts(ctx, "pod-a", nil); err != nil {
		t.Fatalf("SetHostPorts with none, for a pod without any: %v", err)
	}
	// A record left by an earlier agent for a pod without addresses programs nothing and is
	// removed with the pod.
	if err := os.MkdirAll(filepath.Join(dir, hostPortsDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, hostPortsDir, "pod-b"), []byte(`[{"hostPort":80,"containerPort":8080}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := n.hostPortRules()
	if err != nil || len(rules) != 0 {
		t.Fatalf("hostPortRules = %v, %v; want none for a pod without addresses", rules, err)
	}
	ips, _, _ := n.store.allocate(mustRange(t, "10.42.1.0/24"), "pod-b")
	rules, err = n.hostPortRules()
	if err != nil || len(rules) != 1 || rules[0].UID != "pod-b" || rules[0].IPs[0] != ips || rules[0].Ports[0].HostPort != 80 {
		t.Fatalf("hostPortRules = %+v, %v", rules, err)
	}
}
