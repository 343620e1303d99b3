package proxy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// procSys is where the kernel's settings are.
const procSys = "/proc/sys"

// sysctl is one kernel setting the data path needs.
type sysctl struct {
	Name  string // dotted, as sysctl(8) names it
	Value string
	// Bridge settings exist only with br_netfilter loaded, which the pod network does.
	Bridge bool
}

// proxySysctls returns the settings service traffic needs: forwarding (NodePort and
// load-balancer traffic for endpoints on other nodes is routed through this one), and
// bridged traffic passing through netfilter (a pod reaching a Service whose endpoint is on
// the same bridge is translated on the way in, so the reply must be translated back on the
// bridge). The proxy never translates to 127.0.0.1, so route_localnet stays off.
func proxySysctls(fams []family) []sysctl {
	var out []sysctl
	for _, f := range fams {
		if f == ipv4 {
			out = append(out, sysctl{Name: "net.ipv4.ip_forward", Value: "1"},
				sysctl{Name: "net.bridge.bridge-nf-call-iptables", Value: "1", Bridge: true})
		} else {
			out = append(out, sysctl{Name: "net.ipv6.conf.all.forwarding", Value: "1"},
				sysctl{Name: "net.bridge.bridge-nf-call-ip6tables", Value: "1", Bridge: true})
		}
	}
	return out
}

// ensureSysctl sets s under root unless it already has its value, and reports the value it
// had when it changed it. A missing bridge setting is errBridgeMissing.
func ensureSysctl(root string, s sysctl) (old string, changed bool, err error) {
	path := filepath.Join(root, strings.ReplaceAll(s.Name, ".", "/"))
	b, err := os.ReadFile(path)
	if s.Bridge && errors.Is(err, fs.ErrNotExist) {
		return "", false, errBridgeMissing
	}
	if err != nil {
		return "", false, fmt.Errorf("sysctl %s: %w", s.Name, err)
	}
	old = strings.TrimSpace(string(b))
	if old == s.Value {
		return old, false, nil
	}
	if err := os.WriteFile(path, []byte(s.Value), 0o644); err != nil {
		return old, false, fmt.Errorf("sysctl %s=%s: %w", s.Name, s.Value, err)
	}
	return old, true, nil
}

var errBridgeMissing = errors.New("br_netfilter is not loaded")
