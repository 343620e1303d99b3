package cacheinformer_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/cacheinformer"
	"github.com/skiff-project/skiff/internal/testserver"
	"github.com/skiff-project/skiff/internal/trim"
)

var podsGVR = corev1.SchemeGroupVersion.WithResource("pods")

func TestMain(m *testing.M) { testserver.MainWithMutationDetector(m) }

func setup(t *testing.T) (*testserver.Server, context.Context, string) {
	t.Helper()
	s := testserver.Start(t, testserver.Options{DisableScheduler: true, DisableControllers: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	ns := "lend"
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return s, ctx, ns
}

func createPod(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, name, node string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	out, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stored returns the watch cache's own object for the pod.
func stored(t *testing.T, ctx context.Context, s *testserver.Server, ns, name string) runtime.Object {
	t.Helper()
	obj, err := s.Registry.Store(podsGVR).Get(ctx, ns, name, "0")
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// waitFor polls cond every 10 ms until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPrimedInformerSharesCachedObjects checks that a primed factory's pod informer holds the
// watch cache's own objects (the same pointers), follows creates, updates and deletes, and
// that the factory's transform does not strip them.
func TestPrimedInformerSharesCachedObjects(t *testing.T) {
	s, ctx, ns := setup(t)
	createPod(t, ctx, s.Client, ns, "before", "")
	factory := informers.NewSharedInformerFactoryWithOptions(s.Client, 0, informers.WithTransform(trim.ManagedFields))
	cacheinformer.New(s.Registry).Prime(factory)
	pods := factory.Core().V1().Pods()
	inf := pods.Informer()
	stop := make(chan struct{})
	factory.Start(stop)
	t.Cleanup(func() { close(stop); factory.Shutdown() })
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("pod informer did not sync")
	}
	got, err := pods.Lister().Pods(ns).Get("before")
	if err != nil {
		t.Fatal(err)
	}
	if runtime.Object(got) != stored(t, ctx, s, ns, "before") {
		t.Error("the listed pod is a copy, not the watch cache's object")
	}
	if len(got.ManagedFields) == 0 {
		t.Error("the factory's transform stripped the shared object's managedFields")
	}

	created := createPod(t, ctx, s.Client, ns, "after", "n1")
	waitFor(t, "the created pod", func() bool { _, err := pods.Lister().Pods(ns).Get("after"); return err == nil })
	got, _ = pods.Lister().Pods(ns).Get("after")
	if runtime.Object(got) != stored(t, ctx, s, ns, "after") {
		t.Error("the watched pod is a copy, not the watch cache's object")
	}

	created.Labels["tier"] = "web"
	updated, err := s.Client.CoreV1().Pods(ns).Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the update", func() bool {
		p, err := pods.Lister().Pods(ns).Get("after")
		return err == nil && p.ResourceVersion == updated.ResourceVersion && p.Labels["tier"] == "web"
	})

	if err := s.Client.CoreV1().Pods(ns).Delete(ctx, "after", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delete", func() bool { _, err := pods.Lister().Pods(ns).Get("after"); return apierrors.IsNotFound(err) })
	if n := len(inf.GetStore().List()); n != 1 {
		t.Errorf("informer holds %d pods, want 1", n)
	}
}

// TestSelectors checks label and field selectors, and the API server's error for a field it
// cannot select on.
func TestSelectors(t *testing.T) {
	s, ctx, ns := setup(t)
	createPod(t, ctx, s.Client, ns, "a", "n1")
	createPod(t, ctx, s.Client, ns, "b", "n2")
	lw, err := cacheinformer.New(s.Registry).ListerWatcher(podsGVR, false)
	if err != nil {
		t.Fatal(err)
	}
	names := func(o metav1.ListOptions) []string {
		t.Helper()
		list, err := lw.ListWithContext(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range list.(*metav1.List).Items {
			out = append(out, it.Object.(*corev1.Pod).Name)
		}
		return out
	}
	if got := names(metav1.ListOptions{LabelSelector: "app=b"}); len(got) != 1 || got[0] != "b" {
		t.Errorf("label selector app=b: %v", got)
	}
	if got := names(metav1.ListOptions{FieldSelector: "spec.nodeName=n1"}); len(got) != 1 || got[0] != "a" {
		t.Errorf("field selector spec.nodeName=n1: %v", got)
	}
	if got := names(metav1.ListOptions{ResourceVersion: "0"}); len(got) != 2 {
		t.Errorf("all pods: %v", got)
	}
	_, err = lw.ListWithContext(ctx, metav1.ListOptions{FieldSelector: "spec.image=x"})
	if !apierrors.IsBadRequest(err) || err.Error() != "field label not supported: spec.image" {
		t.Errorf("unsupported field: %v", err)
	}
}

// TestMetadata checks that metadata items carry the object's metadata without managedFields
// and leave the stored object as it was.
func TestMetadata(t *testing.T) {
	s, ctx, ns := setup(t)
	createPod(t, ctx, s.Client, ns, "m", "")
	lw := cacheinformer.New(s.Registry).Metadata(podsGVR)
	if lw == nil {
		t.Fatal("no metadata lister-watcher for pods")
	}
	list, err := lw.(cache.ListerWatcherWithContext).ListWithContext(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	items := list.(*metav1.List).Items
	if len(items) != 1 {
		t.Fatalf("%d items, want 1", len(items))
	}
	pm, ok := items[0].Object.(*metav1.PartialObjectMetadata)
	if !ok {
		t.Fatalf("item is %T, want PartialObjectMetadata", items[0].Object)
	}
	if pm.Name != "m" || pm.Labels["app"] != "m" || pm.UID == "" || pm.ManagedFields != nil {
		t.Errorf("metadata: %+v", pm.ObjectMeta)
	}
	if p := stored(t, ctx, s, ns, "m").(*corev1.Pod); len(p.ManagedFields) == 0 {
		t.Error("the stored pod lost its managedFields")
	}
	if cacheinformer.New(s.Registry).Metadata(corev1.SchemeGroupVersion.WithResource("nothings")) != nil {
		t.Error("a lister-watcher for a resource that is not served")
	}
}

// TestWatchEnds checks that timeoutSeconds and Stop close a watch's result channel.
func TestWatchEnds(t *testing.T) {
	s, ctx, ns := setup(t)
	createPod(t, ctx, s.Client, ns, "w", "")
	lw, err := cacheinformer.New(s.Registry).ListerWatcher(podsGVR, false)
	if err != nil {
		t.Fatal(err)
	}
	list, err := lw.ListWithContext(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rv := list.(*metav1.List).ResourceVersion
	one := int64(1)
	w, err := lw.WatchWithContext(ctx, metav1.ListOptions{ResourceVersion: rv, TimeoutSeconds: &one})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, w, 10*time.Second)

	w, err = lw.WatchWithContext(ctx, metav1.ListOptions{ResourceVersion: rv})
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()
	w.Stop() // a second Stop is harmless
	drain(t, w, 10*time.Second)
}

// drain reads w until its channel closes, failing after d.
func drain(t *testing.T, w watch.Interface, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("the watch did not end")
		}
	}
}
