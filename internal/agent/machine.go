package agent

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// machine is what the node reports of the machine it runs on.
type machine struct {
	cpu, memory, storage resource.Quantity
	info                 corev1.NodeSystemInfo
}

// readMachine measures the machine: CPUs, memory, the size of the filesystem holding dataDir,
// and the identity fields of status.nodeInfo.
func readMachine(dataDir string) (machine, error) {
	var m machine
	m.cpu = *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI)
	mem, err := memTotal()
	if err != nil {
		return m, err
	}
	m.memory = *resource.NewQuantity(mem, resource.BinarySI)
	var st unix.Statfs_t
	if err := unix.Statfs(dataDir, &st); err != nil {
		return m, fmt.Errorf("statfs %s: %w", dataDir, err)
	}
	m.storage = *resource.NewQuantity(int64(st.Blocks)*st.Bsize, resource.BinarySI)
	var u unix.Utsname
	_ = unix.Uname(&u)
	m.info = corev1.NodeSystemInfo{
		MachineID:     firstLine("/etc/machine-id"),
		SystemUUID:    firstLine("/sys/class/dmi/id/product_uuid"),
		BootID:        firstLine("/proc/sys/kernel/random/boot_id"),
		KernelVersion: unix.ByteSliceToString(u.Release[:]),
		OSImage:       osImage(),
	}
	if m.info.MachineID == "" {
		m.info.MachineID = m.info.BootID
	}
	if m.info.SystemUUID == "" {
		m.info.SystemUUID = m.info.MachineID
	}
	return m, nil
}

func firstLine(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	s, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(s)
}

// osImage is PRETTY_NAME from /etc/os-release.
func osImage() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return v
		}
	}
	return "Linux"
}

func memTotal() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			fields := strings.Fields(v)
			if len(fields) > 0 {
				kb, err := strconv.ParseInt(fields[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemTotal")
}

// defaultNodeIP is the node's address when --node-ip is not given: the first IPv4 address of
// the interface that holds the default route, else the first global unicast address of any
// interface.
func defaultNodeIP() (string, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err == nil {
		for _, r := range routes {
			if r.Dst != nil {
				if ones, _ := r.Dst.Mask.Size(); ones != 0 {
					continue
				}
			}
			if r.LinkIndex <= 0 {
				continue
			}
			link, err := netlink.LinkByIndex(r.LinkIndex)
			if err != nil {
				continue
			}
			addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
			if err != nil {
				continue
			}
			for _, a := range addrs {
				if a.IP.IsGlobalUnicast() {
					return a.IP.String(), nil
				}
			}
		}
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifc := range ifaces {
		// Not the pod bridges and veths of agents on this machine.
		if strings.HasPrefix(ifc.Name, "skb") || strings.HasPrefix(ifc.Name, "skv") {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && n.IP.To4() != nil {
				return n.IP.String(), nil
			}
		}
	}
	return "", fmt.Errorf("no address to use as the node's: pass --node-ip")
}
