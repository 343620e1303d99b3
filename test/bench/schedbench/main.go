// Command schedbench measures a scheduler end to end through an API server, the same way for
// any scheduler: it creates nodes (plain Node objects, Ready, with zone labels; no kubelets),
// then pods of one workload, and watches them until every one is bound. It reports
// creation-to-binding throughput and the latency from each pod's create returning to its binding
// being seen in the watch (p50, p99).
//
//	schedbench --kubeconfig K --nodes 5000 setup
//	schedbench --kubeconfig K --pods 10000 --workload plain run
//	schedbench --kubeconfig K --nodes 5000 --pods-per-node 30 --node-prefix sim- place
//
// place skips the scheduler: it creates pods already bound (spec.nodeName) to the nodes of
// `skiff simulate`, then waits until every one is Running, for measuring the node agents.
//
// Workloads: plain (100m CPU, 128Mi each), antiaffinity (required pod anti-affinity on
// kubernetes.io/hostname among pods of one group of 100, so groups spread over nodes), spread
// (topology spread, maxSkew 1 over zones, DoNotSchedule).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig")
	nodes := flag.Int("nodes", 5000, "nodes to create (setup)")
	pods := flag.Int("pods", 10000, "pods to create (run)")
	workload := flag.String("workload", "plain", "plain, antiaffinity or spread")
	namespace := flag.String("namespace", "bench", "namespace of the pods")
	workers := flag.Int("workers", 64, "concurrent creates")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after")
	nodePrefix := flag.String("node-prefix", "sim-", "names of the nodes pods are placed on (place)")
	perNode := flag.Int("pods-per-node", 30, "pods placed on each node (place)")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	switch flag.Arg(0) {
	case "setup":
		setup(ctx, client, *nodes, *workers)
	case "run":
		run(ctx, client, *namespace, *workload, *pods, *workers)
	case "place":
		place(ctx, client, *namespace, *nodePrefix, *nodes, *perNode, *workers)
	default:
		fail(fmt.Errorf("usage: schedbench [flags] setup|run|place"))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "schedbench:", err)
	os.Exit(1)
}

// parallel runs f(0..n-1) on workers goroutines.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func setup(ctx context.Context, c kubernetes.Interface, n, workers int) {
	start := time.Now()
	err := parallel(n, workers, func(i int) error {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%05d", i), Labels: map[string]string{
				"kubernetes.io/hostname": fmt.Sprintf("node-%05d", i), "topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%3),
				"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
		}
		created, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("500Gi")}
		status := corev1.NodeStatus{Capacity: capacity, Allocatable: capacity, Phase: corev1.NodeRunning,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
		// The server's node IPAM may set the podCIDR between the create and this update.
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			created.Status = status
			_, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
			if apierrors.IsConflict(err) {
				if latest, getErr := c.CoreV1().Nodes().Get(ctx, created.Name, metav1.GetOptions{}); getErr == nil {
					created = latest
				}
			}
			return err
		})
	})
	if err != nil {
		fail(err)
	}
	fmt.Printf("created %d nodes in %s\n", n, time.Since(start).Round(time.Millisecond))
}

func podFor(workload string, i int) *corev1.Pod {
	group := fmt.Sprintf("g%d", i/100)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%06d", i), Labels: map[string]string{"app": "bench", "group": group}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "bench", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}}}},
	}
	switch workload {
	case "antiaffinity":
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": group}}, TopologyKey: "kubernetes.io/hostname"}}}}
	case "spread":
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
			WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "bench"}}}}
	}
	return p
}

func run(ctx context.Context, c kubernetes.Interface, ns, workload string, n, workers int) {
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		fail(err)
	}
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		fail(err)
	}
	created := make([]time.Time, n)
	var mu sync.Mutex
	boundAt := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Spec.NodeName == "" {
				continue
			}
			now := time.Now()
			mu.Lock()
			if _, seen := boundAt[p.Name]; !seen {
				boundAt[p.Name] = now
			}
			all := len(boundAt) == n
			mu.Unlock()
			if all {
				return
			}
		}
	}()
	start := time.Now()
	err = parallel(n, workers, func(i int) error {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, podFor(workload, i), metav1.CreateOptions{}); err != nil {
			return err
		}
		created[i] = time.Now()
		return nil
	})
	if err != nil {
		fail(err)
	}
	createdAll := time.Since(start)
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		fmt.Printf("timed out: %d of %d pods bound\n", len(boundAt), n)
		mu.Unlock()
		os.Exit(1)
	}
	w.Stop()
	var last time.Time
	lat := make([]time.Duration, 0, n)
	for i := range n {
		b := boundAt[fmt.Sprintf("p-%06d", i)]
		if b.After(last) {
			last = b
		}
		d := b.Sub(created[i])
		if d < 0 {
			d = 0 // the binding was seen before the create call returned
		}
		lat = append(lat, d)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	total := last.Sub(start)
	fmt.Printf("workload=%s pods=%d created-in=%s all-bound-in=%s throughput=%.0f pods/s latency p50=%s p99=%s max=%s\n",
		workload, n, createdAll.Round(time.Millisecond), total.Round(time.Millisecond), float64(n)/total.Seconds(),
		lat[n/2].Round(time.Millisecond), lat[n*99/100].Round(time.Millisecond), lat[n-1].Round(time.Millisecond))
}

// place creates perNode pods bound to each of nodes nodes named prefix<i>, then waits until all
// are Running.
func place(ctx context.Context, c kubernetes.Interface, ns, prefix string, nodes, perNode, workers int) {
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		fail(err)
	}
	n := nodes * perNode
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		fail(err)
	}
	running := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Status.Phase != corev1.PodRunning {
				continue
			}
			running[p.Name] = true
			if len(running) == n {
				return
			}
		}
	}()
	start := time.Now()
	err = parallel(n, workers, func(i int) error {
		p := podFor("plain", i)
		p.Spec.NodeName = fmt.Sprintf("%s%d", prefix, i%nodes)
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}
		_, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		fail(err)
	}
	created := time.Since(start)
	select {
	case <-done:
	case <-ctx.Done():
		fmt.Printf("timed out: %d of %d pods running\n", len(running), n)
		os.Exit(1)
	}
	w.Stop()
	fmt.Printf("placed %d pods on %d nodes: created in %s, all Running after %s\n", n, nodes, created.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
