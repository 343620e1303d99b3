package integration

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller/resourcequota"
)

func simplePod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
}

// warningClient returns an admin client that records the warnings the server sends.
func warningClient(t *testing.T) (kubernetes.Interface, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var warnings []string
	cfg := rest.CopyConfig(shared.Config)
	cfg.WarningHandlerWithContext = warningFunc(func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, msg)
	})
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), warnings...)
	}
}

type warningFunc func(string)

func (f warningFunc) HandleWarningHeaderWithContext(_ context.Context, code int, _ string, msg string) {
	if code == 299 {
		f(msg)
	}
}

func TestPodSecurityAdmission(t *testing.T) {
	ctx := ctxT(t)
	ns := namespace(t)
	privileged := simplePod("priv")
	privileged.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}

	// The cluster default warns (baseline) but admits.
	c, warnings := warningClient(t)
	if _, err := c.CoreV1().Pods(ns).Create(ctx, privileged, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`
	if w := warnings(); len(w) != 1 || w[0] != want {
		t.Errorf("warnings %q, want %q", w, want)
	}

	// enforce=restricted refuses it with upstream's message.
	nsObj, err := client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := c.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if w := warnings(); len(w) < 3 || w[1] != `existing pods in namespace "`+ns+`" violate the new PodSecurity enforce level "restricted:latest"` {
		t.Errorf("namespace update warnings %q", w)
	}
	privileged.Name = "priv2"
	// The plugin reads namespaces from the watch cache, as upstream's reads an informer: the
	// new label applies once the cache has it.
	eventually(t, 10*time.Second, func() error {
		_, err = client().CoreV1().Pods(ns).Create(ctx, privileged, metav1.CreateOptions{})
		if err == nil {
			_ = client().CoreV1().Pods(ns).Delete(ctx, "priv2", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
			return errString("admitted before the cache had the enforce label")
		}
		return nil
	})
	wantForbidden(t, err, `pods "priv2" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`)

	// An invalid level is refused.
	nsObj, _ = client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "strict"
	if _, err := client().CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("invalid enforce level: got %v", err)
	}
}

func TestLimitRanger(t *testing.T) {
	ctx := ctxT(t)
	ns := namespace(t)
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type:    corev1.LimitTypeContainer,
		Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Max:     corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
	}}}}
	if _, err := client().CoreV1().LimitRanges(ns).Create(ctx, lr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := client().CoreV1().Pods(ns).Create(ctx, simplePod("defaulted"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := got.Spec.Containers[0].Resources
	if res.Limits.Cpu().String() != "500m" || res.Requests.Cpu().String() != "500m" || res.Limits.Memory().String() != "128Mi" {
		t.Errorf("resources %v", res)
	}
	if a := got.Annotations["kubernetes.io/limit-ranger"]; a != "LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c" {
		t.Errorf("annotation %q", a)
	}
	big := simplePod("big")
	big.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	_, err = client().CoreV1().Pods(ns).Create(ctx, big, metav1.CreateOptions{})
	wantForbidden(t, err, `pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2`)
}

// runQuotaController runs the ResourceQuota controller (the shared server runs no controller
// manager) until the test ends.
func runQuotaController(t *testing.T, ns string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := informers.NewSharedInformerFactoryWithOptions(client(), 0, informers.WithNamespace(ns))
	rq, err := resourcequota.New(client(), metadata.NewForConfigOrDie(shared.Config), f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	go rq.Run(ctx, 2)
}

func TestResourceQuotaRace(t *testing.T) {
	ctx := ctxT(t)
	ns := namespace(t)
	runQuotaController(t, ns)
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}}
	if _, err := client().CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		cur, err := client().CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if _, ok := cur.Status.Used[corev1.ResourcePods]; !ok {
			return errString("quota status not set yet")
		}
		return nil
	})
	// Ten creates race for the one pod the quota allows.
	const racers = 10
	var wg sync.WaitGroup
	errs := make([]error, racers)
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = client().CoreV1().Pods(ns).Create(ctx, simplePod("racer-"+string(rune('a'+i))), metav1.CreateOptions{})
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1"):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	pods, err := client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created != 1 || len(pods.Items) != 1 {
		t.Fatalf("created %d pods (%d stored), want exactly 1", created, len(pods.Items))
	}
	// Deleting the pod returns its charge.
	if err := client().CoreV1().Pods(ns).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		_, err := client().CoreV1().Pods(ns).Create(ctx, simplePod("after"), metav1.CreateOptions{})
		return err
	})
}

type errString string

func (e errString) Error() string { return string(e) }

// TestAdmissionSeesOwnWrites creates a LimitRange and then, at once, a pod, many times over:
// the pod must always get the LimitRange's defaults, even when the watch cache has not yet
// seen the LimitRange (upstream's LimitRanger looks it up live when its informer has none).
func TestAdmissionSeesOwnWrites(t *testing.T) {
	ctx := ctxT(t)
	// Writers of large ConfigMaps keep the watch cache busy, so that it lags behind etcd.
	busy := namespace(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := map[string]string{"k": strings.Repeat("x", 256<<10)}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("load-%d-%d", w, n)}, Data: data}
				_, _ = client().CoreV1().ConfigMaps(busy).Create(ctx, cm, metav1.CreateOptions{})
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)
	for i := range 30 {
		ns := namespace(t)
		lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:    corev1.LimitTypeContainer,
			Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("300m")},
		}}}}
		if _, err := client().CoreV1().LimitRanges(ns).Create(ctx, lr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := client().CoreV1().Pods(ns).Create(ctx, simplePod("p"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c := got.Spec.Containers[0].Resources.Limits.Cpu().String(); c != "300m" {
			t.Fatalf("round %d: the pod created right after its namespace's LimitRange has cpu limit %q, want 300m", i, c)
		}
	}
}
