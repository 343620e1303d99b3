package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// TestMeasurePodStartup measures pod start-up latency (create -> Running, seen by a watch, the
// image present) for one pod at a time and for 30 pods created at once, and the agent's RSS
// idle and with 30 pods. It is a measurement, not a pass/fail test: it runs only with
// SKIFF_AGENT_MEASURE=1 and logs its numbers.
//
//	SKIFF_AGENT_MEASURE=1 go test ./internal/agent -run TestMeasurePodStartup -v
func TestMeasurePodStartup(t *testing.T) {
	if os.Getenv("SKIFF_AGENT_MEASURE") == "" {
		t.Skip("set SKIFF_AGENT_MEASURE=1 to measure")
	}
	c := startCluster(t)
	ctx := context.Background()
	pods := c.client.CoreV1().Pods("default")
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"measure": "yes"}},
			Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](1),
				Containers: []corev1.Container{{Name: "c", Image: c.image, Args: []string{"pause"}}}}}
	}
	// runAll creates the pods at once and returns each one's create -> Running latency.
	runAll := func(names []string) []time.Duration {
		t.Helper()
		w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: "measure=yes"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		var mu sync.Mutex
		created := map[string]time.Time{}
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				created[n] = time.Now()
				mu.Unlock()
				if _, err := pods.Create(ctx, pod(n), metav1.CreateOptions{}); err != nil {
					t.Error(err)
				}
			}()
		}
		out := map[string]time.Duration{}
		timeout := time.After(2 * time.Minute)
		for len(out) < len(names) {
			select {
			case ev := <-w.ResultChan():
				if ev.Type != watch.Modified && ev.Type != watch.Added {
					continue
				}
				p := ev.Object.(*corev1.Pod)
				if _, done := out[p.Name]; done || p.Status.Phase != corev1.PodRunning {
					continue
				}
				mu.Lock()
				out[p.Name] = time.Since(created[p.Name])
				mu.Unlock()
			case <-timeout:
				t.Fatalf("%d of %d pods Running after 2 minutes", len(out), len(names))
			}
		}
		wg.Wait()
		var ds []time.Duration
		for _, d := range out {
			ds = append(ds, d)
		}
		return ds
	}
	deleteAll := func() {
		t.Helper()
		if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "measure=yes"}); err != nil {
			t.Fatal(err)
		}
		c.eventually(2*time.Minute, "pods deleted", func() string {
			l, _ := pods.List(ctx, metav1.ListOptions{LabelSelector: "measure=yes"})
			if len(l.Items) > 0 {
				return fmt.Sprintf("%d pods left", len(l.Items))
			}
			if left, _ := os.ReadDir(filepath.Join(c.dataDir, "runtime", "pods")); len(left) > 0 {
				return fmt.Sprintf("%d sandboxes left", len(left))
			}
			return ""
		})
	}
	// Pull the image first.
	runAll([]string{"warm"})
	deleteAll()
	time.Sleep(5 * time.Second)
	t.Logf("agent RSS idle: %s", rss(c.agent.Process.Pid))

	var singles []time.Duration
	for i := range 10 {
		singles = append(singles, runAll([]string{fmt.Sprintf("one-%d", i)})...)
		deleteAll()
	}
	t.Logf("1 pod at a time, 10 runs: %s", percentiles(singles))

	for round := range 2 {
		var names []string
		for i := range 30 {
			names = append(names, fmt.Sprintf("many-%d-%d", round, i))
		}
		ds := runAll(names)
		t.Logf("30 pods at once (round %d): %s", round+1, percentiles(ds))
		time.Sleep(3 * time.Second)
		t.Logf("agent RSS with 30 pods: %s; 30 shims: %s in all", rss(c.agent.Process.Pid), shimsRSS(c.dataDir))
		deleteAll()
	}
}

func percentiles(ds []time.Duration) string {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.5) - 1
		return ds[max(0, min(i, len(ds)-1))].Round(time.Millisecond)
	}
	return fmt.Sprintf("p50 %v, p99 %v, max %v (n=%d)", at(0.5), at(0.99), ds[len(ds)-1].Round(time.Millisecond), len(ds))
}

// rss is a process's resident set: in all, anonymous (heap, stacks), and file-backed (the
// binary's pages, shared and reclaimable).
func rss(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	field := func(name string) float64 {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					n, _ := strconv.Atoi(f[0])
					return float64(n) / 1024
				}
			}
		}
		return 0
	}
	return fmt.Sprintf("%.1f MiB (anonymous %.1f MiB, file-backed %.1f MiB)", float64(rssKB(pid))/1024, field("Anonymous"), field("Rss")-field("Anonymous"))
}

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

// shimsRSS sums the RSS of the shims serving dataDir's pods.
func shimsRSS(dataDir string) string {
	procs, _ := os.ReadDir("/proc")
	total, n := 0, 0
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if strings.Contains(string(b), dataDir+"/runtime/pods/") {
			total += rssKB(pid)
			n++
		}
	}
	return fmt.Sprintf("%.1f MiB (%d shims)", float64(total)/1024, n)
}
