package podnet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// sysctl is one kernel setting the node network needs.
type sysctl struct {
	Name  string // dotted, as sysctl(8) names it
	Value string
}

// path returns the sysctl's file under procSys.
func (s sysctl) path(procSys string) string {
	return filepath.Join(procSys, strings.ReplaceAll(s.Name, ".", "/"))
}

// nodeSysctls returns the settings the node needs: IPv4 forwarding, and bridged IPv4 traffic
// passing through netfilter (so that service rules see traffic between pods on one bridge);
// with an IPv6 podCIDR, the same for IPv6.
func nodeSysctls(dualStack bool) []sysctl {
	s := []sysctl{
		{"net.ipv4.ip_forward", "1"},
		{"net.bridge.bridge-nf-call-iptables", "1"},
	}
	if dualStack {
		s = append(s,
			sysctl{"net.ipv6.conf.all.forwarding", "1"},
			sysctl{"net.bridge.bridge-nf-call-ip6tables", "1"})
	}
	return s
}

// bridgeSysctls returns the settings of the bridge itself: route_localnet, so that a
// connection from the node to 127.0.0.1:<hostPort>, translated to a pod's address, may leave
// through the bridge (its source is then masqueraded to the gateway; see buildTable, which
// also keeps pods from reaching the node's loopback addresses through the bridge).
func bridgeSysctls(bridge string) []sysctl {
	return []sysctl{{"net.ipv4.conf." + bridge + ".route_localnet", "1"}}
}

// ensureSysctl sets s under procSys unless it already has its value, and reports the value
// it had when it changed it.
func ensureSysctl(procSys string, s sysctl) (old string, changed bool, err error) {
	path := s.path(procSys)
	b, err := os.ReadFile(path)
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

// moduleDir returns the directory of the running kernel's modules.
func moduleDir() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:])), nil
}

// loadModule loads the kernel module name and the modules it depends on, as modprobe does,
// with finit_module(2) and the kernel's own decompression of .xz/.zst/.gz files (Linux 6.4
// or newer with CONFIG_MODULE_DECOMPRESS; older kernels need the module loaded beforehand).
// A module already loaded is fine.
func loadModule(dir, name string) error {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return fmt.Errorf("load module %s: %w", name, err)
	}
	defer f.Close()
	order, err := moduleLoadOrder(f, name)
	if err != nil {
		return fmt.Errorf("load module %s: %w", name, err)
	}
	for _, rel := range order {
		if err := finitModule(filepath.Join(dir, rel)); err != nil {
			return fmt.Errorf("load module %s: %w", name, err)
		}
	}
	return nil
}

// moduleLoadOrder reads modules.dep and returns the files to load, dependencies first, for
// the module name (dashes and underscores count as one, as modprobe treats them).
func moduleLoadOrder(modulesDep io.Reader, name string) ([]string, error) {
	want := moduleName(name)
	sc := bufio.NewScanner(modulesDep)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		file, deps, ok := strings.Cut(sc.Text(), ":")
		if !ok || moduleName(filepath.Base(file)) != want {
			continue
		}
		// modules.dep lists every dependency, direct or not, so that loading them from the
		// last to the first satisfies each one's own dependencies.
		fields := strings.Fields(deps)
		order := make([]string, 0, len(fields)+1)
		for i := len(fields) - 1; i >= 0; i-- {
			order = append(order, fields[i])
		}
		return append(order, file), nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("not in modules.dep")
}

// moduleName returns a module's canonical name from a name or a file name:
// "br-netfilter", "br_netfilter.ko" and "br_netfilter.ko.zst" all give "br_netfilter".
func moduleName(s string) string {
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// finitModule loads one module file.
func finitModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := 0
	if !strings.HasSuffix(path, ".ko") {
		flags |= unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(int(f.Fd()), "", flags)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finit_module %s: %w", path, err)
	}
	return nil
}

// ensureBrNetfilter loads br_netfilter unless its sysctls already exist under procSys.
func ensureBrNetfilter(procSys string) (loaded bool, err error) {
	if _, err := os.Stat(filepath.Join(procSys, "net/bridge")); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	dir, err := moduleDir()
	if err != nil {
		return false, err
	}
	if err := loadModule(dir, "br_netfilter"); err != nil {
		return false, fmt.Errorf("%w (net.bridge.bridge-nf-call-iptables is missing; load br_netfilter with modprobe)", err)
	}
	return true, nil
}
