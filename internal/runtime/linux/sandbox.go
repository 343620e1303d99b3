package linux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/shim"
)

// shmSize is the size of a pod's /dev/shm, as the kubelet's default.
const shmSize = "64m"

// Namespace pins under <pod dir>/ns/.
var pinnedNamespaces = []struct {
	name string
	flag int
}{
	{"net", unix.CLONE_NEWNET},
	{"uts", unix.CLONE_NEWUTS},
	{"ipc", unix.CLONE_NEWIPC},
}

// CreateSandbox creates the pod's namespaces, /dev/shm, cgroup and files, wires its network and
// starts its shim. It is idempotent.
func (r *Runtime) CreateSandbox(ctx context.Context, pod *corev1.Pod, podCIDRs []string) (kubelet.Sandbox, error) {
	r.mu.Lock()
	if p, ok := r.pods[pod.UID]; ok {
		r.mu.Unlock()
		return kubelet.Sandbox{IPs: p.meta.IPs}, nil
	}
	r.mu.Unlock()
	sb, err := r.createSandbox(ctx, pod)
	if err != nil {
		if rerr := r.RemoveSandbox(context.WithoutCancel(ctx), pod.UID); rerr != nil {
			r.log.Warn("clean up after a failed sandbox", "pod", pod.Namespace+"/"+pod.Name, "err", rerr)
		}
		return kubelet.Sandbox{}, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return sb, nil
}

func (r *Runtime) createSandbox(ctx context.Context, pod *corev1.Pod) (kubelet.Sandbox, error) {
	dir := r.podDir(pod.UID)
	for _, d := range []string{"ns", "etc", "rootfs", "termination"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return kubelet.Sandbox{}, err
		}
	}
	meta := podMeta{
		UID: pod.UID, Namespace: pod.Namespace, Name: pod.Name, Hostname: podHostname(pod),
		HostNetwork: pod.Spec.HostNetwork, HostIPC: pod.Spec.HostIPC, HostPID: pod.Spec.HostPID,
		SharePID:     pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace && !pod.Spec.HostPID,
		CgroupParent: podCgroupPath(r.cfg.CgroupParent, pod),
	}
	if err := writeMeta(dir, meta); err != nil {
		return kubelet.Sandbox{}, err
	}

	flags := 0
	if !meta.HostNetwork {
		flags |= unix.CLONE_NEWNET | unix.CLONE_NEWUTS
	}
	if !meta.HostIPC {
		flags |= unix.CLONE_NEWIPC
	}
	if err := pinNamespaces(filepath.Join(dir, "ns"), flags, meta.Hostname); err != nil {
		return kubelet.Sandbox{}, fmt.Errorf("namespaces: %w", err)
	}
	if !meta.HostIPC {
		shm := filepath.Join(dir, "shm")
		if err := os.MkdirAll(shm, 0o755); err != nil {
			return kubelet.Sandbox{}, err
		}
		if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size="+shmSize); err != nil {
			return kubelet.Sandbox{}, fmt.Errorf("mount /dev/shm: %w", err)
		}
	}
	if err := r.ensurePodCgroup(pod, meta.CgroupParent); err != nil {
		return kubelet.Sandbox{}, fmt.Errorf("cgroup: %w", err)
	}

	switch {
	case meta.HostNetwork:
		if r.cfg.NodeIP != "" {
			meta.IPs = []string{r.cfg.NodeIP}
		}
	case r.cfg.Network != nil:
		// Recorded first, so that a failed Setup is torn down.
		meta.NetworkSetUp = true
		if err := writeMeta(dir, meta); err != nil {
			return kubelet.Sandbox{}, err
		}
		ips, err := r.cfg.Network.Setup(ctx, string(pod.UID), filepath.Join(dir, "ns", "net"))
		if err != nil {
			return kubelet.Sandbox{}, fmt.Errorf("network: %w", err)
		}
		meta.IPs = ips
		if ports := podHostPorts(pod); len(ports) > 0 {
			if err := r.cfg.Network.SetHostPorts(ctx, string(pod.UID), ports); err != nil {
				return kubelet.Sandbox{}, fmt.Errorf("network: hostPorts: %w", err)
			}
		}
	}
	if err := r.writePodFiles(pod, dir, meta); err != nil {
		return kubelet.Sandbox{}, err
	}
	if err := writeMeta(dir, meta); err != nil {
		return kubelet.Sandbox{}, err
	}
	p := &podState{meta: meta, dir: dir, client: shim.NewClient(filepath.Join(dir, shim.SocketName)),
		release: map[string]func() error{}, lastCPU: map[string]cpuSample{}}
	if err := r.startShim(p); err != nil {
		return kubelet.Sandbox{}, err
	}
	r.mu.Lock()
	r.pods[pod.UID] = p
	r.mu.Unlock()
	r.watch(p)
	return kubelet.Sandbox{IPs: meta.IPs}, nil
}

// pinNamespaces creates the namespaces of flags on a locked OS thread, sets the hostname in the
// new UTS namespace, brings loopback up in the new network namespace, and pins each by a bind
// mount under dir. The thread is not given back to the Go scheduler: it ends with its goroutine.
func pinNamespaces(dir string, flags int, hostname string) error {
	if flags == 0 {
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread, now in the pod's namespaces, dies with this goroutine.
		errc <- func() error {
			if err := unix.Unshare(flags); err != nil {
				return fmt.Errorf("unshare: %w", err)
			}
			if flags&unix.CLONE_NEWUTS != 0 {
				if err := unix.Sethostname([]byte(hostname)); err != nil {
					return fmt.Errorf("sethostname: %w", err)
				}
			}
			if flags&unix.CLONE_NEWNET != 0 {
				if err := loopbackUp(); err != nil {
					return fmt.Errorf("loopback: %w", err)
				}
			}
			tid := unix.Gettid()
			for _, ns := range pinnedNamespaces {
				if flags&ns.flag == 0 {
					continue
				}
				target := filepath.Join(dir, ns.name)
				f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o444)
				if err != nil {
					return err
				}
				f.Close()
				src := fmt.Sprintf("/proc/%d/task/%d/ns/%s", os.Getpid(), tid, ns.name)
				if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
					return fmt.Errorf("pin %s namespace: %w", ns.name, err)
				}
			}
			return nil
		}()
	}()
	return <-errc
}

// loopbackUp sets lo up in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// writePodFiles writes the pod's /etc/hosts, /etc/hostname and /etc/resolv.conf.
func (r *Runtime) writePodFiles(pod *corev1.Pod, dir string, meta podMeta) error {
	etc := filepath.Join(dir, "etc")
	var hosts []byte
	if meta.HostNetwork {
		b, err := os.ReadFile("/etc/hosts")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		hosts = b
	} else {
		hosts = hostsFile(pod, meta.IPs)
	}
	resolv, err := r.resolvConf(pod)
	if err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	hostname := meta.Hostname
	if meta.HostNetwork {
		h, err := os.Hostname()
		if err == nil {
			hostname = h
		}
	}
	for name, b := range map[string][]byte{"hosts": hosts, "hostname": []byte(hostname + "\n"), "resolv.conf": resolv} {
		if err := os.WriteFile(filepath.Join(etc, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostsFile is the kubelet's /etc/hosts of a pod with its own network namespace.
func hostsFile(pod *corev1.Pod, ips []string) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	hostname := podHostname(pod)
	names := hostname
	if pod.Spec.Subdomain != "" {
		// The cluster domain is the kubelet's to know; the short forms are enough here.
		names = fmt.Sprintf("%s.%s.%s.svc\t%s", hostname, pod.Spec.Subdomain, pod.Namespace, hostname)
	}
	for _, ip := range ips {
		fmt.Fprintf(&b, "%s\t%s\n", ip, names)
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, ha := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", ha.IP, strings.Join(ha.Hostnames, "\t"))
		}
	}
	return b.Bytes()
}

func (r *Runtime) resolvConf(pod *corev1.Pod) ([]byte, error) {
	if r.cfg.ResolvConf != nil {
		return r.cfg.ResolvConf(pod)
	}
	if pod.Spec.DNSPolicy == corev1.DNSNone && pod.Spec.DNSConfig != nil {
		var b bytes.Buffer
		for _, ns := range pod.Spec.DNSConfig.Nameservers {
			fmt.Fprintf(&b, "nameserver %s\n", ns)
		}
		if len(pod.Spec.DNSConfig.Searches) > 0 {
			fmt.Fprintf(&b, "search %s\n", strings.Join(pod.Spec.DNSConfig.Searches, " "))
		}
		var opts []string
		for _, o := range pod.Spec.DNSConfig.Options {
			if o.Value != nil {
				opts = append(opts, o.Name+":"+*o.Value)
			} else {
				opts = append(opts, o.Name)
			}
		}
		if len(opts) > 0 {
			fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
		}
		return b.Bytes(), nil
	}
	path := r.cfg.ResolvConfPath
	if path == "" {
		path = "/etc/resolv.conf"
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// startShim starts the pod's shim, detached in its own session so that it outlives the agent,
// and waits until it answers.
func (r *Runtime) startShim(p *podState) error {
	logf, err := os.OpenFile(filepath.Join(p.dir, shim.LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"serve", "--dir", p.dir}
	if p.meta.SharePID {
		args = append(args, "--share-pid")
	}
	cmd := exec.Command(r.cfg.ShimPath, args...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GOGC=50"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start shim: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(r.ctx, time.Second)
		_, err := p.client.Info(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("shim exited at start: %s", tail(filepath.Join(p.dir, shim.LogFile)))
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("shim did not answer: %w", err)
		}
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// RemoveSandbox removes every container of the pod, its shim, network, namespaces, cgroup,
// files and logs. It is idempotent.
func (r *Runtime) RemoveSandbox(ctx context.Context, uid types.UID) error {
	if err := r.removeStopped(uid); err != nil {
		return fmt.Errorf("remove sandbox of pod %s: %w", uid, err)
	}
	return r.removeSandbox(ctx, uid, false)
}

// removeSandbox removes the pod's sandbox, and its logs unless keepLogs.
func (r *Runtime) removeSandbox(ctx context.Context, uid types.UID, keepLogs bool) error {
	dir := r.podDir(uid)
	r.mu.Lock()
	p := r.pods[uid]
	r.mu.Unlock()
	if p == nil {
		meta, err := readMeta(dir)
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
				return nil
			}
			meta = podMeta{UID: uid}
		} else if err != nil {
			meta = podMeta{UID: uid}
		}
		p = &podState{meta: meta, dir: dir, client: shim.NewClient(filepath.Join(dir, shim.SocketName)),
			release: map[string]func() error{}}
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		// Removed already (by another runtime on the same Dir, or an earlier call).
		if p.cancel != nil {
			p.cancel()
		}
		r.mu.Lock()
		delete(r.pods, uid)
		r.mu.Unlock()
		return nil
	}
	var errs []error
	if err := r.stopShim(ctx, p); err != nil {
		errs = append(errs, err)
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.client.Close()
	p.mu.Lock()
	for id, rel := range p.release {
		if err := rel(); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("release rootfs of %s: %w", id, err))
		}
		delete(p.release, id)
	}
	p.mu.Unlock()
	if releaser, ok := r.cfg.Images.(RootfsReleaser); ok {
		ents, _ := os.ReadDir(filepath.Join(dir, "rootfs"))
		for _, e := range ents {
			if err := releaser.ReleaseRootfs(filepath.Join(dir, "rootfs", e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if p.meta.NetworkSetUp && r.cfg.Network != nil {
		if err := r.cfg.Network.Teardown(ctx, string(uid), filepath.Join(dir, "ns", "net")); err != nil {
			errs = append(errs, fmt.Errorf("network teardown: %w", err))
		}
	}
	if err := unmountUnder(dir); err != nil {
		errs = append(errs, err)
	}
	if p.meta.CgroupParent != "" {
		if err := removePodCgroup(p.meta.CgroupParent); err != nil {
			errs = append(errs, fmt.Errorf("cgroup: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove sandbox of pod %s: %w", uid, errors.Join(errs...))
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if p.meta.Name != "" && !keepLogs {
		if err := os.RemoveAll(r.podLogDir(p.meta)); err != nil {
			return err
		}
	}
	r.mu.Lock()
	delete(r.pods, uid)
	r.mu.Unlock()
	return nil
}

// stopShim asks the shim to remove every container and exit, and waits until it has; a shim
// that does not answer is killed, and its containers with it.
func (r *Runtime) stopShim(ctx context.Context, p *podState) error {
	pid := readPid(filepath.Join(p.dir, shim.PidFile))
	pidnsPid := readPid(filepath.Join(p.dir, shim.PidnsPidFile))
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err := p.client.Shutdown(sctx)
	cancel()
	if err != nil {
		r.log.Warn("shim shutdown failed, killing what is left", "pod", p.meta.Name, "err", err)
		if pid > 0 && isShim(pid) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		if pidnsPid > 0 && isShim(pidnsPid) {
			_ = unix.Kill(pidnsPid, unix.SIGKILL)
		}
		if p.meta.CgroupParent != "" {
			killCgroup(p.meta.CgroupParent)
		}
	}
	// Wait for the shim to be gone, so that nothing holds the pod's mounts.
	for _, q := range []int{pid, pidnsPid} {
		if q <= 0 {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for isShim(q) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// isShim reports whether pid is a live (not zombie) skiff-shim process.
func isShim(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) || s[i+2] == 'Z' {
		return false
	}
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return bytes.Contains(cmd, []byte("serve")) || bytes.Contains(cmd, []byte("pidns-init"))
}

// unmountUnder unmounts every mount at or below dir, deepest first, and fails if any is left.
func unmountUnder(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return err
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].Mountpoint) > len(mounts[j].Mountpoint) })
	for _, m := range mounts {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", m.Mountpoint, err)
		}
	}
	left, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("%d mounts left under %s (first %s)", len(left), dir, left[0].Mountpoint)
	}
	return nil
}

func (r *Runtime) podLogDir(m podMeta) string {
	return filepath.Join(r.cfg.LogDir, fmt.Sprintf("%s_%s_%s", m.Namespace, m.Name, m.UID))
}
