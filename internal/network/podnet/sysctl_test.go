package podnet

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEnsureSysctl(t *testing.T) {
	procSys := t.TempDir()
	s := sysctl{"net.ipv4.ip_forward", "1"}
	path := filepath.Join(procSys, "net/ipv4/ip_forward")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old, changed, err := ensureSysctl(procSys, s)
	if err != nil || !changed || old != "0" {
		t.Fatalf("first ensureSysctl = %q, %v, %v; want 0, changed", old, changed, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "1" {
		t.Fatalf("file holds %q, want 1", b)
	}
	if _, changed, err := ensureSysctl(procSys, s); err != nil || changed {
		t.Fatalf("second ensureSysctl: changed=%v err=%v; want unchanged", changed, err)
	}
	if _, _, err := ensureSysctl(procSys, sysctl{"net.bridge.bridge-nf-call-iptables", "1"}); err == nil ||
		!strings.Contains(err.Error(), "sysctl net.bridge.bridge-nf-call-iptables") {
		t.Fatalf("missing sysctl: err = %v", err)
	}
}

func TestNodeSysctls(t *testing.T) {
	names := func(ss []sysctl) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name+"="+s.Value)
		}
		return out
	}
	if got, want := names(nodeSysctls(false)), []string{"net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"}; !slices.Equal(got, want) {
		t.Errorf("single stack: %v, want %v", got, want)
	}
	if got := names(nodeSysctls(true)); !slices.Contains(got, "net.ipv6.conf.all.forwarding=1") || len(got) != 4 {
		t.Errorf("dual stack: %v", got)
	}
}

const modulesDep = `kernel/net/802/stp.ko.zst: kernel/net/llc/llc.ko.zst
kernel/net/llc/llc.ko.zst:
kernel/net/bridge/bridge.ko.zst: kernel/net/802/stp.ko.zst kernel/net/llc/llc.ko.zst
kernel/net/bridge/br_netfilter.ko.zst: kernel/net/bridge/bridge.ko.zst kernel/net/802/stp.ko.zst kernel/net/llc/llc.ko.zst
kernel/drivers/net/dummy.ko:
`

func TestModuleLoadOrder(t *testing.T) {
	tests := []struct {
		name    string
		want    []string
		wantErr bool
	}{
		{"br_netfilter", []string{"kernel/net/llc/llc.ko.zst", "kernel/net/802/stp.ko.zst", "kernel/net/bridge/bridge.ko.zst", "kernel/net/bridge/br_netfilter.ko.zst"}, false},
		{"br-netfilter", []string{"kernel/net/llc/llc.ko.zst", "kernel/net/802/stp.ko.zst", "kernel/net/bridge/bridge.ko.zst", "kernel/net/bridge/br_netfilter.ko.zst"}, false},
		{"llc", []string{"kernel/net/llc/llc.ko.zst"}, false},
		{"dummy", []string{"kernel/drivers/net/dummy.ko"}, false},
		{"nope", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := moduleLoadOrder(strings.NewReader(modulesDep), tt.name)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Fatalf("moduleLoadOrder(%s) = %v, %v; want %v", tt.name, got, err, tt.want)
			}
		})
	}
}

func TestEnsureBrNetfilterPresent(t *testing.T) {
	procSys := t.TempDir()
	if err := os.MkdirAll(filepath.Join(procSys, "net/bridge"), 0o755); err != nil {
		t.Fatal(err)
	}
	if loaded, err := ensureBrNetfilter(procSys); err != nil || loaded {
		t.Fatalf("with net/bridge present: loaded=%v err=%v; want nothing done", loaded, err)
	}
}
