package controller_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/testserver"
)

// writeRecorder is a proxy between one controller manager and the API server that records the
// time of every write the manager makes and can refuse its Lease renewals, as a manager cut off
// from the API for its renewals only (say, a stalled lease goroutine) would see.
type writeRecorder struct {
	mu          sync.Mutex
	blockLease  bool
	writes      []time.Time
	leaseWrites int
}

func (w *writeRecorder) handler(target *url.URL, transport http.RoundTripper) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = transport
	proxy.FlushInterval = -1
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		lease := strings.Contains(r.URL.Path, "/leases/kube-controller-manager")
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		w.mu.Lock()
		blocked := lease && write && w.blockLease
		if write && !lease {
			w.writes = append(w.writes, time.Now())
		}
		if lease && write {
			w.leaseWrites++
		}
		w.mu.Unlock()
		if blocked {
			http.Error(rw, "renewal blocked by the test", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(rw, r)
	})
}

func (w *writeRecorder) writesAfter(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, at := range w.writes {
		if at.After(t) {
			n++
		}
	}
	return n
}

// TestLeaderTakeover: two managers campaign for the Lease; when the leader can no longer renew
// it, it stops writing by its renew deadline (10 s) and the other takes over once the Lease has
// expired, within LeaseDuration + RetryPeriod (17 s).
func TestLeaderTakeover(t *testing.T) {
	s := testserver.Start(t, testserver.Options{DisableControllers: true, DisableScheduler: true})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	target, _ := url.Parse(s.Config.Host)
	transport, err := rest.TransportFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	rec := &writeRecorder{}
	proxy := httptest.NewTLSServer(rec.handler(target, transport))
	t.Cleanup(proxy.Close)
	viaProxy := &rest.Config{Host: proxy.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}

	run := func(cfg *rest.Config, id string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := controller.Run(ctx, cfg, controller.Options{LeaderElect: true, Identity: id, Controllers: []string{"replicaset"}})
			if err != nil && ctx.Err() == nil {
				t.Errorf("manager %s: %v", id, err)
			}
		}()
	}
	holder := func() string {
		l, err := s.Client.CoordinationV1().Leases("kube-system").Get(ctx, "kube-controller-manager", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	waitHolder := func(id string, within time.Duration) time.Duration {
		start := time.Now()
		for holder() != id {
			if time.Since(start) > within {
				t.Fatalf("lease not held by %s within %s (holder %q)", id, within, holder())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(start)
	}
	run(viaProxy, "manager-a")
	waitHolder("manager-a", 30*time.Second)
	run(s.Config, "manager-b")

	// Work that needs the leader's writes: a ReplicaSet whose scale keeps changing.
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "busy", Namespace: "default"}, Spec: appsv1.ReplicaSetSpec{
		Replicas: ptr.To[int32](1),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "busy"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "busy"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}},
	}}
	if _, err := s.Client.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stopChurn := make(chan struct{})
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopChurn) }) }
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopChurn:
				return
			case <-ctx.Done():
				return
			case <-time.After(300 * time.Millisecond):
			}
			scale, err := s.Client.AppsV1().ReplicaSets("default").GetScale(ctx, "busy", metav1.GetOptions{})
			if err != nil {
				continue
			}
			scale.Spec.Replicas = int32(1 + i%4)
			_, _ = s.Client.AppsV1().ReplicaSets("default").UpdateScale(ctx, "busy", scale, metav1.UpdateOptions{})
		}
	}()
	defer stop()
	// The leader is doing the work.
	deadline := time.Now().Add(20 * time.Second)
	for rec.writesAfter(time.Time{}) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("manager-a made no writes while leading")
		}
		time.Sleep(50 * time.Millisecond)
	}

	rec.mu.Lock()
	rec.blockLease = true
	rec.mu.Unlock()
	cut := time.Now()
	took := waitHolder("manager-b", 25*time.Second)
	t.Logf("manager-b took over %s after manager-a lost its renewals", took.Round(time.Millisecond))
	if limit := 17*time.Second + time.Second; took > limit {
		t.Errorf("manager-b took over %s after manager-a lost its renewals, want within 17 s", took.Round(time.Millisecond))
	}
	// After its renew deadline (10 s, plus a retry period of slack for the last in-flight
	// request), manager-a writes nothing more.
	stoppedBy := cut.Add(10*time.Second + 2*time.Second)
	if time.Now().Before(stoppedBy.Add(3 * time.Second)) {
		time.Sleep(time.Until(stoppedBy.Add(3 * time.Second)))
	}
	if n := rec.writesAfter(stoppedBy); n > 0 {
		t.Errorf("manager-a made %d writes after its renew deadline", n)
	}
	// manager-b does the work now.
	want := int32(2)
	scale, err := s.Client.AppsV1().ReplicaSets("default").GetScale(ctx, "busy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	scale.Spec.Replicas = want
	if _, err := s.Client.AppsV1().ReplicaSets("default").UpdateScale(ctx, "busy", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		pods, err := s.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=busy"})
		if err == nil {
			live := 0
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil {
					live++
				}
			}
			if live == int(want) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("manager-b did not bring the ReplicaSet to %d pods", want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
