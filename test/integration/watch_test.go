package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return watch.Event{}
}

func TestWatchFromResourceVersion(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	a, _ := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"w": "yes"}}}, metav1.CreateOptions{})
	b, _ := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{"w": "yes"}}}, metav1.CreateOptions{})

	// From a's resourceVersion: b's creation comes first, then live changes.
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: a.ResourceVersion, LabelSelector: "w=yes"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if ev := nextEvent(t, w); ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "b" || ev.Object.(*corev1.ConfigMap).ResourceVersion != b.ResourceVersion {
		t.Fatalf("first event %s %v", ev.Type, ev.Object)
	}
	b.Data = map[string]string{"x": "1"}
	b, _ = cms.Update(ctx, b, metav1.UpdateOptions{})
	if ev := nextEvent(t, w); ev.Type != watch.Modified || ev.Object.(*corev1.ConfigMap).ResourceVersion != b.ResourceVersion {
		t.Fatalf("update event %s %v", ev.Type, ev.Object)
	}
	// Leaving the selector is a DELETED for this watcher; coming back is an ADDED.
	b.Labels = nil
	_, _ = cms.Update(ctx, b, metav1.UpdateOptions{})
	if ev := nextEvent(t, w); ev.Type != watch.Deleted {
		t.Fatalf("leaving the selector: %s", ev.Type)
	}
	_ = cms.Delete(ctx, "a", metav1.DeleteOptions{})
	ev := nextEvent(t, w)
	if ev.Type != watch.Deleted || ev.Object.(*corev1.ConfigMap).Name != "a" {
		t.Fatalf("delete event %s %v", ev.Type, ev.Object)
	}
}

// TestWatchListStreamsInitialEvents checks sendInitialEvents: the current objects as ADDED,
// then a bookmark marked as the end of the initial events, then live events.
func TestWatchListStreamsInitialEvents(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	for i := 0; i < 3; i++ {
		_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}}, metav1.CreateOptions{})
	}
	yes := true
	w, err := cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := 0; i < 3; i++ {
		if ev := nextEvent(t, w); ev.Type != watch.Added {
			t.Fatalf("initial event %d: %s", i, ev.Type)
		}
	}
	ev := nextEvent(t, w)
	if ev.Type != watch.Bookmark || ev.Object.(*corev1.ConfigMap).Annotations[metav1.InitialEventsAnnotationKey] != "true" {
		t.Fatalf("after initial events: %s %+v", ev.Type, ev.Object)
	}
	_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "live"}}, metav1.CreateOptions{})
	if ev := nextEvent(t, w); ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "live" {
		t.Fatalf("live event %s", ev.Type)
	}
	// sendInitialEvents without NotOlderThan is invalid, as upstream says.
	_, err = cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: &yes, AllowWatchBookmarks: true})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("sendInitialEvents without resourceVersionMatch: %v", err)
	}
}

// TestInformer runs a client-go shared informer (WatchList is on by default in client-go
// 0.37): it syncs, sees adds, updates and deletes, and resyncs.
func TestInformer(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pre"}}, metav1.CreateOptions{})
	factory := informers.NewSharedInformerFactoryWithOptions(client(), 500*time.Millisecond, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	events := make(chan string, 100)
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o interface{}) { events <- "add " + o.(*corev1.ConfigMap).Name },
		UpdateFunc: func(old, o interface{}) {
			if old.(*corev1.ConfigMap).ResourceVersion == o.(*corev1.ConfigMap).ResourceVersion {
				events <- "resync " + o.(*corev1.ConfigMap).Name
				return
			}
			events <- "update " + o.(*corev1.ConfigMap).Name
		},
		DeleteFunc: func(o interface{}) { events <- "delete " + o.(*corev1.ConfigMap).Name },
	})
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	syncCtx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	want := func(s string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				if e == s {
					return
				}
			case <-deadline:
				t.Fatalf("informer never reported %q", s)
			}
		}
	}
	want("add pre")
	_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	want("add x")
	_, _ = cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Data: map[string]string{"a": "b"}}, metav1.UpdateOptions{})
	want("update x")
	want("resync x")
	_ = cms.Delete(ctx, "x", metav1.DeleteOptions{})
	want("delete x")
}

// TestWatchTooOldIs410 restarts a server with writes in between: a watch from a
// resourceVersion older than the new watch cache gets an ERROR event with 410 Expired, and an
// informer that was connected across the restart converges.
func TestWatchTooOldIs410(t *testing.T) {
	s := startRestartable(t)
	ctx := ctxT(t)
	cms := s.client().CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "first"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "second"}}, metav1.CreateOptions{})

	factory := informers.NewSharedInformerFactoryWithOptions(s.client(), 0, informers.WithNamespace("default"))
	inf := factory.Core().V1().ConfigMaps().Informer()
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	syncCtx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}

	s.restart(t)
	cms = s.client().CoreV1().ConfigMaps("default")
	_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "third"}}, metav1.CreateOptions{})

	// A raw watch from before the restart: the stream carries a 410 ERROR event.
	rt, err := rest.TransportFor(s.srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", s.srv.URL+"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion="+first.ResourceVersion, nil)
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	resp.Body.Close()
	var ev struct {
		Type   string
		Object metav1.Status
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Type != "ERROR" || ev.Object.Code != 410 || ev.Object.Reason != metav1.StatusReasonExpired {
		t.Fatalf("watch from a too-old resourceVersion: %v %q", err, line)
	}

	eventually(t, 20*time.Second, func() error {
		var got []string
		for _, o := range inf.GetStore().List() {
			got = append(got, o.(*corev1.ConfigMap).Name)
		}
		if !contains(got, "third") || !contains(got, "first") {
			return fmt.Errorf("informer has %v", got)
		}
		return nil
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestTableWatch checks that a watch asked for as Table sends Tables, with column definitions
// only in the first event.
func TestTableWatch(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	rt, err := rest.TransportFor(shared.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", shared.URL+"/api/v1/namespaces/"+ns+"/configmaps?watch=true", nil)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cms := client().CoreV1().ConfigMaps(ns)
	_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "one"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{})
	_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "two"}}, metav1.CreateOptions{})
	r := bufio.NewReader(resp.Body)
	for i := 0; i < 2; i++ {
		line, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		var ev struct {
			Type   string
			Object metav1.Table
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Object.Kind != "Table" || len(ev.Object.Rows) != 1 || (i == 0) != (len(ev.Object.ColumnDefinitions) > 0) {
			t.Fatalf("event %d: %s", i, strings.TrimSpace(line))
		}
	}
}
