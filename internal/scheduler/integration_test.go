package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-project/skiff/internal/cacheinformer"
	"github.com/skiff-project/skiff/internal/scheduler"
	"github.com/skiff-project/skiff/internal/testserver"
)

// env is a real skiff API server with the scheduler running against it.
type env struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
	ns     string
}

func start(t *testing.T) *env {
	t.Helper()
	s := testserver.Start(t, testserver.Options{DisableScheduler: true, DisableControllers: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := scheduler.Run(ctx, s.Config, scheduler.Options{LeaderElect: true, Identity: "test", Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
			PrimeInformers: cacheinformer.New(s.Registry).Prime}); err != nil {
			t.Errorf("scheduler.Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	e := &env{t: t, ctx: ctx, client: s.Client, ns: "sched"}
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

type nodeSpec struct {
	name   string
	cpu    string
	memory string
	labels map[string]string
	taints []v1.Taint
}

func (e *env) node(n nodeSpec) {
	e.t.Helper()
	if n.memory == "" {
		n.memory = "8Gi"
	}
	l := map[string]string{v1.LabelHostname: n.name}
	for k, v := range n.labels {
		l[k] = v
	}
	res := v1.ResourceList{v1.ResourceCPU: resource.MustParse(n.cpu), v1.ResourceMemory: resource.MustParse(n.memory), v1.ResourcePods: resource.MustParse("110")}
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: l}, Spec: v1.NodeSpec{Taints: n.taints}}
	created, err := e.client.CoreV1().Nodes().Create(e.ctx, node, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	created.ResourceVersion = "" // node IPAM may have set the podCIDR meanwhile
	created.Status = v1.NodeStatus{Capacity: res, Allocatable: res, Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue,
		Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(e.ctx, created, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func pod(name, cpu, memory string) *v1.Pod {
	req := v1.ResourceList{}
	if cpu != "" {
		req[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		req[v1.ResourceMemory] = resource.MustParse(memory)
	}
	zero := int64(0)
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Spec: v1.PodSpec{TerminationGracePeriodSeconds: &zero,
			Containers: []v1.Container{{Name: "c", Image: "busybox", Resources: v1.ResourceRequirements{Requests: req}}}}}
}

func (e *env) create(p *v1.Pod) {
	e.t.Helper()
	if _, err := e.client.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) pods() []v1.Pod {
	e.t.Helper()
	l, err := e.client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Items
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func (e *env) waitFor(what string, timeout time.Duration, cond func() (bool, error)) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(e.ctx, 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond() })
	if err != nil {
		e.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (e *env) waitBound(name string, timeout time.Duration) string {
	e.t.Helper()
	var node string
	e.waitFor("pod "+name+" to be bound", timeout, func() (bool, error) {
		p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = p.Spec.NodeName
		return node != "", nil
	})
	return node
}

func (e *env) failedSchedulingMessage(name string, timeout time.Duration) string {
	e.t.Helper()
	var msg string
	e.waitFor("FailedScheduling event for "+name, timeout, func() (bool, error) {
		l, err := e.client.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String()})
		if err != nil {
			return false, err
		}
		for _, ev := range l.Items {
			if ev.Reason == "FailedScheduling" {
				if ev.Type != v1.EventTypeWarning || ev.InvolvedObject.Kind != "Pod" {
					return false, fmt.Errorf("event %+v", ev)
				}
				msg = ev.Message
				return true, nil
			}
		}
		return false, nil
	})
	return msg
}

func TestIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts API servers")
	}
	t.Run("NoOvercommit", testNoOvercommit)
	t.Run("Taints", testTaints)
	t.Run("AntiAffinityOnePerNode", testAntiAffinity)
	t.Run("SpreadAcrossZones", testSpread)
	t.Run("Preemption", testPreemption)
	t.Run("PlacedWhenNodeAdded", testNodeAdded)
	t.Run("FailedSchedulingMessage", testFailedMessage)
}

func testNoOvercommit(t *testing.T) {
	e := start(t)
	for i := 0; i < 50; i++ {
		e.node(nodeSpec{name: fmt.Sprintf("n%02d", i), cpu: "4", memory: "8Gi"})
	}
	// 2,000 pods asking for more than the 50 nodes hold in total: some must stay pending.
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	pods := make([]*v1.Pod, n)
	for i := range pods {
		pods[i] = pod(fmt.Sprintf("p%04d", i), fmt.Sprintf("%dm", 10+rng.IntN(200)), fmt.Sprintf("%dMi", 16+rng.IntN(400)))
	}
	var wg sync.WaitGroup
	work := make(chan *v1.Pod)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if _, err := e.client.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, p := range pods {
		work <- p
	}
	close(work)
	wg.Wait()
	var bound, pending int
	e.waitFor("every pod bound or marked unschedulable", 40*time.Second, func() (bool, error) {
		bound, pending = 0, 0
		for _, p := range e.pods() {
			if p.Spec.NodeName != "" {
				bound++
				continue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
					pending++
				}
			}
		}
		return bound+pending == n, nil
	})
	cpu, mem := map[string]int64{}, map[string]int64{}
	for _, p := range e.pods() {
		if p.Spec.NodeName == "" {
			continue
		}
		r := p.Spec.Containers[0].Resources.Requests
		cpu[p.Spec.NodeName] += r.Cpu().MilliValue()
		mem[p.Spec.NodeName] += r.Memory().Value()
	}
	for node, c := range cpu {
		if c > 4000 || mem[node] > 8<<30 {
			t.Errorf("node %s overcommitted: cpu %dm, memory %d", node, c, mem[node])
		}
	}
	t.Logf("%d bound on %d nodes, %d unschedulable", bound, len(cpu), pending)
	if bound < 1500 || pending == 0 {
		t.Errorf("bound %d, pending %d: expected the cluster to fill up", bound, pending)
	}
}

func testTaints(t *testing.T) {
	e := start(t)
	taint := []v1.Taint{{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
	e.node(nodeSpec{name: "plain", cpu: "8"})
	e.node(nodeSpec{name: "gpu-1", cpu: "8", labels: map[string]string{"gpu": "true"}, taints: taint})
	e.node(nodeSpec{name: "gpu-2", cpu: "8", labels: map[string]string{"gpu": "true"}, taints: taint})
	for i := 0; i < 6; i++ {
		e.create(pod(fmt.Sprintf("plain-%d", i), "100m", ""))
	}
	for i := 0; i < 4; i++ {
		p := pod(fmt.Sprintf("gpu-%d", i), "100m", "")
		p.Spec.NodeSelector = map[string]string{"gpu": "true"}
		p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
		e.create(p)
	}
	for i := 0; i < 6; i++ {
		if n := e.waitBound(fmt.Sprintf("plain-%d", i), 10*time.Second); n != "plain" {
			t.Errorf("plain-%d on %s, want plain (the others are tainted)", i, n)
		}
	}
	for i := 0; i < 4; i++ {
		if n := e.waitBound(fmt.Sprintf("gpu-%d", i), 10*time.Second); !strings.HasPrefix(n, "gpu-") {
			t.Errorf("gpu-%d on %s, want a gpu node", i, n)
		}
	}
}

func testAntiAffinity(t *testing.T) {
	e := start(t)
	for i := 0; i < 4; i++ {
		e.node(nodeSpec{name: fmt.Sprintf("n%d", i), cpu: "8"})
	}
	for i := 0; i < 5; i++ {
		p := pod(fmt.Sprintf("web-%d", i), "100m", "")
		p.Labels["app"] = "web"
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, TopologyKey: v1.LabelHostname}}}}
		e.create(p)
	}
	seen := map[string]string{}
	var pending []string
	e.waitFor("four replicas bound", 15*time.Second, func() (bool, error) {
		seen, pending = map[string]string{}, nil
		for _, p := range e.pods() {
			if p.Spec.NodeName == "" {
				pending = append(pending, p.Name)
				continue
			}
			seen[p.Name] = p.Spec.NodeName
		}
		return len(seen) == 4, nil
	})
	nodes := map[string]bool{}
	for _, n := range seen {
		if nodes[n] {
			t.Errorf("two replicas on %s: %v", n, seen)
		}
		nodes[n] = true
	}
	if len(pending) != 1 {
		t.Fatalf("pending %v, want one", pending)
	}
	want := "0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod."
	if got := e.failedSchedulingMessage(pending[0], 15*time.Second); got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
}

func testSpread(t *testing.T) {
	e := start(t)
	for z := 0; z < 3; z++ {
		for i := 0; i < 2; i++ {
			e.node(nodeSpec{name: fmt.Sprintf("z%d-n%d", z, i), cpu: "8", labels: map[string]string{v1.LabelTopologyZone: fmt.Sprintf("zone-%d", z)}})
		}
	}
	for i := 0; i < 9; i++ {
		p := pod(fmt.Sprintf("spread-%d", i), "100m", "")
		p.Labels["app"] = "spread"
		p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelTopologyZone,
			WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}}}}
		e.create(p)
	}
	perZone := map[string]int{}
	for i := 0; i < 9; i++ {
		n := e.waitBound(fmt.Sprintf("spread-%d", i), 15*time.Second)
		perZone[n[:2]]++
	}
	for z, c := range perZone {
		if c != 3 {
			t.Errorf("zone %s has %d pods, want 3: %v", z, c, perZone)
		}
	}
}

func testPreemption(t *testing.T) {
	e := start(t)
	for _, pc := range []struct {
		name  string
		value int32
	}{{"low", 100}, {"high", 1000}} {
		if _, err := e.client.SchedulingV1().PriorityClasses().Create(e.ctx, &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: pc.name}, Value: pc.value}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.node(nodeSpec{name: "only", cpu: "1"})
	low := pod("low", "800m", "")
	low.Spec.PriorityClassName = "low"
	e.create(low)
	e.waitBound("low", 10*time.Second)
	high := pod("high", "800m", "")
	high.Spec.PriorityClassName = "high"
	e.create(high)
	if n := e.waitBound("high", 20*time.Second); n != "only" {
		t.Fatalf("high on %q", n)
	}
	if _, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, "low", metav1.GetOptions{}); err == nil {
		t.Errorf("the low-priority pod was not preempted")
	}
}

func testNodeAdded(t *testing.T) {
	e := start(t)
	e.node(nodeSpec{name: "small", cpu: "1"})
	e.create(pod("big", "2", ""))
	e.failedSchedulingMessage("big", 10*time.Second)
	added := time.Now()
	e.node(nodeSpec{name: "large", cpu: "4"})
	if n := e.waitBound("big", 5*time.Second); n != "large" {
		t.Fatalf("big on %q", n)
	}
	t.Logf("placed %v after the node was added", time.Since(added).Round(time.Millisecond))
}

func testFailedMessage(t *testing.T) {
	e := start(t)
	for i := 0; i < 2; i++ {
		e.node(nodeSpec{name: fmt.Sprintf("small-%d", i), cpu: "1"})
	}
	for i := 0; i < 3; i++ {
		e.node(nodeSpec{name: fmt.Sprintf("tainted-%d", i), cpu: "8", taints: []v1.Taint{{Key: "key", Value: "value", Effect: v1.TaintEffectNoSchedule}}})
	}
	e.create(pod("stuck", "2", ""))
	want := "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {key: value}. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
	if got := e.failedSchedulingMessage("stuck", 10*time.Second); got != want {
		t.Errorf("event message\n got %q\nwant %q", got, want)
	}
	e.waitFor("PodScheduled=False condition", 10*time.Second, func() (bool, error) {
		p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, "stuck", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled {
				if c.Status != v1.ConditionFalse || c.Reason != v1.PodReasonUnschedulable || c.Message != want {
					return false, fmt.Errorf("condition %+v", c)
				}
				return true, nil
			}
		}
		return false, nil
	})
}
