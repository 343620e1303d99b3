package linux

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/runc/libcontainer/configs"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/shim"
)

// specRootfs is a root filesystem with only /etc/passwd and /etc/group.
func specRootfs(t *testing.T) string {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\napp:x:1001:\nextra:x:3000:app\n"), 0o644)
	return dir
}

func ptr[T any](v T) *T { return &v }

func rl(pairs ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return out
}

func TestContainerConfig(t *testing.T) {
	rootfs := specRootfs(t)
	paths := containerPaths{
		ID: "abc", Rootfs: rootfs,
		Hosts: "/pod/etc/hosts", Hostname: "/pod/etc/hostname", ResolvConf: "/pod/etc/resolv.conf",
		Shm: "/pod/shm", TerminationLog: "/pod/termination/abc",
		NetNS: "/pod/ns/net", UTSNS: "/pod/ns/uts", IPCNS: "/pod/ns/ipc",
		CgroupParent:   "/skiff-n/kubepods/burstable/podU",
		Volumes:        map[string]string{"data": "/vol/data"},
		MemoryCapacity: 10 << 30,
	}
	img := ImageInfo{Entrypoint: []string{"/entry"}, Cmd: []string{"default"}, Env: []string{"PATH=/img/bin", "A=image", "B=image"}, WorkingDir: "/work"}
	base := func() (*corev1.Pod, *corev1.Container) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "U"}}
		c := corev1.Container{Name: "c", Image: "img"}
		pod.Spec.Containers = []corev1.Container{c}
		return pod, &pod.Spec.Containers[0]
	}
	tests := []struct {
		name   string
		mod    func(*corev1.Pod, *corev1.Container, *ImageInfo, *containerPaths)
		check  func(*testing.T, *configs.Config, shim.Process)
		errMsg string // a ConfigError with this message
	}{
		{
			name: "image entrypoint and cmd, env, workdir, root",
			check: func(t *testing.T, cfg *configs.Config, p shim.Process) {
				want := shim.Process{Args: []string{"/entry", "default"}, Cwd: "/work", UID: 0, GID: 0, AdditionalGids: []int{0}}
				if diff := cmp.Diff(want.Args, p.Args); diff != "" {
					t.Error(diff)
				}
				if p.Cwd != want.Cwd || p.UID != 0 || p.GID != 0 {
					t.Errorf("process %+v", p)
				}
				if diff := cmp.Diff([]string{"PATH=/img/bin", "HOSTNAME=web", "A=image", "B=image"}, p.Env); diff != "" {
					t.Error(diff)
				}
				if cfg.Rootfs != rootfs || cfg.Readonlyfs || cfg.NoNewPrivileges {
					t.Errorf("rootfs %q ro %v nnp %v", cfg.Rootfs, cfg.Readonlyfs, cfg.NoNewPrivileges)
				}
				if cfg.Cgroups.Path != "/skiff-n/kubepods/burstable/podU/abc" {
					t.Errorf("cgroup path %q", cfg.Cgroups.Path)
				}
			},
		},
		{
			name: "args replace cmd; command replaces both; $(VAR) left to the kubelet; env overrides image env",
			mod: func(pod *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.Command = []string{"/bin/app", "--name=$(NAME)", "$$(NAME)", "$(MISSING)"}
				c.Args = []string{"x"}
				c.Env = []corev1.EnvVar{{Name: "NAME", Value: "v"}, {Name: "A", Value: "container"}}
				c.WorkingDir = "/cwd"
			},
			check: func(t *testing.T, cfg *configs.Config, p shim.Process) {
				if diff := cmp.Diff([]string{"/bin/app", "--name=$(NAME)", "$$(NAME)", "$(MISSING)", "x"}, p.Args); diff != "" {
					t.Error(diff)
				}
				if diff := cmp.Diff([]string{"PATH=/img/bin", "HOSTNAME=web", "A=container", "B=image", "NAME=v"}, p.Env); diff != "" {
					t.Error(diff)
				}
				if p.Cwd != "/cwd" {
					t.Errorf("cwd %q", p.Cwd)
				}
			},
		},
		{
			name: "args alone follow the entrypoint",
			mod:  func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) { c.Args = []string{"a", "b"} },
			check: func(t *testing.T, _ *configs.Config, p shim.Process) {
				if diff := cmp.Diff([]string{"/entry", "a", "b"}, p.Args); diff != "" {
					t.Error(diff)
				}
			},
		},
		{
			name: "no command at all",
			mod: func(_ *corev1.Pod, _ *corev1.Container, img *ImageInfo, _ *containerPaths) {
				img.Entrypoint, img.Cmd = nil, nil
			},
			errMsg: "container c: no command specified",
		},
		{
			name: "image user by name, with its groups; fsGroup and supplementalGroups",
			mod: func(pod *corev1.Pod, _ *corev1.Container, img *ImageInfo, _ *containerPaths) {
				img.User = "app"
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(2000)), SupplementalGroups: []int64{4000}}
			},
			check: func(t *testing.T, _ *configs.Config, p shim.Process) {
				if p.UID != 1000 || p.GID != 1001 {
					t.Errorf("uid %d gid %d", p.UID, p.GID)
				}
				if diff := cmp.Diff([]int{1001, 3000, 4000, 2000}, p.AdditionalGids); diff != "" {
					t.Error(diff)
				}
			},
		},
		{
			name: "runAsUser and runAsGroup win over the image",
			mod: func(pod *corev1.Pod, c *corev1.Container, img *ImageInfo, _ *containerPaths) {
				img.User = "app"
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(5)), RunAsGroup: ptr(int64(6))}
				c.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(7))}
			},
			check: func(t *testing.T, _ *configs.Config, p shim.Process) {
				if p.UID != 7 || p.GID != 6 {
					t.Errorf("uid %d gid %d, want 7 6", p.UID, p.GID)
				}
			},
		},
		{
			name: "numeric image user:group",
			mod:  func(_ *corev1.Pod, _ *corev1.Container, img *ImageInfo, _ *containerPaths) { img.User = "1234:5678" },
			check: func(t *testing.T, _ *configs.Config, p shim.Process) {
				if p.UID != 1234 || p.GID != 5678 {
					t.Errorf("uid %d gid %d", p.UID, p.GID)
				}
			},
		},
		{
			name: "runAsNonRoot with a root image",
			mod: func(pod *corev1.Pod, _ *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
			},
			errMsg: `container has runAsNonRoot and image will run as root (pod: "web_ns(U)", container: c)`,
		},
		{
			name: "runAsNonRoot with a named image user",
			mod: func(_ *corev1.Pod, c *corev1.Container, img *ImageInfo, _ *containerPaths) {
				img.User = "app"
				c.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr(true)}
			},
			errMsg: `container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: "web_ns(U)", container: c)`,
		},
		{
			name: "runAsNonRoot with runAsUser 0",
			mod: func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(0))}
			},
			errMsg: `container's runAsUser breaks non-root policy (pod: "web_ns(U)", container: c)`,
		},
		{
			name: "runAsNonRoot satisfied by a numeric image user",
			mod: func(_ *corev1.Pod, c *corev1.Container, img *ImageInfo, _ *containerPaths) {
				img.User = "1000"
				c.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr(true)}
			},
			check: func(t *testing.T, _ *configs.Config, p shim.Process) {
				if p.UID != 1000 {
					t.Errorf("uid %d", p.UID)
				}
			},
		},
		{
			name: "requests and limits: shares, quota, memory without swap; Burstable oom_score_adj",
			mod: func(pod *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.Resources = corev1.ResourceRequirements{Requests: rl("cpu", "250m", "memory", "1Gi"), Limits: rl("cpu", "500m", "memory", "2Gi")}
			},
			check: func(t *testing.T, cfg *configs.Config, _ shim.Process) {
				r := cfg.Cgroups.Resources
				if r.CpuShares != 256 || r.CpuQuota != 50000 || r.CpuPeriod != 100000 || r.Memory != 2<<30 || r.MemorySwap != 2<<30 {
					t.Errorf("resources shares %d quota %d period %d memory %d swap %d", r.CpuShares, r.CpuQuota, r.CpuPeriod, r.Memory, r.MemorySwap)
				}
				if *cfg.OomScoreAdj != 900 { // 1000 - 1000*1Gi/10Gi
					t.Errorf("oom_score_adj %d", *cfg.OomScoreAdj)
				}
			},
		},
		{
			name: "tiny request: minimum shares, no quota without a limit",
			mod: func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.Resources = corev1.ResourceRequirements{Requests: rl("cpu", "1m")}
			},
			check: func(t *testing.T, cfg *configs.Config, _ shim.Process) {
				r := cfg.Cgroups.Resources
				if r.CpuShares != 2 || r.CpuQuota != 0 || r.Memory != 0 {
					t.Errorf("shares %d quota %d memory %d", r.CpuShares, r.CpuQuota, r.Memory)
				}
			},
		},
		{
			name: "Guaranteed: -997 clamped to the floor; pids limit",
			mod: func(pod *corev1.Pod, c *corev1.Container, _ *ImageInfo, p *containerPaths) {
				c.Resources = corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "1", "memory", "1Gi")}
				pod.Status.QOSClass = corev1.PodQOSGuaranteed
				p.OOMScoreAdjFloor = 0
				p.PidsLimit = 100
			},
			check: func(t *testing.T, cfg *configs.Config, _ shim.Process) {
				if *cfg.OomScoreAdj != 0 {
					t.Errorf("oom_score_adj %d, want 0", *cfg.OomScoreAdj)
				}
				if cfg.Cgroups.Resources.PidsLimit == nil || *cfg.Cgroups.Resources.PidsLimit != 100 {
					t.Errorf("pids limit %v", cfg.Cgroups.Resources.PidsLimit)
				}
			},
		},
		{
			name: "BestEffort: 1000",
			mod: func(pod *corev1.Pod, _ *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				pod.Status.QOSClass = corev1.PodQOSBestEffort
			},
			check: func(t *testing.T, cfg *configs.Config, _ shim.Process) {
				if *cfg.OomScoreAdj != 1000 {
					t.Errorf("oom_score_adj %d", *cfg.OomScoreAdj)
				}
			},
		},
		{
			name: "default capabilities, masked and read-only paths, pinned namespaces",
			check: func(t *testing.T, cfg *configs.Config, p shim.Process) {
				if diff := cmp.Diff(defaultCapabilities, p.Capabilities.Bounding); diff != "" {
					t.Error(diff)
				}
				if !slices.Contains(cfg.MaskPaths, "/proc/kcore") || !slices.Contains(cfg.ReadonlyPaths, "/proc/sys") {
					t.Errorf("masked %v readonly %v", cfg.MaskPaths, cfg.ReadonlyPaths)
				}
				if cfg.Namespaces.PathOf(configs.NEWNET) != "/pod/ns/net" || cfg.Namespaces.PathOf(configs.NEWUTS) != "/pod/ns/uts" ||
					cfg.Namespaces.PathOf(configs.NEWIPC) != "/pod/ns/ipc" || !cfg.Namespaces.IsPrivate(configs.NEWPID) || !cfg.Namespaces.IsPrivate(configs.NEWNS) {
					t.Errorf("namespaces %+v", cfg.Namespaces)
				}
				if cfg.Hostname != "" {
					t.Errorf("hostname %q set in a joined UTS namespace", cfg.Hostname)
				}
			},
		},
		{
			name: "capabilities add and drop; no privilege escalation; read-only root",
			mod: func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.SecurityContext = &corev1.SecurityContext{
					Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "CAP_SYS_TIME"}, Drop: []corev1.Capability{"MKNOD", "NET_RAW"}},
					AllowPrivilegeEscalation: ptr(false),
					ReadOnlyRootFilesystem:   ptr(true),
				}
			},
			check: func(t *testing.T, cfg *configs.Config, p shim.Process) {
				caps := p.Capabilities.Effective
				if !slices.Contains(caps, "CAP_NET_ADMIN") || !slices.Contains(caps, "CAP_SYS_TIME") || slices.Contains(caps, "CAP_MKNOD") || slices.Contains(caps, "CAP_NET_RAW") || !slices.Contains(caps, "CAP_CHOWN") {
					t.Errorf("caps %v", caps)
				}
				if !p.NoNewPrivileges || !cfg.NoNewPrivileges || !cfg.Readonlyfs {
					t.Errorf("nnp %v %v readonly %v", p.NoNewPrivileges, cfg.NoNewPrivileges, cfg.Readonlyfs)
				}
				for _, m := range cfg.Mounts {
					if m.Destination == "/etc/hosts" && m.Flags&0x1 == 0 { // MS_RDONLY
						t.Error("/etc/hosts writable with a read-only root")
					}
				}
			},
		},
		{
			name: "drop ALL keeps only the added",
			mod: func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}, Drop: []corev1.Capability{"ALL"}}}
			},
			check: func(t *testing.T, _ *configs.Config, p shim.Process) {
				if diff := cmp.Diff([]string{"CAP_NET_BIND_SERVICE"}, p.Capabilities.Bounding); diff != "" {
					t.Error(diff)
				}
			},
		},
		{
			name: "privileged: every capability, no masks, writable /sys",
			mod: func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.SecurityContext = &corev1.SecurityContext{Privileged: ptr(true), AllowPrivilegeEscalation: ptr(false)}
			},
			check: func(t *testing.T, cfg *configs.Config, p shim.Process) {
				if len(p.Capabilities.Bounding) != len(allCapabilities()) || len(cfg.MaskPaths) != 0 || len(cfg.ReadonlyPaths) != 0 || p.NoNewPrivileges {
					t.Errorf("caps %d masked %v readonly %v nnp %v", len(p.Capabilities.Bounding), cfg.MaskPaths, cfg.ReadonlyPaths, p.NoNewPrivileges)
				}
				for _, m := range cfg.Mounts {
					if m.Destination == "/sys" && m.Flags&0x1 != 0 {
						t.Error("/sys read-only in a privileged container")
					}
				}
				if r := cfg.Cgroups.Resources.Devices[0]; !r.Allow || r.Type != 'a' {
					t.Errorf("first device rule %+v, want allow all", r)
				}
			},
		},
		{
			name: "mounts: kernel filesystems, pod files, shm, termination log, volumes with readOnly and subPath",
			mod: func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.VolumeMounts = []corev1.VolumeMount{
					{Name: "data", MountPath: "/data", ReadOnly: true},
					{Name: "data", MountPath: "/sub", SubPath: "a/b"},
				}
				c.TerminationMessagePath = "/tmp/term"
			},
			check: func(t *testing.T, cfg *configs.Config, _ shim.Process) {
				got := map[string]*configs.Mount{}
				for _, m := range cfg.Mounts {
					got[m.Destination] = m
				}
				for _, d := range []string{"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/dev/shm", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/tmp/term", "/data", "/sub"} {
					if got[d] == nil {
						t.Errorf("no mount at %s", d)
					}
				}
				if m := got["/dev/shm"]; m != nil && m.Source != "/pod/shm" {
					t.Errorf("/dev/shm from %s", m.Source)
				}
				if m := got["/data"]; m != nil && (m.Source != "/vol/data" || m.Flags&0x1 == 0) {
					t.Errorf("/data %+v", m)
				}
				if m := got["/sub"]; m != nil && (m.Source != "/vol/data/a/b" || m.Flags&0x1 != 0) {
					t.Errorf("/sub %+v", m)
				}
				if m := got["/tmp/term"]; m != nil && m.Source != "/pod/termination/abc" {
					t.Errorf("termination log from %s", m.Source)
				}
			},
		},
		{
			name: "subPath escaping the volume",
			mod: func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "../etc"}}
			},
			errMsg: `container c: volume "data": subPath "../etc" must not contain '..'`,
		},
		{
			name: "a volume the kubelet did not prepare",
			mod: func(_ *corev1.Pod, c *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				c.VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}}
			},
			errMsg: `container c: volume "nope" is not prepared`,
		},
		{
			name: "safe sysctls",
			mod: func(pod *corev1.Pod, _ *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65000"}, {Name: "kernel.shm_rmid_forced", Value: "1"}}}
			},
			check: func(t *testing.T, cfg *configs.Config, _ shim.Process) {
				if cfg.Sysctl["net.ipv4.ip_local_port_range"] != "1024 65000" || cfg.Sysctl["kernel.shm_rmid_forced"] != "1" {
					t.Errorf("sysctls %v", cfg.Sysctl)
				}
			},
		},
		{
			name: "unsafe sysctl",
			mod: func(pod *corev1.Pod, _ *corev1.Container, _ *ImageInfo, _ *containerPaths) {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}}
			},
			errMsg: `sysctl "kernel.msgmax" is not allowed (only the safe set is)`,
		},
		{
			name: "hostNetwork and shared PID namespace",
			mod: func(pod *corev1.Pod, _ *corev1.Container, _ *ImageInfo, p *containerPaths) {
				pod.Spec.HostNetwork = true
				p.NetNS, p.UTSNS = "", ""
				p.PidNS = "/proc/42/ns/pid"
			},
			check: func(t *testing.T, cfg *configs.Config, _ shim.Process) {
				if cfg.Namespaces.Contains(configs.NEWNET) || cfg.Namespaces.Contains(configs.NEWUTS) {
					t.Errorf("namespaces %+v", cfg.Namespaces)
				}
				if cfg.Namespaces.PathOf(configs.NEWPID) != "/proc/42/ns/pid" {
					t.Errorf("pid namespace %q", cfg.Namespaces.PathOf(configs.NEWPID))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod, c := base()
			i, p := img, paths
			p.OOMScoreAdjFloor = -1000
			if tt.mod != nil {
				tt.mod(pod, c, &i, &p)
			}
			cfg, proc, err := containerConfig(pod, c, i, p)
			if tt.errMsg != "" {
				var ce *kubelet.ConfigError
				if err == nil || err.Error() != tt.errMsg || !errors.As(err, &ce) {
					t.Fatalf("error %v, want a ConfigError %q", err, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range cfg.Labels {
				if strings.HasPrefix(l, "bundle=") {
					t.Errorf("label %s", l)
				}
			}
			tt.check(t, cfg, proc)
		})
	}
}

func TestOOMScoreAdj(t *testing.T) {
	pod := func(qos corev1.PodQOSClass, mem string) (*corev1.Pod, *corev1.Container) {
		p := &corev1.Pod{Status: corev1.PodStatus{QOSClass: qos}}
		c := corev1.Container{}
		if mem != "" {
			c.Resources.Requests = rl("memory", mem)
		}
		p.Spec.Containers = []corev1.Container{c}
		return p, &p.Spec.Containers[0]
	}
	tests := []struct {
		qos  corev1.PodQOSClass
		mem  string
		want int
	}{
		{corev1.PodQOSGuaranteed, "1Gi", -997},
		{corev1.PodQOSBestEffort, "", 1000},
		{corev1.PodQOSBurstable, "", 999}, // 1000 would equal BestEffort
		{corev1.PodQOSBurstable, "5Gi", 500},
		{corev1.PodQOSBurstable, "10Gi", 3}, // floor: 1000 + -997
	}
	for _, tt := range tests {
		p, c := pod(tt.qos, tt.mem)
		if got := oomScoreAdj(p, c, 10<<30); got != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.qos, tt.mem, got, tt.want)
		}
	}
}

func TestCPUMaths(t *testing.T) {
	for milli, want := range map[int64]uint64{0: 2, 1: 2, 2: 2, 100: 102, 200: 204, 1000: 1024, 300000: 262144} {
		if got := milliCPUToShares(milli); got != want {
			t.Errorf("shares(%d) = %d, want %d", milli, got, want)
		}
	}
	for milli, want := range map[int64]int64{0: 0, 5: 1000, 200: 20000, 1500: 150000} {
		if got := milliCPUToQuota(milli); got != want {
			t.Errorf("quota(%d) = %d, want %d", milli, got, want)
		}
	}
}

func TestPodCgroup(t *testing.T) {
	mk := func(qos corev1.PodQOSClass, cs ...corev1.ResourceRequirements) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "u1"}, Status: corev1.PodStatus{QOSClass: qos}}
		for _, r := range cs {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Resources: r})
		}
		return p
	}
	g := mk(corev1.PodQOSGuaranteed, corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "1", "memory", "1Gi")},
		corev1.ResourceRequirements{Requests: rl("cpu", "500m", "memory", "1Gi"), Limits: rl("cpu", "500m", "memory", "1Gi")})
	if got := podCgroupPath("skiff-n", g); got != "/skiff-n/kubepods/podu1" {
		t.Errorf("guaranteed path %s", got)
	}
	r := podResources(g)
	if r.CpuShares != 1536 || r.CpuQuota != 150000 || r.Memory != 2<<30 {
		t.Errorf("guaranteed resources shares %d quota %d memory %d", r.CpuShares, r.CpuQuota, r.Memory)
	}
	b := mk(corev1.PodQOSBurstable, corev1.ResourceRequirements{Requests: rl("cpu", "100m"), Limits: rl("cpu", "200m")}, corev1.ResourceRequirements{})
	if got := podCgroupPath("skiff-n", b); got != "/skiff-n/kubepods/burstable/podu1" {
		t.Errorf("burstable path %s", got)
	}
	r = podResources(b)
	if r.CpuShares != 102 || r.CpuQuota != 0 || r.Memory != 0 {
		t.Errorf("burstable resources shares %d quota %d memory %d", r.CpuShares, r.CpuQuota, r.Memory)
	}
	be := mk(corev1.PodQOSBestEffort, corev1.ResourceRequirements{})
	if got := podCgroupPath("skiff-n", be); got != "/skiff-n/kubepods/besteffort/podu1" {
		t.Errorf("besteffort path %s", got)
	}
	if r := podResources(be); r.CpuShares != 2 {
		t.Errorf("besteffort shares %d", r.CpuShares)
	}
}

func TestQOSClass(t *testing.T) {
	mk := func(cs ...corev1.ResourceRequirements) *corev1.Pod {
		p := &corev1.Pod{}
		for _, r := range cs {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Resources: r})
		}
		return p
	}
	full := corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "1", "memory", "1Gi")}
	tests := []struct {
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{
		{mk(corev1.ResourceRequirements{}), corev1.PodQOSBestEffort},
		{mk(full, full), corev1.PodQOSGuaranteed},
		{mk(full, corev1.ResourceRequirements{}), corev1.PodQOSBurstable},
		{mk(corev1.ResourceRequirements{Requests: rl("cpu", "1")}), corev1.PodQOSBurstable},
	}
	for i, tt := range tests {
		if got := qosClass(tt.pod); got != tt.want {
			t.Errorf("%d: %s, want %s", i, got, tt.want)
		}
	}
}

func TestHostsFile(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns"},
		Spec: corev1.PodSpec{Hostname: "web-0", Subdomain: "web",
			HostAliases: []corev1.HostAlias{{IP: "10.0.0.9", Hostnames: []string{"foo", "bar"}}}}}
	got := string(hostsFile(pod, []string{"10.42.0.5"}))
	for _, want := range []string{"# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n", "10.42.0.5\tweb-0.web.ns.svc\tweb-0\n", "# Entries added by HostAliases.\n10.0.0.9\tfoo\tbar\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts file lacks %q:\n%s", want, got)
		}
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	for in, want := range map[string]string{
		"$(A)":         "1",
		"x$(B)y":       "xtwoy",
		"$$(A)":        "$(A)",
		"$(C)":         "$(C)",
		"$(A":          "$(A",
		"$A":           "$A",
		"cost $5":      "cost $5",
		"$(A)$(B)$$$$": "1two$$",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}
