package linux

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/cgroups"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/shim"
)

// Version is the runtime's name and version, for node status.
const Version = "skiff-linux://0.1.0"

var _ kubelet.Runtime = (*Runtime)(nil)

// Config configures a Runtime.
type Config struct {
	// Dir holds the runtime's state: <Dir>/pods/<uid>/ (namespace pins, /dev/shm, the pod's
	// files, container root filesystems, the shim's socket and records).
	Dir string
	// LogDir holds container logs, in upstream's layout:
	// <LogDir>/<namespace>_<pod name>_<uid>/<container>/<attempt>.log.
	LogDir string
	// CgroupParent is the node's cgroup (e.g. "skiff-<node name>"); pods go under
	// <CgroupParent>/kubepods[/burstable|/besteffort]/pod<uid>/<container ID>.
	CgroupParent string
	// ShimPath is the skiff-shim binary; empty means "skiff-shim" beside this executable.
	ShimPath string
	// Images gives containers their root filesystems.
	Images ImageSource
	// Network wires pods' network namespaces; nil gives pods nothing but loopback.
	Network PodNetwork
	// VolumePath returns the host directory of a pod volume, prepared by the kubelet.
	VolumePath func(pod *corev1.Pod, volumeName string) (string, error)
	// NodeIP is the IP of hostNetwork pods.
	NodeIP string
	// ResolvConf returns a pod's /etc/resolv.conf; nil copies ResolvConfPath (or, for
	// dnsPolicy None, writes the pod's dnsConfig).
	ResolvConf func(pod *corev1.Pod) ([]byte, error)
	// ResolvConfPath is the resolver configuration pods get a copy of (the agent's
	// --resolv-conf); empty means /etc/resolv.conf.
	ResolvConfPath string
	// LogMaxSize and LogMaxFiles govern the rotation of container logs (0: 10 MiB, 5 files).
	LogMaxSize  int64
	LogMaxFiles int
	// PidsLimit is every container's pids limit (0: none).
	PidsLimit int64
	Log       *slog.Logger
}

// ImageSource is the node's image store, as the runtime needs it.
type ImageSource interface {
	// Present reports whether the image is in the store.
	Present(ctx context.Context, ref string) (bool, error)
	// Pull fetches the image.
	Pull(ctx context.Context, ref string, secrets []corev1.Secret) (ImageInfo, error)
	// Rootfs mounts a writable root filesystem of the image for a container at dir (which the
	// source owns until release is called) and returns its path.
	Rootfs(ctx context.Context, ref string, dir string) (rootfs string, info ImageInfo, release func() error, err error)
}

// RootfsReleaser is implemented by image sources that can release a root filesystem made by an
// earlier process (after an agent restart, the release function is gone). Without it the
// runtime unmounts what is mounted under the directory and removes it.
type RootfsReleaser interface {
	ReleaseRootfs(dir string) error
}

// ImageInfo describes an image.
type ImageInfo struct {
	ID         string
	Size       int64
	Entrypoint []string
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
	StopSignal string
}

// PodNetwork wires pod network namespaces.
type PodNetwork interface {
	// Setup connects the namespace at netnsPath and returns the pod's IPs.
	Setup(ctx context.Context, podUID string, netnsPath string) (ips []string, err error)
	// SetHostPorts publishes the pod's hostPorts on the node, after Setup and only for a pod
	// that has some; Teardown removes them with the rest.
	SetHostPorts(ctx context.Context, podUID string, ports []HostPort) error
	// Teardown undoes Setup; it is called once per Setup, and again after failures.
	Teardown(ctx context.Context, podUID string, netnsPath string) error
}

// HostPort is a container port of a pod published on the node (a ContainerPort with hostPort):
// connections to HostPort on the node (on HostIP only, when set) reach ContainerPort on the pod.
type HostPort struct {
	Protocol      corev1.Protocol // TCP, UDP or SCTP; "" is TCP
	HostIP        string
	HostPort      int32
	ContainerPort int32
}

// podHostPorts lists the hostPorts of a pod's containers and init containers, in order.
func podHostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort > 0 {
					out = append(out, HostPort{Protocol: p.Protocol, HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort})
				}
			}
		}
	}
	return out
}

// Runtime runs pods with libcontainer, through one shim per pod.
type Runtime struct {
	cfg         Config
	log         *slog.Logger
	cgroupV2    bool
	oomFloor    int
	memCapacity int64
	oomOnce     sync.Once

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	handler func(types.UID, time.Time)
	pods    map[types.UID]*podState
	// stopped are the pods whose sandbox StopSandbox removed: their exited containers, kept
	// (with their logs) until RemoveSandbox.
	stopped map[types.UID]*stoppedPod
}

// podState is what the runtime keeps of one pod.
type podState struct {
	meta    podMeta
	dir     string
	client  *shim.Client
	cancel  context.CancelFunc
	mu      sync.Mutex
	release map[string]func() error // container ID -> rootfs release
	lastCPU map[string]cpuSample
}

type cpuSample struct {
	at    time.Time
	usage uint64
}

// podMeta is the pod's record, <pod dir>/pod.json.
type podMeta struct {
	UID          types.UID `json:"uid"`
	Namespace    string    `json:"namespace"`
	Name         string    `json:"name"`
	Hostname     string    `json:"hostname"`
	IPs          []string  `json:"ips,omitempty"`
	HostNetwork  bool      `json:"hostNetwork,omitempty"`
	HostIPC      bool      `json:"hostIPC,omitempty"`
	HostPID      bool      `json:"hostPID,omitempty"`
	SharePID     bool      `json:"sharePID,omitempty"`
	CgroupParent string    `json:"cgroupParent"`
	NetworkSetUp bool      `json:"networkSetUp,omitempty"`
}

// New returns the runtime whose state is under cfg.Dir, re-adopting the pods found there: their
// shims are reconnected (or restarted, if they are gone) and their containers listed as they are.
// Nothing is restarted.
func New(cfg Config) (*Runtime, error) {
	if cfg.Dir == "" || cfg.LogDir == "" {
		return nil, errors.New("linux runtime: Dir and LogDir are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "skiff"
	}
	if cfg.ShimPath == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("linux runtime: locate skiff-shim: %w", err)
		}
		cfg.ShimPath = filepath.Join(filepath.Dir(exe), "skiff-shim")
	}
	if _, err := os.Stat(cfg.ShimPath); err != nil {
		return nil, fmt.Errorf("linux runtime: shim: %w", err)
	}
	for _, d := range []string{filepath.Join(cfg.Dir, "pods"), cfg.LogDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runtime{
		cfg:         cfg,
		log:         cfg.Log,
		cgroupV2:    cgroups.IsCgroup2UnifiedMode(),
		oomFloor:    oomScoreAdjFloor(),
		memCapacity: memoryCapacity(),
		ctx:         ctx,
		cancel:      cancel,
		pods:        map[types.UID]*podState{},
		stopped:     map[types.UID]*stoppedPod{},
	}
	r.loadStopped()
	if err := r.adopt(); err != nil {
		cancel()
		return nil, err
	}
	return r, nil
}

// Close stops watching the shims; it leaves pods and containers as they are (an agent that
// stops does not stop its pods).
func (r *Runtime) Close() {
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pods {
		p.client.Close()
	}
}

// ShimPath returns the skiff-shim binary the runtime starts.
func (r *Runtime) ShimPath() string { return r.cfg.ShimPath }

// ContainerRootfsDir is the directory the runtime gives the image source for a container's
// root filesystem (see ImageSource.Rootfs).
func (r *Runtime) ContainerRootfsDir(uid types.UID, id string) string {
	return filepath.Join(r.podDir(uid), "rootfs", id)
}

// ListSandboxes returns the pods that have a sandbox, those created by this process and those
// re-adopted at start (the kubelet removes the ones whose pods are gone).
func (r *Runtime) ListSandboxes(ctx context.Context) ([]types.UID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]types.UID, 0, len(r.pods)+len(r.stopped))
	for uid := range r.pods {
		out = append(out, uid)
	}
	for uid := range r.stopped {
		if r.pods[uid] == nil {
			out = append(out, uid)
		}
	}
	return out, nil
}

// SetEventHandler registers the function told that a pod's containers changed.
func (r *Runtime) SetEventHandler(h func(uid types.UID, at time.Time)) {
	r.mu.Lock()
	r.handler = h
	r.mu.Unlock()
}

func (r *Runtime) notify(uid types.UID, at time.Time) {
	r.mu.Lock()
	h := r.handler
	r.mu.Unlock()
	if h != nil {
		h(uid, at)
	}
}

func (r *Runtime) podDir(uid types.UID) string {
	return filepath.Join(r.cfg.Dir, "pods", string(uid))
}

func (r *Runtime) pod(uid types.UID) (*podState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pods[uid]
	if !ok {
		return nil, fmt.Errorf("pod %s has no sandbox", uid)
	}
	return p, nil
}

// adopt finds the pods under Dir and reconnects to their shims.
func (r *Runtime) adopt() error {
	entries, err := os.ReadDir(filepath.Join(r.cfg.Dir, "pods"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		dir := filepath.Join(r.cfg.Dir, "pods", e.Name())
		meta, err := readMeta(dir)
		if err != nil {
			r.log.Warn("pod directory without a record, left alone", "dir", dir, "err", err)
			continue
		}
		p := &podState{meta: meta, dir: dir, client: shim.NewClient(filepath.Join(dir, shim.SocketName)),
			release: map[string]func() error{}, lastCPU: map[string]cpuSample{}}
		ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		_, err = p.client.Info(ctx)
		cancel()
		if err != nil {
			r.log.Info("pod's shim is gone, starting a new one", "pod", meta.Namespace+"/"+meta.Name, "err", err)
			if err := r.startShim(p); err != nil {
				r.log.Error("restart shim", "pod", meta.Namespace+"/"+meta.Name, "err", err)
			}
		}
		r.pods[meta.UID] = p
		r.watch(p)
		r.log.Info("re-adopted pod", "pod", meta.Namespace+"/"+meta.Name, "uid", meta.UID)
	}
	return nil
}

func readMeta(dir string) (podMeta, error) {
	var m podMeta
	b, err := os.ReadFile(filepath.Join(dir, "pod.json"))
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(b, &m)
	if err == nil && m.UID == "" {
		err = errors.New("no uid")
	}
	return m, err
}

func writeMeta(dir string, m podMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "pod.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "pod.json"))
}

// watch follows the pod's shim events until the pod goes or the runtime closes.
func (r *Runtime) watch(p *podState) {
	ctx, cancel := context.WithCancel(r.ctx)
	p.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		broken := false
		for {
			err := p.client.Events(ctx, func(ev shim.Event) {
				if broken {
					broken = false
					r.notify(p.meta.UID, time.Now()) // what was missed meanwhile
				}
				r.notify(p.meta.UID, ev.Time)
			})
			if ctx.Err() != nil {
				return
			}
			if !broken {
				r.log.Debug("shim events", "pod", p.meta.Name, "err", err)
			}
			broken = true
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
}

// ImagePresent reports whether the image is in the node's store.
func (r *Runtime) ImagePresent(ctx context.Context, image string) (bool, error) {
	if r.cfg.Images == nil {
		return false, errors.New("no image store")
	}
	return r.cfg.Images.Present(ctx, image)
}

// PullImage pulls the image and returns its size.
func (r *Runtime) PullImage(ctx context.Context, image string, secrets []corev1.Secret) (int64, error) {
	if r.cfg.Images == nil {
		return 0, errors.New("no image store")
	}
	info, err := r.cfg.Images.Pull(ctx, image, secrets)
	return info.Size, err
}

// oomScoreAdjFloor is the lowest oom_score_adj this process may give its children: anything
// from -1000 with CAP_SYS_RESOURCE, otherwise no lower than its own.
func oomScoreAdjFloor() int {
	own := 0
	if b, err := os.ReadFile("/proc/self/oom_score_adj"); err == nil {
		own, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if hasCapability(24) { // CAP_SYS_RESOURCE
		return -1000
	}
	return own
}

// hasCapability reads CapEff from /proc/self/status.
func hasCapability(bit uint) bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<bit) != 0
		}
	}
	return false
}

// memoryCapacity is MemTotal in bytes.
func memoryCapacity() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			fields := strings.Fields(v)
			if len(fields) > 0 {
				kb, _ := strconv.ParseInt(fields[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
