package scheduler

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeBinder records bindings and feeds them back to the cache as the watch would.
type fakeBinder struct {
	s     *Scheduler
	mu    sync.Mutex
	bound map[types.UID]string
	done  chan struct{}
	want  int
	lat   []time.Duration
	// created holds each pod's enqueue time.
	created map[types.UID]time.Time
}

func (b *fakeBinder) Bind(_ context.Context, pod *v1.Pod, node string) error {
	b.s.cache.AddPod(pod) // the binding coming back through the watch
	b.mu.Lock()
	b.bound[pod.UID] = node
	b.lat = append(b.lat, time.Since(b.created[pod.UID]))
	n := len(b.bound)
	b.mu.Unlock()
	if n == b.want {
		close(b.done)
	}
	return nil
}

type nopReporter struct{}

func (nopReporter) Scheduled(context.Context, *v1.Pod, string)          {}
func (nopReporter) Failed(context.Context, *v1.Pod, string, *string)    {}
func (nopReporter) Preempt(context.Context, *v1.Pod, []*v1.Pod, string) {}

func benchNode(i, zones int) *v1.Node {
	name := fmt.Sprintf("node-%05d", i)
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			v1.LabelHostname: name, v1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%zones)}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse("32"), v1.ResourceMemory: resource.MustParse("256Gi"), v1.ResourcePods: resource.MustParse("110")}},
	}
}

func benchPod(i int, workload string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("pod-%06d", i), UID: types.UID(fmt.Sprintf("uid-%06d", i)),
			Labels: map[string]string{"app": "bench"}},
		Spec: v1.PodSpec{SchedulerName: DefaultSchedulerName, Containers: []v1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("500Mi")}}}}},
	}
	switch workload {
	case "antiaffinity":
		// Groups of 4,000 replicas each one-per-node (upstream scheduler_perf's shape: many
		// small groups rather than one group bigger than the cluster).
		g := fmt.Sprintf("g%d", i/4000)
		p.Labels["group"] = g
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": g}}, TopologyKey: v1.LabelHostname}}}}
	case "spread":
		p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelTopologyZone,
			WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "bench"}}}}
	}
	return p
}

// BenchmarkScheduler schedules 10,000 pods onto 5,000 nodes in-process with a fake binder, for
// three workloads, and reports pods/s and the p50/p99 latency from enqueue to binding.
func BenchmarkScheduler(b *testing.B) {
	const nodes, zones = 5000, 10
	pods := 10000
	if v, err := strconv.Atoi(os.Getenv("SCHED_BENCH_PODS")); err == nil && v > 0 {
		pods = v
	}
	for _, workload := range []string{"plain", "antiaffinity", "spread"} {
		b.Run(workload, func(b *testing.B) {
			var lat []time.Duration
			var elapsed time.Duration
			for iter := 0; iter < b.N; iter++ {
				b.StopTimer()
				fb := &fakeBinder{bound: map[types.UID]string{}, done: make(chan struct{}), want: pods, created: map[types.UID]time.Time{}}
				s := newScheduler(Config{Seed: 1}, fb, nopReporter{}, Plugins{})
				fb.s = s
				for i := 0; i < nodes; i++ {
					s.cache.AddNode(benchNode(i, zones))
				}
				podList := make([]*v1.Pod, pods)
				for i := range podList {
					podList[i] = benchPod(i, workload)
				}
				ctx, cancel := context.WithCancel(context.Background())
				errc := make(chan error, 1)
				b.StartTimer()
				start := time.Now()
				fb.mu.Lock()
				for _, p := range podList {
					fb.created[p.UID] = time.Now()
					s.queue.Add(p)
				}
				fb.mu.Unlock()
				go func() { errc <- s.run(ctx) }()
				select {
				case <-fb.done:
				case <-time.After(10 * time.Minute):
					b.Fatalf("timed out: %d/%d bound", len(fb.bound), pods)
				}
				elapsed += time.Since(start)
				b.StopTimer()
				cancel()
				s.queue.Close()
				<-errc
				lat = append(lat, fb.lat...)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(pods*b.N)/elapsed.Seconds(), "pods/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
