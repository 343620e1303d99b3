// Command apibench measures an API server the same way whichever server it is (skiff or
// upstream kube-apiserver): create throughput and latency, LIST latency at a given number of
// pods, and watch event delivery to many watchers. It talks only to the server named by
// --kubeconfig. BENCHMARKS.md records how it is run.
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
	"k8s.io/utils/ptr"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the server to measure")
	namespace := flag.String("namespace", "bench", "namespace to work in (created if missing)")
	creates := flag.Int("creates", 5000, "pods to create for the create benchmark (0 skips it)")
	concurrency := flag.Int("concurrency", 32, "concurrent clients for creates")
	listPods := flag.Int("list-pods", 10000, "pods present for the LIST benchmark (0 skips it); created as needed")
	lists := flag.Int("lists", 5, "LISTs to time")
	watchers := flag.Int("watchers", 100, "watchers for the watch benchmark (0 skips it)")
	watchEvents := flag.Int("watch-events", 1000, "changes made while the watchers watch")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	cfg.Timeout = 5 * time.Minute
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	v, err := client.Discovery().ServerVersion()
	if err != nil {
		fatal(err)
	}
	fmt.Printf("server %s\n", v.GitVersion)
	ensureNamespace(ctx, client, *namespace)

	if *creates > 0 {
		lat, d := createPods(ctx, client, *namespace, "create", 0, *creates, *concurrency)
		fmt.Printf("creates: %d pods, %d clients: %.0f/s, p50 %s, p99 %s\n", *creates, *concurrency, float64(*creates)/d.Seconds(), pct(lat, 50), pct(lat, 99))
	}
	if *listPods > 0 {
		have, _ := client.CoreV1().Pods(*namespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if n := *listPods - len(have.Items); n > 0 {
			_, d := createPods(ctx, client, *namespace, "list", len(have.Items), n, *concurrency)
			fmt.Printf("(created %d more pods in %s)\n", n, d.Round(time.Millisecond))
		}
		for _, rv := range []string{"", "0"} {
			var lat []time.Duration
			count := 0
			for i := 0; i < *lists; i++ {
				start := time.Now()
				l, err := client.CoreV1().Pods(*namespace).List(ctx, metav1.ListOptions{ResourceVersion: rv})
				if err != nil {
					fatal(err)
				}
				lat = append(lat, time.Since(start))
				count = len(l.Items)
			}
			fmt.Printf("list %d pods (resourceVersion=%q, protobuf): p50 %s, min %s, max %s\n", count, rv, pct(lat, 50), pct(lat, 0), pct(lat, 100))
		}
	}
	if *watchers > 0 {
		watchBench(ctx, client, *namespace, *watchers, *watchEvents)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "apibench:", err)
	os.Exit(1)
}

func ensureNamespace(ctx context.Context, c kubernetes.Interface, ns string) {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		fatal(err)
	}
	// Upstream's ServiceAccount admission needs the default service account; nothing else makes
	// it when no controller manager runs.
	_, err = c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		fatal(err)
	}
}

// pod is a realistic pod of about 1.5 KiB, bound to a node so that nothing schedules it.
func pod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench", "tier": "web", "pod-template-hash": "5d8f7c9b6"},
			Annotations: map[string]string{"bench.skiff.io/description": "a pod created by apibench"}},
		Spec: corev1.PodSpec{
			NodeName:                     "bench-node",
			AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{
				Name: "web", Image: "registry.example/web:1.2.3",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env:   []corev1.EnvVar{{Name: "MODE", Value: "production"}, {Name: "LEVEL", Value: "3"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstrFromInt(8080)}}},
			}},
		},
	}
}

// createPods creates n pods named prefix-<i> from offset with c concurrent clients and
// returns each create's latency and the total time.
func createPods(ctx context.Context, client kubernetes.Interface, ns, prefix string, offset, n, c int) ([]time.Duration, time.Duration) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				_, err := client.CoreV1().Pods(ns).Create(ctx, pod(fmt.Sprintf("%s-%d", prefix, offset+i)), metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					fatal(err)
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return lat, time.Since(start)
}

// watchBench opens w watches on configmaps and counts how fast n changes reach all of them.
func watchBench(ctx context.Context, client kubernetes.Interface, ns string, w, n int) {
	list, err := client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fatal(err)
	}
	var received atomic.Int64
	var wg sync.WaitGroup
	watches := make([]watch.Interface, w)
	for i := range watches {
		wi, err := client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, LabelSelector: "bench=watch"})
		if err != nil {
			fatal(err)
		}
		watches[i] = wi
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := 0
			for range wi.ResultChan() {
				received.Add(1)
				got++
				if got == n {
					return
				}
			}
		}()
	}
	start := time.Now()
	var next atomic.Int64
	var cw sync.WaitGroup
	for c := 0; c < 16; c++ {
		cw.Add(1)
		go func() {
			defer cw.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
					Name: fmt.Sprintf("watch-%d-%d", start.UnixNano(), i), Labels: map[string]string{"bench": "watch"}}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
				if err != nil {
					fatal(err)
				}
			}
		}()
	}
	cw.Wait()
	written := time.Since(start)
	wg.Wait()
	d := time.Since(start)
	for _, wi := range watches {
		wi.Stop()
	}
	fmt.Printf("watch: %d changes to %d watchers: %d events in %s: %.0f events/s delivered (writes took %s)\n",
		n, w, received.Load(), d.Round(time.Millisecond), float64(received.Load())/d.Seconds(), written.Round(time.Millisecond))
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	i := (len(s) - 1) * p / 100
	return s[i].Round(10 * time.Microsecond)
}
