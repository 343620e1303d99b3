package kubelet

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/kubelet/eviction"
)

// Upstream's timings.
const (
	// LeaseDuration is the node Lease's leaseDurationSeconds.
	LeaseDuration = 40 * time.Second
	// LeaseRenewInterval is how often the Lease is renewed (a quarter of its duration).
	LeaseRenewInterval = 10 * time.Second
	// NodeStatusUpdateFrequency is how often the node status is computed.
	NodeStatusUpdateFrequency = 10 * time.Second
	// NodeStatusReportFrequency is how often the node status is sent when nothing changed.
	NodeStatusReportFrequency = 5 * time.Minute
	// InitialBackOff and MaxBackOff bound CrashLoopBackOff; an entry resets after a container
	// ran clean for 2*MaxBackOff (10 minutes).
	InitialBackOff = 10 * time.Second
	MaxBackOff     = 300 * time.Second
	// maxLeaseBackOff caps the back-off between failed attempts to create the Lease.
	maxLeaseBackOff = 7 * time.Second
	// maxLeaseUpdateRetries is how many immediate retries a failed Lease update gets.
	maxLeaseUpdateRetries = 5
	// LeaseNamespace holds the nodes' Leases.
	LeaseNamespace = "kube-node-lease"
)

// Config describes one node.
type Config struct {
	NodeName string
	// CPU, Memory and EphemeralStorage are the node's capacity, also its allocatable.
	CPU, Memory, EphemeralStorage resource.Quantity
	// MaxPods is the pods capacity (upstream's default: 110).
	MaxPods int
	// Labels are added to the well-known ones; Taints are registered with the Node.
	Labels map[string]string
	Taints []corev1.Taint
	// Addresses are the node's addresses; the first InternalIP is the pods' hostIP.
	Addresses []corev1.NodeAddress
	// OS and Arch default to linux and amd64.
	OS, Arch string
	// KubeletVersion and RuntimeVersion go to status.nodeInfo.
	KubeletVersion, RuntimeVersion string
	// KubeletPort is the port of the node's streaming server (internal/kubelet/streaming),
	// reported in status.daemonEndpoints.kubeletEndpoint for the API server to proxy logs, exec
	// and port-forward to; 0 (simulated nodes) says there is none, and the API server answers
	// those requests with 503.
	KubeletPort int32
	// PodCIDRs is used until the Node has spec.podCIDRs (tests set it; nodeipam sets the Node's).
	PodCIDRs []string

	// The fields below are for nodes that run real containers; simulated nodes leave them
	// unset.

	// PodsDir, if set, is where the kubelet prepares pods' volumes (see VolumeDir); empty: no
	// volume is prepared.
	PodsDir string
	// Environment makes the kubelet resolve each container's env and envFrom to literal values
	// (ConfigMaps, Secrets, the downward API, resources, Service variables) and expand $(VAR)
	// in its command and args before CreateContainer, reading the ConfigMaps and Secrets its
	// pods use and their imagePullSecrets. Simulated nodes, which may not read them, leave it
	// off and pass containers as they are.
	Environment bool
	// VolumeResync is how often ConfigMap, Secret, downward API and projected volumes are
	// compared with their sources besides the watches that update them (default 60s).
	VolumeResync time.Duration
	// SystemInfo, when its MachineID is set, is the node's status.nodeInfo (the versions,
	// OS and architecture fields are filled from the fields above).
	SystemInfo corev1.NodeSystemInfo
	// ReadyCheck, if set, says why the node is not ready (nil: it is); the Ready condition
	// is False with reason KubeletNotReady and that message until it returns nil.
	ReadyCheck func() error

	// Node-pressure eviction (see internal/kubelet/eviction) runs on nodes that measure
	// themselves: Stats, or a Runtime that implements StatsProvider.
	Stats StatsProvider
	// EvictionHard are the hard eviction thresholds (--eviction-hard); nil means upstream's
	// defaults (eviction.DefaultThresholds), an empty list none.
	EvictionHard []eviction.Threshold
	// EvictionPressureTransitionPeriod is how long a pressure condition stays True after its
	// threshold was last met (default 5m).
	EvictionPressureTransitionPeriod time.Duration
	// ReclaimImages, if set, removes the images no container uses; under disk pressure the
	// eviction loop calls it before it evicts pods.
	ReclaimImages func(ctx context.Context) error
}

func (c *Config) setDefaults() {
	if c.MaxPods == 0 {
		c.MaxPods = 110
	}
	if c.OS == "" {
		c.OS = "linux"
	}
	if c.Arch == "" {
		c.Arch = "amd64"
	}
	if c.KubeletVersion == "" {
		c.KubeletVersion = "v0.0.0-skiff"
	}
	if c.EphemeralStorage.IsZero() {
		c.EphemeralStorage = resource.MustParse("100Gi")
	}
	if c.VolumeResync == 0 {
		c.VolumeResync = time.Minute
	}
	if c.EvictionHard == nil {
		c.EvictionHard = eviction.DefaultThresholds()
	}
	c.EvictionPressureTransitionPeriod = evictionPeriod(c.EvictionPressureTransitionPeriod)
}

// workKind says what a work item does.
type workKind uint8

const (
	workNode         workKind = iota // register, renew the Lease, report the node status
	workPod                          // sync one pod
	workStatus                       // send one pod's status, then delete it if it is finished
	workHousekeeping                 // remove sandboxes and volumes of pods that are gone
	workEviction                     // node-pressure eviction: conditions, then evict one pod
)

// housekeepingPeriod is how often the kubelet looks for sandboxes and volume directories of
// pods it no longer knows.
const housekeepingPeriod = 10 * time.Second

// workKey is one unit of work; the Host runs each key at most once at a time.
type workKey struct {
	kl   *Kubelet
	kind workKind
	uid  types.UID
}

// scheduler runs work items at (or soon after) a given time. Scheduling a key already waiting
// keeps the earlier time.
type scheduler interface {
	schedule(k workKey, at time.Time)
}

// Kubelet is one node's agent. Its work runs on a Host, which it shares with other kubelets in
// the same process (skiff simulate runs thousands).
type Kubelet struct {
	cfg      Config
	client   kubernetes.Interface
	clock    clock.Clock
	recorder record.EventRecorder
	runtime  Runtime
	sched    scheduler
	log      *slog.Logger
	backoff  *flowcontrol.Backoff
	prober   prober
	hostIPs  []corev1.HostIP

	// stagger spreads the nodes' heartbeats over the renew interval.
	stagger time.Duration

	// Set for nodes that run real containers (Config.Environment, Config.PodsDir).
	objects  *objectCache
	tokens   *tokenManager
	volumes  *volumeManager
	services func() ([]*corev1.Service, bool)

	// Node-pressure eviction: stats is nil on nodes that do not measure themselves.
	stats      StatsProvider
	thresholds []eviction.Threshold
	pressure   eviction.Pressure // owned by the eviction work item

	mu       sync.Mutex
	node     *corev1.Node // latest seen: informer or our own writes
	podCIDRs []string
	workers  map[types.UID]*podWorker
	stopped  bool
	// pressureConds are the node's pressure conditions that are True.
	pressureConds []corev1.NodeConditionType

	// Owned by the node work item.
	registered   bool
	lease        *coordinationv1.Lease
	leaseBackoff time.Duration
	lastReport   time.Time
	lastStatus   *corev1.NodeStatus
}

// newKubelet builds a kubelet; the Host's Add and the tests call it.
func newKubelet(cfg Config, client kubernetes.Interface, rt Runtime, clk clock.Clock, rec record.EventRecorder, sched scheduler, log *slog.Logger) *Kubelet {
	cfg.setDefaults()
	h := fnv.New32a()
	h.Write([]byte(cfg.NodeName))
	kl := &Kubelet{
		cfg: cfg, client: client, clock: clk, recorder: rec, runtime: rt, sched: sched, log: log,
		backoff:    flowcontrol.NewFakeBackOff(InitialBackOff, MaxBackOff, clk),
		prober:     netProber{},
		stagger:    time.Duration(h.Sum32()%10000) * time.Millisecond,
		workers:    map[types.UID]*podWorker{},
		podCIDRs:   cfg.PodCIDRs,
		stats:      cfg.Stats,
		thresholds: cfg.EvictionHard,
	}
	if sp, ok := rt.(StatsProvider); ok && kl.stats == nil {
		kl.stats = sp
	}
	for _, a := range cfg.Addresses {
		if a.Type == corev1.NodeInternalIP {
			kl.hostIPs = append(kl.hostIPs, corev1.HostIP{IP: a.Address})
		}
	}
	if cfg.Environment || cfg.PodsDir != "" {
		kl.objects = newObjectCache(client, log, func(uids []types.UID) {
			now := kl.clock.Now()
			for _, uid := range uids {
				kl.sched.schedule(workKey{kl: kl, kind: workPod, uid: uid}, now)
			}
		})
		kl.tokens = newTokenManager(client, clk)
	}
	if cfg.PodsDir != "" {
		kl.volumes = newVolumeManager(cfg.PodsDir, func() int64 { return kl.cfg.Memory.Value() })
	}
	rt.SetEventHandler(func(uid types.UID, at time.Time) {
		// Remember changes announced for later: a wake-up may be replaced by an earlier one,
		// and the worker re-derives the rest from its state.
		if w := kl.worker(uid); w != nil && at.After(kl.clock.Now()) {
			w.mu.Lock()
			w.wakes = append(w.wakes, at)
			w.mu.Unlock()
		}
		kl.sched.schedule(workKey{kl: kl, kind: workPod, uid: uid}, at)
	})
	return kl
}

// NodeName returns the name of the kubelet's node.
func (kl *Kubelet) NodeName() string { return kl.cfg.NodeName }

// process runs one work item.
func (kl *Kubelet) process(ctx context.Context, k workKey) {
	kl.mu.Lock()
	stopped := kl.stopped
	kl.mu.Unlock()
	if stopped {
		return
	}
	switch k.kind {
	case workNode:
		kl.syncNode(ctx)
	case workPod:
		kl.syncPod(ctx, k.uid)
	case workStatus:
		kl.syncStatus(ctx, k.uid)
	case workHousekeeping:
		kl.housekeeping(ctx)
	case workEviction:
		kl.syncEviction(ctx)
	}
}

// start schedules the kubelet's first heartbeat and eviction round.
func (kl *Kubelet) start() {
	kl.sched.schedule(workKey{kl: kl, kind: workNode}, kl.clock.Now())
	kl.startEviction()
}

// stop makes the kubelet do nothing more: no heartbeats, no status. To the control plane it looks
// like the machine disappeared.
func (kl *Kubelet) stop() {
	kl.mu.Lock()
	kl.stopped = true
	kl.mu.Unlock()
	if kl.objects != nil {
		kl.objects.stop()
	}
}

// UpdateNodeStatus has the node's status computed and reported now (after ReadyCheck's answer
// changed, say) rather than at the next heartbeat.
func (kl *Kubelet) UpdateNodeStatus() {
	kl.sched.schedule(workKey{kl: kl, kind: workNode}, kl.clock.Now())
}

// VolumePath returns the host path of pod's volume name (see VolumePath); the runtime mounts
// it into containers.
func (kl *Kubelet) VolumePath(pod *corev1.Pod, name string) (string, error) {
	return VolumePath(kl.cfg.PodsDir, pod, name)
}

// setNode records the latest Node seen and reacts to a new podCIDR.
func (kl *Kubelet) setNode(n *corev1.Node) {
	kl.mu.Lock()
	if kl.node != nil && n.ResourceVersion != "" && kl.node.ResourceVersion != "" && resourceVersionLess(n.ResourceVersion, kl.node.ResourceVersion) {
		kl.mu.Unlock()
		return
	}
	kl.node = n
	var waiting []types.UID
	if len(n.Spec.PodCIDRs) > 0 && len(kl.podCIDRs) == 0 {
		kl.podCIDRs = n.Spec.PodCIDRs
		for uid, w := range kl.workers {
			if !w.sandboxReady {
				waiting = append(waiting, uid)
			}
		}
	} else if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" && len(kl.podCIDRs) == 0 {
		kl.podCIDRs = []string{n.Spec.PodCIDR}
	}
	kl.mu.Unlock()
	now := kl.clock.Now()
	for _, uid := range waiting {
		kl.sched.schedule(workKey{kl: kl, kind: workPod, uid: uid}, now)
	}
}

// resourceVersionLess compares two resourceVersions (etcd revisions: decimal, no leading zeros).
func resourceVersionLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// HandlePod tells the kubelet that pod (bound to its node) was added or changed.
func (kl *Kubelet) HandlePod(pod *corev1.Pod) {
	kl.mu.Lock()
	w := kl.workers[pod.UID]
	if w == nil {
		w = &podWorker{uid: pod.UID, containers: map[string]*containerState{}}
		kl.workers[pod.UID] = w
	}
	kl.mu.Unlock()
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	kl.sched.schedule(workKey{kl: kl, kind: workPod, uid: pod.UID}, kl.clock.Now())
}

// HandlePodRemoved tells the kubelet that pod is gone from the API (or from its node).
func (kl *Kubelet) HandlePodRemoved(uid types.UID) {
	kl.mu.Lock()
	w := kl.workers[uid]
	kl.mu.Unlock()
	if w == nil {
		return
	}
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	kl.sched.schedule(workKey{kl: kl, kind: workPod, uid: uid}, kl.clock.Now())
}

func (kl *Kubelet) worker(uid types.UID) *podWorker {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	return kl.workers[uid]
}

// PodStatus returns the status the kubelet last computed for the pod.
func (kl *Kubelet) PodStatus(uid types.UID) (*corev1.PodStatus, bool) {
	w := kl.worker(uid)
	if w == nil {
		return nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == nil {
		return nil, false
	}
	return w.status.DeepCopy(), true
}
