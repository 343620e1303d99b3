package kubelet_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	fakeclient "k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/kubelet/eviction"
	"github.com/skiff-project/skiff/internal/runtime/fake"
)

// fakeStats is a StatsProvider whose observations the test sets.
type fakeStats struct {
	mu   sync.Mutex
	obs  eviction.Observations
	pods map[string]eviction.PodStats // by pod name
	disk []string                     // pods measured with disk
}

func (s *fakeStats) set(signal eviction.Signal, available, capacity int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.obs[signal] = eviction.Observation{Available: available, Capacity: capacity}
}

func (s *fakeStats) NodeStats(context.Context) (eviction.Observations, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := eviction.Observations{}
	for k, v := range s.obs {
		out[k] = v
	}
	return out, nil
}

func (s *fakeStats) PodStats(_ context.Context, pod *corev1.Pod, disk bool) (eviction.PodStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if disk {
		s.disk = append(s.disk, pod.Name)
	}
	st, ok := s.pods[pod.Name]
	if !ok {
		return st, fmt.Errorf("no stats for %s", pod.Name)
	}
	return st, nil
}

const (
	mi = int64(1) << 20
	gi = int64(1) << 30
)

// evictionPod is a running pod of one container "app"; mem is its memory request and limit
// ("" for a BestEffort pod).
func evictionPod(name, mem string, priority int32) *corev1.Pod {
	c := corev1.Container{Name: "app", Image: "busybox"}
	if mem != "" {
		q := resource.MustParse(mem)
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: q, corev1.ResourceCPU: resource.MustParse("100m")}
		c.Resources.Limits = c.Resources.Requests
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Spec: corev1.PodSpec{NodeName: "n1", RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{c},
			Priority: ptr.To(priority), TerminationGracePeriodSeconds: ptr.To[int64](30)},
	}
}

type evictionNode struct {
	*kubelet.TestNode
	client *fakeclient.Clientset
	stats  *fakeStats
	// reclaimed counts the image GCs; onReclaim, if set, is what one does.
	reclaimed int
	onReclaim func()
}

func newEvictionNode(t *testing.T, hard string, pods ...*corev1.Pod) *evictionNode {
	t.Helper()
	clk := testingclock.NewFakeClock(t0)
	client := fakeclient.NewClientset()
	for _, p := range pods {
		if _, err := client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ths, err := eviction.ParseThresholds(hard)
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStats{obs: eviction.Observations{
		eviction.SignalMemoryAvailable: {Available: 4 * gi, Capacity: 8 * gi},
		eviction.SignalNodeFsAvailable: {Available: 50 * gi, Capacity: 100 * gi},
	}, pods: map[string]eviction.PodStats{}}
	n := &evictionNode{client: client, stats: st}
	cfg := kubelet.Config{NodeName: "n1", CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"),
		PodCIDRs: []string{"10.64.1.0/24"}, Stats: st, EvictionHard: ths,
		ReclaimImages: func(context.Context) error {
			n.reclaimed++
			if n.onReclaim != nil {
				n.onReclaim()
			}
			return nil
		}}
	n.TestNode = kubelet.NewTestNode(cfg, client, fake.New(clk), clk)
	n.RunUntil(t0)
	for _, p := range pods {
		n.KL.HandlePod(p.DeepCopy())
	}
	n.RunUntil(t0.Add(time.Second))
	n.Events.TakeNode()
	n.Events.Take()
	return n
}

func (n *evictionNode) at(s int) { n.RunUntil(t0.Add(time.Duration(s) * time.Second)) }

func (n *evictionNode) phase(t *testing.T, name string) string {
	t.Helper()
	p, err := n.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := string(p.Status.Phase)
	if p.Status.Reason != "" {
		s += "(" + p.Status.Reason + ": " + p.Status.Message + ")"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			s += fmt.Sprintf(" %s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	return s
}

// conditions summarizes the Node's pressure conditions in the API.
func (n *evictionNode) conditions(t *testing.T) string {
	t.Helper()
	node, err := n.client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeReady {
			out = append(out, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
		}
	}
	return strings.Join(out, " ")
}

const (
	noPressure   = "MemoryPressure=False(KubeletHasSufficientMemory: kubelet has sufficient memory available) DiskPressure=False(KubeletHasNoDiskPressure: kubelet has no disk pressure) PIDPressure=False(KubeletHasSufficientPID: kubelet has sufficient PID available)"
	memPressure  = "MemoryPressure=True(KubeletHasInsufficientMemory: kubelet has insufficient memory available) DiskPressure=False(KubeletHasNoDiskPressure: kubelet has no disk pressure) PIDPressure=False(KubeletHasSufficientPID: kubelet has sufficient PID available)"
	diskPressure = "MemoryPressure=False(KubeletHasSufficientMemory: kubelet has sufficient memory available) DiskPressure=True(KubeletHasDiskPressure: kubelet has disk pressure) PIDPressure=False(KubeletHasSufficientPID: kubelet has sufficient PID available)"
)

func TestEvictionUnderMemoryPressure(t *testing.T) {
	n := newEvictionNode(t, "memory.available<100Mi",
		evictionPod("besteffort", "", 0), evictionPod("guaranteed", "1Gi", 0), evictionPod("critical", "", eviction.SystemCriticalPriority))
	n.stats.pods["besteffort"] = eviction.PodStats{Memory: 70 * mi, Containers: []eviction.ContainerStats{{Name: "app", Memory: 70 * mi}}}
	n.stats.pods["guaranteed"] = eviction.PodStats{Memory: 500 * mi, Containers: []eviction.ContainerStats{{Name: "app", Memory: 500 * mi}}}
	n.stats.pods["critical"] = eviction.PodStats{Memory: 2 * gi, Containers: []eviction.ContainerStats{{Name: "app", Memory: 2 * gi}}}
	defer n.Stop()

	n.at(9)
	if got := n.conditions(t); got != noPressure {
		t.Fatalf("before any pressure: %s", got)
	}
	for _, p := range []string{"besteffort", "guaranteed", "critical"} {
		if got := n.phase(t, p); got != "Running" {
			t.Fatalf("%s: %s", p, got)
		}
	}

	// The first round (10 s after start) sees 50Mi available: MemoryPressure, and the
	// BestEffort pod goes first; the critical pod, the largest, never goes.
	n.stats.set(eviction.SignalMemoryAvailable, 50*mi, 8*gi)
	n.at(12)
	if got := n.conditions(t); got != memPressure {
		t.Errorf("under memory pressure: %s", got)
	}
	const msg = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container app was using 70Mi, request is 0, has larger consumption of memory. "
	if got, want := n.phase(t, "besteffort"), "Failed(Evicted: "+msg+") DisruptionTarget=True(TerminationByKubelet: "+msg+")"; got != want {
		t.Errorf("evicted pod:\n got %s\nwant %s", got, want)
	}
	if got, want := strings.Join(n.Events.TakeNode(), "\n"), "Warning EvictionThresholdMet node: Attempting to reclaim memory\n"+
		"Normal NodeHasInsufficientMemory node: Node n1 status is now: NodeHasInsufficientMemory"; got != want {
		t.Errorf("node events:\n got %s\nwant %s", got, want)
	}
	events := strings.Join(n.Events.Take(), "\n")
	if !strings.Contains(events, "Warning Evicted: "+msg) || !strings.Contains(events, "Normal Killing spec.containers{app}: Stopping container app") {
		t.Errorf("events:\n%s", events)
	}
	if got := n.phase(t, "guaranteed"); got != "Running" {
		t.Errorf("one pod a round: the guaranteed pod is %s", got)
	}

	// Under MemoryPressure, a new BestEffort pod is refused; a Guaranteed one is admitted.
	late, ok := evictionPod("late", "", 0), evictionPod("late-guaranteed", "64Mi", 100)
	for _, p := range []*corev1.Pod{late, ok} {
		if _, err := n.client.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		n.KL.HandlePod(p)
	}
	n.stats.pods["late-guaranteed"] = eviction.PodStats{Memory: 1 * mi}
	n.at(13)
	if got, want := n.phase(t, "late"), "Failed(Evicted: Pod was rejected: The node had condition: [MemoryPressure]. )"; got != want {
		t.Errorf("BestEffort pod under memory pressure:\n got %s\nwant %s", got, want)
	}
	if got := n.phase(t, "late-guaranteed"); got != "Running" {
		t.Errorf("Guaranteed pod under memory pressure: %s", got)
	}
	n.Events.Take()

	// Still short at the next round: the guaranteed pod, the next in rank (under its
	// requests like late-guaranteed, whose priority is higher).
	n.at(22)
	const msg2 = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. "
	if got, want := n.phase(t, "guaranteed"), "Failed(Evicted: "+msg2+") DisruptionTarget=True(TerminationByKubelet: "+msg2+")"; got != want {
		t.Errorf("second round: guaranteed pod\n got %s\nwant %s", got, want)
	}
	if got := n.phase(t, "late-guaranteed"); got != "Running" {
		t.Errorf("second round: late-guaranteed %s", got)
	}

	// Memory comes back: nothing more is evicted, but the condition stays True for the
	// transition period (5 minutes after the round at 20 s that last saw pressure).
	n.stats.set(eviction.SignalMemoryAvailable, 4*gi, 8*gi)
	n.at(300)
	if got := n.conditions(t); got != memPressure {
		t.Errorf("within the transition period: %s", got)
	}
	if got := n.phase(t, "late-guaranteed"); got != "Running" {
		t.Errorf("without pressure: late-guaranteed %s", got)
	}
	n.at(321)
	if got := n.conditions(t); got != noPressure {
		t.Errorf("after the transition period: %s", got)
	}
	if evs := n.Events.TakeNode(); len(evs) == 0 || evs[len(evs)-1] != "Normal NodeHasSufficientMemory node: Node n1 status is now: NodeHasSufficientMemory" {
		t.Errorf("node events at the end of the pressure: %q", evs)
	}
	if got := n.phase(t, "critical"); got != "Running" {
		t.Errorf("the critical pod: %s", got)
	}
}

func TestEvictionUnderDiskPressure(t *testing.T) {
	n := newEvictionNode(t, "nodefs.available<10%", evictionPod("small", "", 0), evictionPod("large", "", 0))
	defer n.Stop()
	n.stats.pods["small"] = eviction.PodStats{EphemeralStorage: 1 * mi, Containers: []eviction.ContainerStats{{Name: "app", EphemeralStorage: 1 * mi}}}
	n.stats.pods["large"] = eviction.PodStats{EphemeralStorage: 3 * gi, Containers: []eviction.ContainerStats{{Name: "app", EphemeralStorage: 3 * gi}}}

	// The first round: image GC runs first, frees nothing here, so the largest user goes.
	n.stats.set(eviction.SignalNodeFsAvailable, 5*gi, 100*gi)
	n.at(10)
	if n.reclaimed != 1 {
		t.Errorf("image GC ran %d times, want once before evicting", n.reclaimed)
	}
	if got := n.conditions(t); got != diskPressure {
		t.Errorf("under disk pressure: %s", got)
	}
	const msg = "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5Gi. Container app was using 3Gi, request is 0, has larger consumption of ephemeral-storage. "
	if got := n.phase(t, "large"); !strings.HasPrefix(got, "Failed(Evicted: "+msg+")") {
		t.Errorf("largest disk user:\n got %s\nwant Failed(Evicted: %s)", got, msg)
	}
	if got := n.phase(t, "small"); got != "Running" {
		t.Errorf("small: %s", got)
	}
	if got := strings.Join(n.stats.disk, " "); got != "large small" {
		t.Errorf("pods measured with disk: %q", got)
	}
	// Under DiskPressure every new pod is refused, Guaranteed ones too.
	p := evictionPod("new", "64Mi", 0)
	if _, err := n.client.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	n.KL.HandlePod(p)
	n.at(11)
	if got, want := n.phase(t, "new"), "Failed(Evicted: Pod was rejected: The node had condition: [DiskPressure]. )"; got != want {
		t.Errorf("new pod under disk pressure:\n got %s\nwant %s", got, want)
	}
	// The next round's image GC frees enough: no pod is evicted.
	n.onReclaim = func() { n.stats.set(eviction.SignalNodeFsAvailable, 50*gi, 100*gi) }
	n.at(20)
	if n.reclaimed != 2 {
		t.Errorf("image GC ran %d times, want twice", n.reclaimed)
	}
	if got := n.phase(t, "small"); got != "Running" {
		t.Errorf("reclaimed at node level, yet small is %s", got)
	}
	if got := n.conditions(t); got != diskPressure {
		t.Errorf("DiskPressure stays for the transition period: %s", got)
	}
}
