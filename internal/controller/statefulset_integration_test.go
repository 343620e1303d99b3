package controller_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/controller/statefulset"
)

func statefulSet(name string, replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), ServiceName: name, PodManagementPolicy: policy,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, "nginx")},
	}
}

// ordinalWatch watches the pods of a StatefulSet and checks OrderedReady's promises as the
// events arrive: pod N+1 appears only when pod N is Running and Ready, and pod N starts
// terminating only when every higher ordinal is gone.
type ordinalWatch struct {
	mu                  sync.Mutex
	set                 string
	store               cache.Store
	created, terminated []string
	violations          []string
}

func (cl *cluster) watchOrdinals(set string) *ordinalWatch {
	w := &ordinalWatch{set: set}
	f := informers.NewSharedInformerFactoryWithOptions(cl.c, 0, informers.WithNamespace("default"),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "app=" + set }))
	inf := f.Core().V1().Pods().Informer()
	w.store = inf.GetStore()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.added(obj.(*corev1.Pod)) },
		UpdateFunc: func(old, obj any) {
			if old.(*corev1.Pod).DeletionTimestamp == nil && obj.(*corev1.Pod).DeletionTimestamp != nil {
				w.terminating(obj.(*corev1.Pod))
			}
		},
		DeleteFunc: func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok && p.DeletionTimestamp == nil {
				w.terminating(p)
			}
		},
	})
	f.Start(cl.ctx.Done())
	cache.WaitForCacheSync(cl.ctx.Done(), inf.HasSynced)
	return w
}

func (w *ordinalWatch) added(p *corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.created = append(w.created, p.Name)
	_, ord := statefulset.ParentAndOrdinal(p.Name)
	if ord == 0 {
		return
	}
	prev, ok, _ := w.store.GetByKey("default/" + statefulset.PodName(w.set, ord-1))
	if !ok || prev.(*corev1.Pod).Status.Phase != corev1.PodRunning || !podReady(prev.(*corev1.Pod)) {
		w.violations = append(w.violations, fmt.Sprintf("%s created before its predecessor was Running and Ready", p.Name))
	}
}

func (w *ordinalWatch) terminating(p *corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.terminated = append(w.terminated, p.Name)
	_, ord := statefulset.ParentAndOrdinal(p.Name)
	for _, o := range w.store.List() {
		if _, other := statefulset.ParentAndOrdinal(o.(*corev1.Pod).Name); other > ord {
			w.violations = append(w.violations, fmt.Sprintf("%s terminating while %s exists", p.Name, o.(*corev1.Pod).Name))
		}
	}
}

func (w *ordinalWatch) get() (created, terminated, violations []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.created...), append([]string(nil), w.terminated...), append([]string(nil), w.violations...)
}

func (cl *cluster) waitSet(name, what string, f func(*appsv1.StatefulSet) bool) *appsv1.StatefulSet {
	cl.t.Helper()
	var set *appsv1.StatefulSet
	cl.poll(60*time.Second, "statefulset "+name+" "+what, func() (bool, error) {
		var err error
		set, err = cl.c.AppsV1().StatefulSets("default").Get(cl.ctx, name, metav1.GetOptions{})
		return err == nil && set.Status.ObservedGeneration == set.Generation && f(set), err
	})
	return set
}

func (cl *cluster) scaleSet(name string, n int32) {
	cl.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	if _, err := cl.c.AppsV1().StatefulSets("default").Patch(cl.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		cl.t.Fatal(err)
	}
}

func TestStatefulSetOrderedScaling(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"statefulset", "garbagecollector"}}, "sts-")
	w := cl.watchOrdinals("web")
	if _, err := cl.c.AppsV1().StatefulSets("default").Create(cl.ctx, statefulSet("web", 0, appsv1.OrderedReadyPodManagement), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.waitSet("web", "observed", func(s *appsv1.StatefulSet) bool { return s.Status.UpdateRevision != "" })

	cl.scaleSet("web", 3)
	set := cl.waitSet("web", "3 ready", func(s *appsv1.StatefulSet) bool {
		return s.Status.Replicas == 3 && s.Status.ReadyReplicas == 3 && s.Status.AvailableReplicas == 3 &&
			s.Status.CurrentReplicas == 3 && s.Status.UpdatedReplicas == 3 && s.Status.CurrentRevision == s.Status.UpdateRevision
	})
	created, _, violations := w.get()
	if fmt.Sprint(created) != "[web-0 web-1 web-2]" || len(violations) > 0 {
		t.Errorf("created %v, violations %v", created, violations)
	}
	for i, p := range cl.podsOf("default", "app=web") {
		if p.Spec.Hostname != p.Name || p.Spec.Subdomain != "web" || p.Labels[appsv1.StatefulSetPodNameLabel] != p.Name ||
			p.Labels[appsv1.PodIndexLabel] != fmt.Sprint(i) || p.Labels[appsv1.ControllerRevisionHashLabelKey] != set.Status.UpdateRevision {
			t.Errorf("pod %s: hostname %q subdomain %q labels %v", p.Name, p.Spec.Hostname, p.Spec.Subdomain, p.Labels)
		}
	}

	cl.scaleSet("web", 0)
	cl.waitSet("web", "scaled to 0", func(s *appsv1.StatefulSet) bool { return s.Status.Replicas == 0 })
	cl.poll(30*time.Second, "pods gone", func() (bool, error) { return len(cl.podsOf("default", "app=web")) == 0, nil })
	_, terminated, violations := w.get()
	if fmt.Sprint(terminated) != "[web-2 web-1 web-0]" || len(violations) > 0 {
		t.Errorf("terminated %v, violations %v", terminated, violations)
	}

	msgs := map[string]bool{}
	evs, err := cl.c.CoreV1().Events("default").List(cl.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		msgs[e.Reason+": "+e.Message] = true
	}
	for _, want := range []string{"SuccessfulCreate: create Pod web-0 in StatefulSet web successful", "SuccessfulDelete: delete Pod web-2 in StatefulSet web successful"} {
		if !msgs[want] {
			t.Errorf("no event %q in %v", want, msgs)
		}
	}

	t.Run("Parallel with volumeClaimTemplates", func(t *testing.T) {
		db := statefulSet("db", 2, appsv1.ParallelPodManagement)
		db.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}}
		db.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType}
		created, err := cl.c.AppsV1().StatefulSets("default").Create(cl.ctx, db, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cl.waitSet("db", "2 ready", func(s *appsv1.StatefulSet) bool { return s.Status.ReadyReplicas == 2 })
		for i := 0; i < 2; i++ {
			pvc, err := cl.c.CoreV1().PersistentVolumeClaims("default").Get(cl.ctx, fmt.Sprintf("data-db-%d", i), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if pvc.Status.Phase != corev1.ClaimPending || pvc.Labels["app"] != "db" || len(pvc.OwnerReferences) != 1 || pvc.OwnerReferences[0].UID != created.UID {
				t.Errorf("claim %s: phase %s labels %v owners %v", pvc.Name, pvc.Status.Phase, pvc.Labels, pvc.OwnerReferences)
			}
		}
		pod, err := cl.c.CoreV1().Pods("default").Get(cl.ctx, "db-1", metav1.GetOptions{})
		if err != nil || pod.Spec.Volumes[0].PersistentVolumeClaim == nil || pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-db-1" {
			t.Errorf("pod db-1 volumes %+v (%v)", pod.Spec.Volumes, err)
		}
	})
}

func TestStatefulSetRollingUpdatePartition(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"statefulset"}}, "stsru-")
	if _, err := cl.c.AppsV1().StatefulSets("default").Create(cl.ctx, statefulSet("web", 3, appsv1.OrderedReadyPodManagement), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := func(s *appsv1.StatefulSet) bool { return s.Status.ReadyReplicas == 3 && s.Status.Replicas == 3 }
	rev1 := cl.waitSet("web", "3 ready", func(s *appsv1.StatefulSet) bool {
		return ready(s) && s.Status.CurrentRevision == s.Status.UpdateRevision
	}).Status.CurrentRevision

	// New image with partition 1 (and a change cause, as kubectl --record did).
	patch := `{"metadata":{"annotations":{"kubernetes.io/change-cause":"image nginx:2"}},` +
		`"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}},"template":{"spec":{"containers":[{"name":"main","image":"nginx:2"}]}}}}`
	if _, err := cl.c.AppsV1().StatefulSets("default").Patch(cl.ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	set := cl.waitSet("web", "updated from ordinal 1", func(s *appsv1.StatefulSet) bool {
		return ready(s) && s.Status.UpdatedReplicas == 2 && s.Status.UpdateRevision != rev1 && s.Status.CurrentRevision == rev1
	})
	rev2 := set.Status.UpdateRevision
	images := func() string {
		var out []string
		for _, p := range cl.podsOf("default", "app=web") {
			out = append(out, fmt.Sprintf("%s=%s@%s", p.Name, p.Spec.Containers[0].Image, p.Labels[appsv1.ControllerRevisionHashLabelKey]))
		}
		return strings.Join(out, " ")
	}
	if got, want := images(), fmt.Sprintf("web-0=nginx@%s web-1=nginx:2@%s web-2=nginx:2@%s", rev1, rev2, rev2); got != want {
		t.Errorf("pods %s, want %s", got, want)
	}
	revs, err := cl.c.AppsV1().ControllerRevisions("default").List(cl.ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]appsv1.ControllerRevision{}
	for _, r := range revs.Items {
		byName[r.Name] = r
	}
	if len(byName) != 2 || byName[rev1].Revision != 1 || byName[rev2].Revision != 2 ||
		byName[rev2].Annotations["kubernetes.io/change-cause"] != "image nginx:2" || metav1.GetControllerOf(&revs.Items[0]) == nil {
		t.Errorf("revisions %+v", byName)
	}

	// Partition 0 finishes the rollout.
	if _, err := cl.c.AppsV1().StatefulSets("default").Patch(cl.ctx, "web", types.MergePatchType,
		[]byte(`{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.waitSet("web", "rolled out", func(s *appsv1.StatefulSet) bool {
		return ready(s) && s.Status.UpdatedReplicas == 3 && s.Status.CurrentRevision == rev2 && s.Status.CurrentReplicas == 3
	})

	// kubectl rollout undo: the previous revision's data is patched onto the set; that
	// revision is renumbered rather than copied.
	old := byName[rev1]
	if _, err := cl.c.AppsV1().StatefulSets("default").Patch(cl.ctx, "web", types.StrategicMergePatchType, old.Data.Raw, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.waitSet("web", "rolled back", func(s *appsv1.StatefulSet) bool {
		return ready(s) && s.Status.UpdatedReplicas == 3 && s.Status.CurrentRevision == rev1 && s.Status.UpdateRevision == rev1
	})
	back, err := cl.c.AppsV1().ControllerRevisions("default").Get(cl.ctx, rev1, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if back.Revision != 3 {
		t.Errorf("revision %s after undo: %d, want 3", rev1, back.Revision)
	}
	if got, want := images(), fmt.Sprintf("web-0=nginx@%s web-1=nginx@%s web-2=nginx@%s", rev1, rev1, rev1); got != want {
		t.Errorf("pods %s, want %s", got, want)
	}
}
