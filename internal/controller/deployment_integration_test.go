package controller_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/controller/deployment"
)

// podCounter watches the pods of a selector and remembers the most active pods and the fewest
// available (ready) ones it ever saw.
type podCounter struct {
	mu                  sync.Mutex
	store               cache.Store
	maxActive, minReady int
	mixed               bool // pods of two templates active at once
}

func (cl *cluster) countPods(ns, selector string) *podCounter {
	pc := &podCounter{maxActive: 0, minReady: 1 << 30}
	f := informers.NewSharedInformerFactoryWithOptions(cl.c, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	inf := f.Core().V1().Pods().Informer()
	pc.store = inf.GetStore()
	observe := func(any) {
		pc.mu.Lock()
		defer pc.mu.Unlock()
		active, ready := 0, 0
		hashes := map[string]bool{}
		for _, o := range pc.store.List() {
			p := o.(*corev1.Pod)
			if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			active++
			hashes[p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]] = true
			if podReady(p) {
				ready++
			}
		}
		pc.maxActive = max(pc.maxActive, active)
		pc.minReady = min(pc.minReady, ready)
		pc.mixed = pc.mixed || len(hashes) > 1
	}
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: observe, UpdateFunc: func(_, o any) { observe(o) }, DeleteFunc: observe})
	f.Start(cl.ctx.Done())
	cache.WaitForCacheSync(cl.ctx.Done(), inf.HasSynced)
	return pc
}

func (pc *podCounter) reset() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.maxActive, pc.minReady, pc.mixed = 0, 1<<30, false
}

func (pc *podCounter) get() (int, int, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.maxActive, pc.minReady, pc.mixed
}

// rolledOut is kubectl rollout status's test of a finished rollout.
func rolledOut(d *appsv1.Deployment) bool {
	c := deployment.Condition(d.Status, appsv1.DeploymentProgressing)
	return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == *d.Spec.Replicas &&
		d.Status.Replicas == d.Status.UpdatedReplicas && d.Status.AvailableReplicas == d.Status.UpdatedReplicas &&
		c != nil && c.Reason == deployment.NewRSAvailableReason
}

func (cl *cluster) waitRolledOut(ns, name string) *appsv1.Deployment {
	cl.t.Helper()
	var d *appsv1.Deployment
	cl.poll(40*time.Second, "deployment "+name+" rolled out", func() (bool, error) {
		var err error
		d, err = cl.c.AppsV1().Deployments(ns).Get(cl.ctx, name, metav1.GetOptions{})
		return err == nil && rolledOut(d), err
	})
	return d
}

func (cl *cluster) replicaSets(ns, selector string) map[string]appsv1.ReplicaSet {
	l, err := cl.c.AppsV1().ReplicaSets(ns).List(cl.ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		cl.t.Fatal(err)
	}
	out := map[string]appsv1.ReplicaSet{}
	for _, rs := range l.Items {
		out[rs.Spec.Template.Spec.Containers[0].Image] = rs
	}
	return out
}

func (cl *cluster) setImage(ns, name, image string) {
	cl.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, image)
	if _, err := cl.c.AppsV1().Deployments(ns).Patch(cl.ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		cl.t.Fatal(err)
	}
}

func TestDeploymentRollingUpdate(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"replicaset", "deployment"}}, "dep-")
	pc := cl.countPods("default", "app=web")
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: podTemplate("web", "nginx:1"),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(1))}},
		},
	}
	if _, err := cl.c.AppsV1().Deployments("default").Create(cl.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = cl.waitRolledOut("default", "web")
	rsA := cl.replicaSets("default", "app=web")["nginx:1"]
	hash := deployment.ComputeHash(&d.Spec.Template, nil)
	if rsA.Name != "web-"+hash || rsA.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		rsA.Annotations[deployment.RevisionAnnotation] != "1" || rsA.Annotations[deployment.DesiredReplicasAnnotation] != "4" ||
		rsA.Annotations[deployment.MaxReplicasAnnotation] != "5" || d.Annotations[deployment.RevisionAnnotation] != "1" {
		t.Errorf("first ReplicaSet %s labels %v annotations %v; deployment annotations %v", rsA.Name, rsA.Labels, rsA.Annotations, d.Annotations)
	}
	if c := deployment.Condition(d.Status, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionTrue || c.Reason != deployment.MinimumReplicasAvailable {
		t.Errorf("Available condition %+v", c)
	}

	// A to B: never more than replicas+maxSurge active pods, never fewer than
	// replicas-maxUnavailable ready ones.
	pc.reset()
	cl.setImage("default", "web", "nginx:2")
	d = cl.waitRolledOut("default", "web")
	maxActive, minReady, _ := pc.get()
	if maxActive > 5 || minReady < 3 {
		t.Errorf("rolling update A to B: at most %d active pods (limit 5), at least %d ready (limit 3)", maxActive, minReady)
	}
	rss := cl.replicaSets("default", "app=web")
	rsB := rss["nginx:2"]
	if len(rss) != 2 || *rss["nginx:1"].Spec.Replicas != 0 || rsB.Annotations[deployment.RevisionAnnotation] != "2" || d.Annotations[deployment.RevisionAnnotation] != "2" {
		t.Errorf("after A to B: %d ReplicaSets, B's annotations %v, deployment's %v", len(rss), rsB.Annotations, d.Annotations)
	}

	// kubectl rollout undo: the template patched back to A's (without its hash label). A's
	// ReplicaSet is reused under revision 3.
	tmpl := rsA.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
	if _, err := cl.c.AppsV1().Deployments("default").Patch(cl.ctx, "web", types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	d = cl.waitRolledOut("default", "web")
	rss = cl.replicaSets("default", "app=web")
	back := rss["nginx:1"]
	if len(rss) != 2 || back.UID != rsA.UID || back.Annotations[deployment.RevisionAnnotation] != "3" ||
		back.Annotations[deployment.RevisionHistoryAnnotation] != "1" || d.Annotations[deployment.RevisionAnnotation] != "3" ||
		*rss["nginx:2"].Spec.Replicas != 0 {
		t.Errorf("after undo: %d ReplicaSets, A reused %v, annotations %v, deployment's %v", len(rss), back.UID == rsA.UID, back.Annotations, d.Annotations)
	}

	// Pause halfway: with minReadySeconds each step waits, so the rollout to C can be caught
	// with both ReplicaSets scaled up; paused, it stays there; resumed, it finishes.
	if _, err := cl.c.AppsV1().Deployments("default").Patch(cl.ctx, "web", types.MergePatchType, []byte(`{"spec":{"minReadySeconds":2}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.waitRolledOut("default", "web")
	cl.setImage("default", "web", "nginx:3")
	cl.poll(20*time.Second, "the rollout to C under way", func() (bool, error) {
		rss := cl.replicaSets("default", "app=web")
		c, a := rss["nginx:3"], rss["nginx:1"]
		return c.Spec.Replicas != nil && *c.Spec.Replicas > 0 && *a.Spec.Replicas > 0, nil
	})
	if _, err := cl.c.AppsV1().Deployments("default").Patch(cl.ctx, "web", types.MergePatchType, []byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var paused map[string]appsv1.ReplicaSet
	cl.poll(20*time.Second, "the paused deployment settled", func() (bool, error) {
		d, err := cl.c.AppsV1().Deployments("default").Get(cl.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := deployment.Condition(d.Status, appsv1.DeploymentProgressing)
		paused = cl.replicaSets("default", "app=web")
		settled := true
		for _, rs := range paused {
			settled = settled && rs.Status.Replicas == *rs.Spec.Replicas && rs.Status.AvailableReplicas == *rs.Spec.Replicas
		}
		return c != nil && c.Reason == deployment.PausedDeployReason && d.Status.ObservedGeneration == d.Generation && settled, nil
	})
	// Everything is available and minReadySeconds has passed: an unpaused rollout would move
	// on now. Give the controller a moment to (wrongly) do so, then check it did not.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		now := cl.replicaSets("default", "app=web")
		for img, rs := range paused {
			if *now[img].Spec.Replicas != *rs.Spec.Replicas {
				t.Fatalf("paused deployment scaled %s from %d to %d", img, *rs.Spec.Replicas, *now[img].Spec.Replicas)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if *paused["nginx:3"].Spec.Replicas == 0 || *paused["nginx:1"].Spec.Replicas == 0 {
		t.Errorf("paused not halfway: C %d, A %d", *paused["nginx:3"].Spec.Replicas, *paused["nginx:1"].Spec.Replicas)
	}
	if _, err := cl.c.AppsV1().Deployments("default").Patch(cl.ctx, "web", types.MergePatchType, []byte(`{"spec":{"paused":false,"revisionHistoryLimit":1}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	d = cl.waitRolledOut("default", "web")
	// revisionHistoryLimit 1: one old ReplicaSet kept.
	cl.poll(20*time.Second, "old ReplicaSets cleaned up", func() (bool, error) {
		return len(cl.replicaSets("default", "app=web")) == 2, nil
	})
	if d.Annotations[deployment.RevisionAnnotation] != "4" {
		t.Errorf("revision %q, want 4", d.Annotations[deployment.RevisionAnnotation])
	}

	// Scaling in the middle of nothing: replicas 4 to 6 goes straight to the new ReplicaSet.
	if _, err := cl.c.AppsV1().Deployments("default").UpdateScale(cl.ctx, "web", scaleTo(6, d), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.waitRolledOut("default", "web")
}

func TestDeploymentRecreate(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"replicaset", "deployment"}}, "rec-")
	pc := cl.countPods("default", "app=batch")
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "batch", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "batch"}},
			Template: podTemplate("batch", "worker:1"),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
		},
	}
	if _, err := cl.c.AppsV1().Deployments("default").Create(cl.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.waitRolledOut("default", "batch")
	pc.reset()
	cl.setImage("default", "batch", "worker:2")
	cl.waitRolledOut("default", "batch")
	if _, _, mixed := pc.get(); mixed {
		t.Error("Recreate ran old and new pods at once")
	}
}
