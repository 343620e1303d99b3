package podnet

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// HostPortMapping is one hostPort of a pod (a container port with hostPort set): connections
// to HostPort on the node's addresses (on HostIP only, when set) go to ContainerPort on the
// pod's address of the same family.
type HostPortMapping struct {
	// Protocol is "TCP" (also when empty), "UDP" or "SCTP", as Kubernetes spells them.
	Protocol string `json:"protocol,omitempty"`
	// HostIP is the node address the port is opened on; "", 0.0.0.0 and :: mean every
	// address of the node (and 127.0.0.1).
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
}

// hostPort is a checked HostPortMapping.
type hostPort struct {
	Proto         byte       // IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP
	HostIP        netip.Addr // the zero Addr for every address
	HostPort      uint16
	ContainerPort uint16
}

// podHostPorts is one pod's hostPorts and addresses, as buildTable needs them.
type podHostPorts struct {
	UID   string
	IPs   []netip.Addr // IPv4 first
	Ports []hostPort
}

// hostPortsDir is the directory under Config.StateDir holding one record per pod with
// hostPorts: a JSON list of HostPortMapping named by the pod's UID.
const hostPortsDir = "hostports"

var protocols = map[string]byte{"TCP": unix.IPPROTO_TCP, "UDP": unix.IPPROTO_UDP, "SCTP": unix.IPPROTO_SCTP}

// protocolName returns the Kubernetes name of an IP protocol number.
func protocolName(p byte) string {
	for name, n := range protocols {
		if n == p {
			return name
		}
	}
	return fmt.Sprint(p)
}

// checkHostPorts checks and normalises mappings, dropping duplicates.
func checkHostPorts(mappings []HostPortMapping) ([]hostPort, error) {
	var out []hostPort
	for _, m := range mappings {
		proto := strings.ToUpper(m.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		hp := hostPort{Proto: protocols[proto]}
		if hp.Proto == 0 {
			return nil, fmt.Errorf("hostPort %d: protocol %q: want TCP, UDP or SCTP", m.HostPort, m.Protocol)
		}
		if m.HostPort < 1 || m.HostPort > 65535 || m.ContainerPort < 1 || m.ContainerPort > 65535 {
			return nil, fmt.Errorf("hostPort %d to containerPort %d: ports must be 1..65535", m.HostPort, m.ContainerPort)
		}
		hp.HostPort, hp.ContainerPort = uint16(m.HostPort), uint16(m.ContainerPort)
		if m.HostIP != "" {
			a, err := netip.ParseAddr(m.HostIP)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("hostPort %d: hostIP %q is not an IP address", m.HostPort, m.HostIP)
			}
			if !a.IsUnspecified() {
				hp.HostIP = a.Unmap()
			}
		}
		if !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	return out, nil
}

// mappingOf returns the HostPortMapping of hp, as it is recorded.
func mappingOf(hp hostPort) HostPortMapping {
	m := HostPortMapping{Protocol: protocolName(hp.Proto), HostPort: int32(hp.HostPort), ContainerPort: int32(hp.ContainerPort)}
	if hp.HostIP.IsValid() {
		m.HostIP = hp.HostIP.String()
	}
	return m
}

// SetHostPorts makes mappings the hostPorts of the pod podUID, replacing those it had (none
// removes them), and programs the node's table at once. The pod must have its addresses
// (Setup has run); each mapping forwards to the pod's address of each family it may reach
// (a HostIP of one family, that family only). The mappings are recorded in the state
// directory, so that EnsureNode after an agent restart programs them again; Teardown and GC
// remove them with the pod.
//
// What they do, as CNI's portmap plugin does: connections to the node's own addresses (any, or
// HostIP) on HostPort, from other machines, from pods and from the node itself, including to
// 127.0.0.1 (IPv4 only), are translated to the pod's address and ContainerPort. Connections
// from the node's loopback and from the pod to itself are masqueraded too, so that the replies
// return the way they came. Nothing listens on the node: the port is not taken from the
// node's own processes, as it is not in Kubernetes.
func (n *Network) SetHostPorts(ctx context.Context, podUID string, mappings []HostPortMapping) error {
	if err := checkUID(podUID); err != nil {
		return fmt.Errorf("pod network: hostPorts: %w", err)
	}
	hps, err := checkHostPorts(mappings)
	if err != nil {
		return fmt.Errorf("pod network: pod %s: %w", podUID, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n.node.Lock()
	defer n.node.Unlock()
	if len(hps) > 0 && len(n.addrsOf(podUID)) == 0 {
		return fmt.Errorf("pod network: pod %s: hostPorts: the pod has no address (Setup first)", podUID)
	}
	changed, err := n.writeHostPorts(podUID, hps)
	if err != nil {
		return fmt.Errorf("pod network: pod %s: %w", podUID, err)
	}
	if !changed {
		return nil
	}
	if err := n.programTable(); err != nil {
		return fmt.Errorf("pod network: pod %s: hostPorts: %w", podUID, err)
	}
	n.log.Info("hostPorts set", "pod", podUID, "hostPorts", describeHostPorts(hps))
	return nil
}

// describeHostPorts renders hostPorts for a log line: "8080/TCP->80 10.0.0.1:53/UDP->53".
func describeHostPorts(hps []hostPort) string {
	var parts []string
	for _, hp := range hps {
		s := fmt.Sprintf("%d/%s->%d", hp.HostPort, protocolName(hp.Proto), hp.ContainerPort)
		if hp.HostIP.IsValid() {
			s = hp.HostIP.String() + ":" + s
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// checkUID refuses a pod UID that cannot name a file.
func checkUID(uid string) error {
	if uid == "" || uid == "." || uid == ".." || strings.ContainsAny(uid, "/\x00") {
		return fmt.Errorf("pod UID %q cannot name a record", uid)
	}
	return nil
}

// writeHostPorts records hps for podUID (removing the record when hps is empty) and reports
// whether the record changed.
func (n *Network) writeHostPorts(podUID string, hps []hostPort) (changed bool, err error) {
	dir := filepath.Join(n.store.dir, hostPortsDir)
	path := filepath.Join(dir, podUID)
	old, _ := os.ReadFile(path)
	if len(hps) == 0 {
		err := os.Remove(path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	ms := make([]HostPortMapping, len(hps))
	for i, hp := range hps {
		ms[i] = mappingOf(hp)
	}
	b, err := json.Marshal(ms)
	if err != nil {
		return false, err
	}
	if string(old) == string(b) {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("hostPorts: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return false, fmt.Errorf("hostPorts: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("hostPorts: %w", err)
	}
	return true, nil
}

// removeHostPorts removes the hostPort records of the pods for which drop is true and, if it
// removed any, programs the table again. It takes n.node.
func (n *Network) removeHostPorts(drop func(uid string) bool) error {
	n.node.Lock()
	defer n.node.Unlock()
	dir := filepath.Join(n.store.dir, hostPortsDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hostPorts: %w", err)
	}
	var errs []error
	removed := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") || !drop(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("hostPorts: %w", err))
			continue
		}
		removed++
		n.log.Info("hostPorts removed", "pod", e.Name())
	}
	if removed > 0 {
		errs = append(errs, n.programTable())
	}
	return errors.Join(errs...)
}

// hostPortRules reads the hostPort records and the pods' addresses: the input of buildTable.
// A record whose pod has no address any more is skipped.
func (n *Network) hostPortRules() ([]podHostPorts, error) {
	dir := filepath.Join(n.store.dir, hostPortsDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hostPorts: %w", err)
	}
	recs, err := n.store.records()
	if err != nil {
		return nil, err
	}
	var out []podHostPorts
	for _, e := range entries {
		uid := e.Name()
		if strings.HasSuffix(uid, ".tmp") || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, uid))
		if err != nil {
			return nil, fmt.Errorf("hostPorts: %w", err)
		}
		var ms []HostPortMapping
		if err := json.Unmarshal(b, &ms); err != nil {
			n.log.Error("hostPorts: unreadable record, ignored", "pod", uid, "err", err)
			continue
		}
		hps, err := checkHostPorts(ms)
		if err != nil {
			n.log.Error("hostPorts: invalid record, ignored", "pod", uid, "err", err)
			continue
		}
		ips := addrsIn(recs, uid)
		if len(ips) == 0 {
			continue
		}
		out = append(out, podHostPorts{UID: uid, IPs: ips, Ports: hps})
	}
	slices.SortFunc(out, func(a, b podHostPorts) int { return cmp.Compare(a.UID, b.UID) })
	return out, nil
}

// addrsOf returns the pod's addresses, IPv4 first.
func (n *Network) addrsOf(podUID string) []netip.Addr {
	recs, err := n.store.records()
	if err != nil {
		return nil
	}
	return addrsIn(recs, podUID)
}

// addrsIn returns the addresses recs gives podUID, IPv4 first, each family in order.
func addrsIn(recs map[netip.Addr]string, podUID string) []netip.Addr {
	var out []netip.Addr
	for a, uid := range recs {
		if uid == podUID {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int {
		if a.Is4() != b.Is4() {
			if a.Is4() {
				return -1
			}
			return 1
		}
		return a.Compare(b)
	})
	return out
}
