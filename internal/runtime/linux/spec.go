package linux

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/capability"
	"github.com/moby/sys/user"
	"github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/shim"
)

// containerPaths is what containerConfig needs from the host besides the pod, the container and
// the image: where things are, and a few facts about the machine.
type containerPaths struct {
	ID     string
	Rootfs string
	// Hosts, Hostname and ResolvConf are the pod's files; Shm its /dev/shm directory ("" for
	// hostIPC pods: the container gets a tmpfs of its own).
	Hosts, Hostname, ResolvConf string
	Shm                         string
	// TerminationLog is the file mounted at the container's terminationMessagePath.
	TerminationLog string
	// NetNS, UTSNS and IPCNS are the pinned namespaces ("": the host's). PidNS is the shared PID
	// namespace of shareProcessNamespace pods ("": a new one, or the host's for hostPID).
	NetNS, UTSNS, IPCNS, PidNS string
	// CgroupParent is the pod's cgroup (the container's is CgroupParent/ID).
	CgroupParent string
	// Volumes maps a pod volume's name to its host directory.
	Volumes map[string]string
	// HostDevices are given to privileged containers.
	HostDevices []*config.Device
	// OOMScoreAdjFloor is the lowest oom_score_adj the shim may set (0 without CAP_SYS_RESOURCE).
	OOMScoreAdjFloor int
	// MemoryCapacity is the node's memory, for the Burstable oom_score_adj.
	MemoryCapacity int64
	// PidsLimit is the containers' pids limit (0: none).
	PidsLimit int64
	// CgroupV2 tells whether the host runs the unified hierarchy (containers then get a cgroup
	// namespace, as containerd gives them).
	CgroupV2 bool
}

// DefaultPath is the PATH a container gets when its image sets none, as containerd's.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultCapabilities is the capability set containerd gives a container.
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Masked and read-only paths, as runc's and containerd's defaults.
var (
	defaultMaskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	defaultReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// safeSysctls are the sysctls Kubernetes allows every pod (namespaced, and harmless to others).
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced":              true,
	"net.ipv4.ip_local_port_range":        true,
	"net.ipv4.tcp_syncookies":             true,
	"net.ipv4.ping_group_range":           true,
	"net.ipv4.ip_unprivileged_port_start": true,
}

// ConfigError is an error in a pod's or container's configuration; the kubelet reports it as
// CreateContainerConfigError.
type ConfigError = kubelet.ConfigError

// containerConfig translates a pod's container into a libcontainer configuration and its first
// process. It reads only the image's /etc/passwd and /etc/group under paths.Rootfs.
func containerConfig(pod *corev1.Pod, c *corev1.Container, img ImageInfo, paths containerPaths) (*configs.Config, shim.Process, error) {
	spec, err := containerSpec(pod, c, img, paths)
	if err != nil {
		return nil, shim.Process{}, err
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: paths.ID,
		Spec:       spec,
	})
	if err != nil {
		return nil, shim.Process{}, fmt.Errorf("container %s: %w", c.Name, err)
	}
	// The bundle label names the agent's working directory; it means nothing here.
	cfg.Labels = slices.DeleteFunc(cfg.Labels, func(l string) bool { return strings.HasPrefix(l, "bundle=") })
	p := spec.Process
	proc := shim.Process{
		Args: p.Args,
		Env:  p.Env,
		Cwd:  p.Cwd,
		UID:  int(p.User.UID),
		GID:  int(p.User.GID),
		Capabilities: &configs.Capabilities{
			Bounding: p.Capabilities.Bounding, Effective: p.Capabilities.Effective,
			Permitted: p.Capabilities.Permitted,
		},
		NoNewPrivileges: p.NoNewPrivileges,
	}
	for _, g := range p.User.AdditionalGids {
		proc.AdditionalGids = append(proc.AdditionalGids, int(g))
	}
	return cfg, proc, nil
}

// containerSpec builds the OCI runtime spec of a container, as containerd's CRI plugin would.
func containerSpec(pod *corev1.Pod, c *corev1.Container, img ImageInfo, paths containerPaths) (*specs.Spec, error) {
	sc := effectiveSecurityContext(pod, c)
	privileged := sc.Privileged != nil && *sc.Privileged

	u, err := resolveUser(pod, c, img, sc, paths.Rootfs)
	if err != nil {
		return nil, err
	}
	args, err := commandLine(c, img)
	if err != nil {
		return nil, err
	}
	hostname := podHostname(pod)
	env := mergeEnv([]string{DefaultPath, "HOSTNAME=" + hostname}, img.Env, containerEnv(c))
	cwd := c.WorkingDir
	if cwd == "" {
		cwd = img.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}

	caps, err := capabilities(sc, privileged)
	if err != nil {
		return nil, err
	}
	oom := oomScoreAdj(pod, c, paths.MemoryCapacity)
	if oom < paths.OOMScoreAdjFloor {
		oom = paths.OOMScoreAdjFloor
	}
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: paths.Rootfs, Readonly: sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		Process: &specs.Process{
			Args: args,
			Env:  env,
			Cwd:  cwd,
			User: specs.User{UID: uint32(u.uid), GID: uint32(u.gid), AdditionalGids: u.groups},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			NoNewPrivileges: sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation && !privileged,
			OOMScoreAdj:     &oom,
		},
		Linux: &specs.Linux{
			CgroupsPath: filepath.Join(paths.CgroupParent, paths.ID),
			Resources:   containerResources(c, privileged, paths.PidsLimit),
		},
	}
	mounts, err := containerMounts(pod, c, paths, privileged, spec.Root.Readonly)
	if err != nil {
		return nil, err
	}
	spec.Mounts = mounts
	spec.Linux.Namespaces = containerNamespaces(pod, paths)
	if !privileged {
		spec.Linux.MaskedPaths = defaultMaskedPaths
		spec.Linux.ReadonlyPaths = defaultReadonlyPaths
	} else {
		for _, d := range paths.HostDevices {
			if d.Path == "" {
				continue
			}
			mode := d.FileMode
			uid, gid := d.Uid, d.Gid
			spec.Linux.Devices = append(spec.Linux.Devices, specs.LinuxDevice{
				Path: d.Path, Type: string(d.Type), Major: d.Major, Minor: d.Minor,
				FileMode: &mode, UID: &uid, GID: &gid,
			})
		}
	}
	if spec.Linux.Sysctl, err = podSysctls(pod); err != nil {
		return nil, err
	}
	return spec, nil
}

// effectiveSecurityContext merges the pod's security context into the container's, as the
// kubelet does: the container's fields win.
func effectiveSecurityContext(pod *corev1.Pod, c *corev1.Container) *corev1.SecurityContext {
	out := &corev1.SecurityContext{}
	if c.SecurityContext != nil {
		out = c.SecurityContext.DeepCopy()
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if out.RunAsUser == nil {
			out.RunAsUser = psc.RunAsUser
		}
		if out.RunAsGroup == nil {
			out.RunAsGroup = psc.RunAsGroup
		}
		if out.RunAsNonRoot == nil {
			out.RunAsNonRoot = psc.RunAsNonRoot
		}
	}
	return out
}

type resolvedUser struct {
	uid, gid int
	groups   []uint32
}

// resolveUser decides the user, group and supplementary groups of the container's process, and
// refuses a root user under runAsNonRoot with the kubelet's messages.
func resolveUser(pod *corev1.Pod, c *corev1.Container, img ImageInfo, sc *corev1.SecurityContext, rootfs string) (resolvedUser, error) {
	// The image's user as the kubelet sees it: numeric uid, or a name it cannot check.
	imgUser, _, _ := strings.Cut(img.User, ":")
	var imgUID *int64
	imgName := ""
	if imgUser == "" {
		zero := int64(0)
		imgUID = &zero
	} else if n, err := strconv.ParseInt(imgUser, 10, 64); err == nil {
		imgUID = &n
	} else {
		imgName = imgUser
	}
	if err := verifyRunAsNonRoot(pod, c, sc, imgUID, imgName); err != nil {
		return resolvedUser{}, err
	}

	userSpec := img.User
	if sc.RunAsUser != nil {
		// runAsUser replaces the image's user, and with it the image's group.
		userSpec = strconv.FormatInt(*sc.RunAsUser, 10)
	}
	passwd, group := "/dev/null", "/dev/null"
	if rootfs != "" {
		if p, err := securejoin.SecureJoin(rootfs, "/etc/passwd"); err == nil {
			passwd = p
		}
		if p, err := securejoin.SecureJoin(rootfs, "/etc/group"); err == nil {
			group = p
		}
	}
	eu, err := user.GetExecUserPath(userSpec, &user.ExecUser{}, passwd, group)
	if err != nil {
		return resolvedUser{}, &ConfigError{Err: fmt.Errorf("container %s: user %q: %w", c.Name, userSpec, err)}
	}
	u := resolvedUser{uid: eu.Uid, gid: eu.Gid}
	if sc.RunAsGroup != nil {
		u.gid = int(*sc.RunAsGroup)
	}
	add := func(g int64) {
		if g >= 0 && g <= math.MaxUint32 && !slices.Contains(u.groups, uint32(g)) {
			u.groups = append(u.groups, uint32(g))
		}
	}
	add(int64(u.gid))
	for _, g := range eu.Sgids {
		add(int64(g))
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		for _, g := range psc.SupplementalGroups {
			add(g)
		}
		if psc.FSGroup != nil {
			add(*psc.FSGroup)
		}
	}
	return u, nil
}

// verifyRunAsNonRoot is the kubelet's check, with its messages.
func verifyRunAsNonRoot(pod *corev1.Pod, c *corev1.Container, sc *corev1.SecurityContext, uid *int64, username string) error {
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return &ConfigError{Err: fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", formatPod(pod), c.Name)}
		}
		return nil
	}
	switch {
	case uid == nil && len(username) > 0:
		return &ConfigError{Err: fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", username, formatPod(pod), c.Name)}
	case uid != nil && *uid == 0:
		return &ConfigError{Err: fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", formatPod(pod), c.Name)}
	case uid != nil && (*uid < 0 || *uid > math.MaxInt32):
		return &ConfigError{Err: fmt.Errorf("container has runAsNonRoot and image has an invalid user id (%d). (Must be 1-(%d)): must be between 0 and 2147483647, inclusive (pod: %q, container: %s)", *uid, math.MaxInt32, formatPod(pod), c.Name)}
	}
	return nil
}

// formatPod is the kubelet's way of naming a pod in messages.
func formatPod(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// commandLine resolves the process's arguments from command, args, ENTRYPOINT and CMD as
// Kubernetes does. The kubelet has already expanded $(VAR) references in command and args
// (as it does before it calls a CRI runtime), so they are taken as they are.
func commandLine(c *corev1.Container, img ImageInfo) ([]string, error) {
	command, args := c.Command, c.Args
	var out []string
	switch {
	case len(command) > 0:
		out = append(append(out, command...), args...)
	case len(args) > 0:
		out = append(append(out, img.Entrypoint...), args...)
	default:
		out = append(append(out, img.Entrypoint...), img.Cmd...)
	}
	if len(out) == 0 {
		return nil, &ConfigError{Err: fmt.Errorf("container %s: no command specified", c.Name)}
	}
	return out, nil
}

// expand replaces $(VAR) with VAR's value when VAR is defined and $$ with $, leaving anything
// else as it is, as Kubernetes' expansion of command and args does.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func containerEnv(c *corev1.Container) []string {
	out := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		out = append(out, e.Name+"="+e.Value)
	}
	return out
}

// mergeEnv concatenates KEY=VALUE lists, a later value of a key replacing an earlier one in its
// place.
func mergeEnv(lists ...[]string) []string {
	var out []string
	idx := map[string]int{}
	for _, l := range lists {
		for _, kv := range l {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := idx[k]; ok {
				out[i] = kv
				continue
			}
			idx[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// capabilities computes the container's capability set from containerd's default set and the
// security context.
func capabilities(sc *corev1.SecurityContext, privileged bool) ([]string, error) {
	all := allCapabilities()
	if privileged {
		return all, nil
	}
	set := slices.Clone(defaultCapabilities)
	if sc.Capabilities != nil {
		norm := func(c corev1.Capability) (string, error) {
			s := strings.ToUpper(string(c))
			if s == "ALL" {
				return s, nil
			}
			if !strings.HasPrefix(s, "CAP_") {
				s = "CAP_" + s
			}
			if !slices.Contains(all, s) {
				return "", &ConfigError{Err: fmt.Errorf("unknown capability %q", c)}
			}
			return s, nil
		}
		for _, c := range sc.Capabilities.Add {
			s, err := norm(c)
			if err != nil {
				return nil, err
			}
			if s == "ALL" {
				set = slices.Clone(all)
				break
			}
			if !slices.Contains(set, s) {
				set = append(set, s)
			}
		}
		for _, c := range sc.Capabilities.Drop {
			s, err := norm(c)
			if err != nil {
				return nil, err
			}
			if s == "ALL" {
				// Dropping all keeps only what is added.
				set = nil
				for _, a := range sc.Capabilities.Add {
					if n, _ := norm(a); n != "" && n != "ALL" && !slices.Contains(set, n) {
						set = append(set, n)
					}
				}
				break
			}
			set = slices.DeleteFunc(set, func(x string) bool { return x == s })
		}
	}
	return set, nil
}

func allCapabilities() []string {
	var out []string
	for _, c := range capability.ListKnown() {
		out = append(out, "CAP_"+strings.ToUpper(c.String()))
	}
	return out
}

// Cgroup CPU maths, as the kubelet's.
const (
	minShares     = 2
	maxShares     = 262144
	sharesPerCPU  = 1024
	milliCPUToCPU = 1000
	quotaPeriod   = 100000 // microseconds
	minQuota      = 1000
)

// milliCPUToShares converts a CPU request to cpu.shares.
func milliCPUToShares(milli int64) uint64 {
	if milli == 0 {
		return minShares
	}
	shares := milli * sharesPerCPU / milliCPUToCPU
	if shares < minShares {
		return minShares
	}
	if shares > maxShares {
		return maxShares
	}
	return uint64(shares)
}

// milliCPUToQuota converts a CPU limit to a CFS quota for quotaPeriod; 0 means no quota.
func milliCPUToQuota(milli int64) int64 {
	if milli == 0 {
		return 0
	}
	q := milli * quotaPeriod / milliCPUToCPU
	if q < minQuota {
		q = minQuota
	}
	return q
}

func containerResources(c *corev1.Container, privileged bool, pidsLimit int64) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if privileged {
		r.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	} else {
		r.Devices = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	}
	req := c.Resources.Requests.Cpu().MilliValue()
	lim := c.Resources.Limits.Cpu().MilliValue()
	if req == 0 && lim != 0 {
		req = lim // the API defaults the request to the limit
	}
	shares := milliCPUToShares(req)
	r.CPU = &specs.LinuxCPU{Shares: &shares}
	if q := milliCPUToQuota(lim); q > 0 {
		period := uint64(quotaPeriod)
		r.CPU.Quota, r.CPU.Period = &q, &period
	}
	if mem := c.Resources.Limits.Memory().Value(); mem > 0 {
		swap := mem // no swap, as the kubelet's default (NoSwap)
		r.Memory = &specs.LinuxMemory{Limit: &mem, Swap: &swap}
	}
	if pidsLimit > 0 {
		r.Pids = &specs.LinuxPids{Limit: &pidsLimit}
	}
	return r
}

// QoS oom_score_adj values, as the kubelet's.
const (
	guaranteedOOMScoreAdj = -997
	besteffortOOMScoreAdj = 1000
)

// oomScoreAdj is the kubelet's oom_score_adj of a container.
func oomScoreAdj(pod *corev1.Pod, c *corev1.Container, memoryCapacity int64) int {
	if pod.Spec.PriorityClassName == "system-node-critical" {
		return guaranteedOOMScoreAdj
	}
	switch qosClass(pod) {
	case corev1.PodQOSGuaranteed:
		return guaranteedOOMScoreAdj
	case corev1.PodQOSBestEffort:
		return besteffortOOMScoreAdj
	}
	if memoryCapacity <= 0 {
		return besteffortOOMScoreAdj - 1
	}
	req := c.Resources.Requests.Memory().Value()
	adj := 1000 - (1000*req)/memoryCapacity
	if int(adj) < 1000+guaranteedOOMScoreAdj {
		return 1000 + guaranteedOOMScoreAdj
	}
	if int(adj) == besteffortOOMScoreAdj {
		return int(adj - 1)
	}
	return int(adj)
}

// containerMounts lists the container's mounts: the kernel filesystems, the pod's files and
// /dev/shm, the termination log and the volumes.
func containerMounts(pod *corev1.Pod, c *corev1.Container, paths containerPaths, privileged, readonlyRoot bool) ([]specs.Mount, error) {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgroupOpts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
	if privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev", "rw"}
		cgroupOpts = []string{"nosuid", "noexec", "nodev", "relatime", "rw"}
	}
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgroupOpts},
	}
	if paths.Shm != "" {
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: paths.Shm, Options: []string{"rbind", "nosuid", "nodev", "noexec"}})
	} else {
		ms = append(ms, specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}})
	}
	fileOpt := "rw"
	if readonlyRoot {
		fileOpt = "ro"
	}
	userMounted := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		userMounted[filepath.Clean(vm.MountPath)] = true
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/hosts", paths.Hosts}, {"/etc/hostname", paths.Hostname}, {"/etc/resolv.conf", paths.ResolvConf},
	} {
		if f.src != "" && !userMounted[f.dst] {
			ms = append(ms, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate", fileOpt}})
		}
	}
	if paths.TerminationLog != "" {
		dst := c.TerminationMessagePath
		if dst == "" {
			dst = corev1.TerminationMessagePathDefault
		}
		if !userMounted[filepath.Clean(dst)] {
			ms = append(ms, specs.Mount{Destination: dst, Type: "bind", Source: paths.TerminationLog, Options: []string{"rbind", "rprivate", "rw"}})
		}
	}
	for _, vm := range c.VolumeMounts {
		src, ok := paths.Volumes[vm.Name]
		if !ok {
			return nil, &ConfigError{Err: fmt.Errorf("container %s: volume %q is not prepared", c.Name, vm.Name)}
		}
		if vm.SubPath != "" || vm.SubPathExpr != "" {
			sub := vm.SubPath
			if vm.SubPathExpr != "" {
				vars := map[string]string{}
				for _, e := range c.Env {
					vars[e.Name] = e.Value
				}
				sub = expand(vm.SubPathExpr, vars)
			}
			if err := validSubPath(sub); err != nil {
				return nil, &ConfigError{Err: fmt.Errorf("container %s: volume %q: %w", c.Name, vm.Name, err)}
			}
			joined, err := securejoin.SecureJoin(src, sub)
			if err != nil {
				return nil, err
			}
			src = joined
		}
		opts := []string{"rbind", "rprivate"}
		if vm.ReadOnly {
			opts = append(opts, "ro")
		} else {
			opts = append(opts, "rw")
		}
		ms = append(ms, specs.Mount{Destination: vm.MountPath, Type: "bind", Source: src, Options: opts})
	}
	return ms, nil
}

// validSubPath rejects what the API server's validation rejects: absolute paths and "..".
func validSubPath(p string) error {
	if filepath.IsAbs(p) {
		return fmt.Errorf("subPath %q must be a relative path", p)
	}
	for _, part := range strings.Split(p, string(os.PathSeparator)) {
		if part == ".." {
			return fmt.Errorf("subPath %q must not contain '..'", p)
		}
	}
	return nil
}

func containerNamespaces(pod *corev1.Pod, paths containerPaths) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	if paths.NetNS != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: paths.NetNS})
	}
	if paths.UTSNS != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.UTSNamespace, Path: paths.UTSNS})
	}
	if paths.IPCNS != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: paths.IPCNS})
	}
	switch {
	case pod.Spec.HostPID:
	case paths.PidNS != "":
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: paths.PidNS})
	default:
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	if paths.CgroupV2 {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

// podSysctls returns the pod's sysctls, refusing any but the safe ones.
func podSysctls(pod *corev1.Pod) (map[string]string, error) {
	psc := pod.Spec.SecurityContext
	if psc == nil || len(psc.Sysctls) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, s := range psc.Sysctls {
		name := strings.ReplaceAll(s.Name, "/", ".")
		if !safeSysctls[name] {
			return nil, &ConfigError{Err: fmt.Errorf("sysctl %q is not allowed (only the safe set is)", s.Name)}
		}
		if strings.HasPrefix(name, "net.") && pod.Spec.HostNetwork {
			return nil, &ConfigError{Err: fmt.Errorf("sysctl %q is not allowed with hostNetwork", s.Name)}
		}
		if strings.HasPrefix(name, "kernel.shm") && pod.Spec.HostIPC {
			return nil, &ConfigError{Err: fmt.Errorf("sysctl %q is not allowed with hostIPC", s.Name)}
		}
		out[name] = s.Value
	}
	return out, nil
}

// podHostname is the pod's hostname: spec.hostname, or its name, cut to 63 characters.
func podHostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// qosClass is the pod's QoS class: the API server's, or computed as it does.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	zero := true
	guaranteed := true
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			rq, hasReq := c.Resources.Requests[name]
			lm, hasLim := c.Resources.Limits[name]
			if hasReq && !rq.IsZero() {
				zero = false
				q := requests[name]
				q.Add(rq)
				requests[name] = q
			}
			if hasLim && !lm.IsZero() {
				zero = false
				q := limits[name]
				q.Add(lm)
				limits[name] = q
			} else {
				guaranteed = false
			}
			if hasReq && hasLim && rq.Cmp(lm) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case zero:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
