package agent_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestNodePressureEviction runs a node whose memory threshold is certainly met
// (memory.available<1000Gi on a machine of 24 GiB): the node reports MemoryPressure, evicts
// its BestEffort pod first and its Guaranteed pod a round later (the pressure never goes),
// both end Failed/Evicted with upstream's message, condition and event, and a new BestEffort
// pod is refused at admission.
func TestNodePressureEviction(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	sleeper := func(name string, mem string) *corev1.Pod {
		ctr := corev1.Container{Name: "app", Image: c.busybox, Command: []string{"sleep", "3600"}}
		if mem != "" {
			r := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse(mem)}
			ctr.Resources = corev1.ResourceRequirements{Requests: r, Limits: r}
		}
		// Bound by hand, so that nothing but the kubelet decides; a long grace period that
		// eviction ignores.
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			NodeName: c.node, TerminationGracePeriodSeconds: ptr.To[int64](60), Containers: []corev1.Container{ctr}}}
	}
	running := func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }
	c.createPod(sleeper("besteffort", ""))
	c.createPod(sleeper("guaranteed", "64Mi"))
	c.waitPod("besteffort", 60*time.Second, "Running", running)
	if p := c.waitPod("guaranteed", 60*time.Second, "Running", running); p.Status.QOSClass != corev1.PodQOSGuaranteed {
		t.Fatalf("guaranteed pod has QoS class %s", p.Status.QOSClass)
	}

	// The same node again, now with a threshold it cannot satisfy. Its first eviction round
	// comes 10 s after start, once the running pods are admitted again.
	c.killAgent(syscall.SIGTERM)
	c.evictionHard = "memory.available<1000Gi"
	c.startAgent()

	c.waitPressure(corev1.NodeMemoryPressure, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")

	evicted := func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed }
	be := c.waitPod("besteffort", 60*time.Second, "evicted", evicted)
	g, err := c.client.CoreV1().Pods("default").Get(ctx, "guaranteed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Status.Phase != corev1.PodRunning {
		t.Errorf("when the BestEffort pod was evicted, the Guaranteed one was %s (%s: %s), want Running", g.Status.Phase, g.Status.Reason, g.Status.Message)
	}
	const low = "The node was low on resource: memory. Threshold quantity: 1000Gi, available: "
	checkEvicted := func(p *corev1.Pod, container bool) time.Time {
		t.Helper()
		t.Logf("pod %s: %s %s: %s", p.Name, p.Status.Phase, p.Status.Reason, p.Status.Message)
		if p.Status.Reason != "Evicted" || !strings.HasPrefix(p.Status.Message, low) {
			t.Errorf("pod %s: reason %q, message %q", p.Name, p.Status.Reason, p.Status.Message)
		}
		if got := strings.Contains(p.Status.Message, "Container app was using "); got != container {
			t.Errorf("pod %s: message %q: naming the container: %v, want %v", p.Name, p.Status.Message, got, container)
		}
		var at time.Time
		found := false
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.DisruptionTarget {
				found = true
				at = cond.LastTransitionTime.Time
				if cond.Status != corev1.ConditionTrue || cond.Reason != "TerminationByKubelet" || cond.Message != p.Status.Message {
					t.Errorf("pod %s: DisruptionTarget %+v", p.Name, cond)
				}
			}
		}
		if !found {
			t.Errorf("pod %s: no DisruptionTarget condition in %v", p.Name, p.Status.Conditions)
		}
		if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil {
			t.Errorf("pod %s: containers %+v, want terminated", p.Name, cs)
		}
		return at
	}
	// A BestEffort pod uses more than its requests (none): its container is named.
	beAt := checkEvicted(be, true)

	// Under MemoryPressure a new BestEffort pod is refused.
	c.createPod(sleeper("late", ""))
	late := c.waitPod("late", 30*time.Second, "refused", evicted)
	if late.Status.Reason != "Evicted" || late.Status.Message != "Pod was rejected: The node had condition: [MemoryPressure]. " {
		t.Errorf("late pod: %q: %q", late.Status.Reason, late.Status.Message)
	}

	// The pressure stays, so the Guaranteed pod goes a round later. It uses less than it
	// requested: no container is named.
	g = c.waitPod("guaranteed", 60*time.Second, "evicted", evicted)
	if gAt := checkEvicted(g, false); !gAt.After(beAt) {
		t.Errorf("the Guaranteed pod was evicted at %v, not after the BestEffort one (%v)", gAt, beAt)
	}

	c.eventually(20*time.Second, "Evicted events", func() string {
		evs, err := c.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err.Error()
		}
		got := map[string]string{}
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == "Evicted" {
				got[e.InvolvedObject.Name] = e.Message
			}
		}
		for _, p := range []*corev1.Pod{be, g} {
			if got[p.Name] != p.Status.Message {
				return fmt.Sprintf("events %v: want %s's %q", got, p.Name, p.Status.Message)
			}
		}
		if got["late"] != "The node had condition: [MemoryPressure]. " {
			return fmt.Sprintf("events %v: want the refusal of late", got)
		}
		return ""
	})
	for _, line := range strings.Split(c.log(), "\n") {
		if strings.Contains(line, "eviction manager") {
			t.Log(line)
		}
	}
}

// waitPressure waits for the node's condition typ to be True with upstream's reason and
// message.
func (c *cluster) waitPressure(typ corev1.NodeConditionType, reason, message string) {
	c.t.Helper()
	c.eventually(60*time.Second, string(typ), func() string {
		n, err := c.client.CoreV1().Nodes().Get(context.Background(), c.node, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == typ {
				if cond.Status == corev1.ConditionTrue && cond.Reason == reason && cond.Message == message {
					return ""
				}
				return fmt.Sprintf("%+v", cond)
			}
		}
		return "no condition " + string(typ)
	})
}

// TestNodePressureEvictionDisk: under disk pressure (nodefs.available<99%, certainly met), the
// node reports DiskPressure, measures its pods' ephemeral storage (writable layers, logs,
// emptyDir volumes), evicts the largest user first, naming its container and usage, and
// refuses every new pod, Guaranteed ones too.
func TestNodePressureEvictionDisk(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	pod := func(name, script string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			NodeName: c.node, TerminationGracePeriodSeconds: ptr.To[int64](60),
			Volumes: []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{Name: "app", Image: c.busybox, Command: []string{"sh", "-c", script},
				VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/done"}}},
					PeriodSeconds: 1}}}}}
	}
	// 24 MiB in the writable layer, 8 MiB in the emptyDir.
	c.createPod(pod("writer", "dd if=/dev/zero of=/big bs=1M count=24 && dd if=/dev/zero of=/scratch/big bs=1M count=8 && touch /done && sleep 3600"))
	c.createPod(pod("idle", "touch /done; sleep 3600"))
	c.waitPod("writer", 60*time.Second, "Ready", ready)
	c.waitPod("idle", 60*time.Second, "Ready", ready)

	c.killAgent(syscall.SIGTERM)
	c.evictionHard = "nodefs.available<99%"
	c.startAgent()
	c.waitPressure(corev1.NodeDiskPressure, "KubeletHasDiskPressure", "kubelet has disk pressure")

	failed := func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed }
	w := c.waitPod("writer", 60*time.Second, "evicted", failed)
	t.Logf("pod writer: %s %s: %s", w.Status.Phase, w.Status.Reason, w.Status.Message)
	if w.Status.Reason != "Evicted" || !strings.HasPrefix(w.Status.Message, "The node was low on resource: ephemeral-storage. Threshold quantity: ") {
		t.Errorf("writer: %q: %q", w.Status.Reason, w.Status.Message)
	}
	// The container's own usage: its writable layer (24 MiB) and log, not the emptyDir.
	var used string
	if _, err := fmt.Sscanf(w.Status.Message[strings.Index(w.Status.Message, "Container app was using ")+len("Container app was using "):], "%s", &used); err != nil {
		t.Fatalf("writer's message names no usage: %q", w.Status.Message)
	}
	if q, err := resource.ParseQuantity(strings.TrimSuffix(used, ",")); err != nil || q.Value() < 24<<20 || q.Value() > 25<<20 {
		t.Errorf("writer's container used %q, want 24 MiB and a little", used)
	}
	if p, err := c.client.CoreV1().Pods("default").Get(ctx, "idle", metav1.GetOptions{}); err != nil || p.Status.Phase != corev1.PodRunning {
		t.Errorf("when the writer was evicted, idle was not Running: %v %v", err, p.Status.Phase)
	}

	// Under DiskPressure every new pod is refused.
	g := pod("late", "sleep 3600")
	r := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	g.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: r, Limits: r}
	c.createPod(g)
	late := c.waitPod("late", 30*time.Second, "refused", failed)
	if late.Status.Reason != "Evicted" || late.Status.Message != "Pod was rejected: The node had condition: [DiskPressure]. " {
		t.Errorf("late pod: %q: %q", late.Status.Reason, late.Status.Message)
	}
	c.waitPod("idle", 60*time.Second, "evicted next", failed)
}
