package controller_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
)

func podTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
	}
}

func (cl *cluster) podsOf(ns, selector string) []corev1.Pod {
	l, err := cl.c.CoreV1().Pods(ns).List(cl.ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		cl.t.Fatal(err)
	}
	return l.Items
}

func TestReplicaSet(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"replicaset"}}, "rs-")
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: podTemplate("web", "nginx")},
	}
	rs, err := cl.c.AppsV1().ReplicaSets("default").Create(cl.ctx, rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitRS := func(replicas int32) {
		t.Helper()
		cl.poll(30*time.Second, "ReplicaSet web ready", func() (bool, error) {
			cur, err := cl.c.AppsV1().ReplicaSets("default").Get(cl.ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			st := cur.Status
			return st.ObservedGeneration == cur.Generation && st.Replicas == replicas && st.ReadyReplicas == replicas &&
				st.AvailableReplicas == replicas && st.FullyLabeledReplicas == replicas && len(cl.podsOf("default", "app=web")) == int(replicas), nil
		})
	}
	waitRS(4)

	// An orphan that matches is adopted (and, being one too many, one pod goes).
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx"}}}}
	if _, err := cl.c.CoreV1().Pods("default").Create(cl.ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(20*time.Second, "the orphan pod adopted or deleted", func() (bool, error) {
		p, err := cl.c.CoreV1().Pods("default").Get(cl.ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return true, nil // deleted: it was the least valuable (unassigned or not ready)
		}
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == rs.UID, nil
	})
	waitRS(4)

	// A pod whose labels no longer match is released, and replaced.
	victim := cl.podsOf("default", "app=web")[0]
	patch := []byte(`{"metadata":{"labels":{"app":"debug"}}}`)
	if _, err := cl.c.CoreV1().Pods("default").Patch(cl.ctx, victim.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(20*time.Second, "the relabelled pod released", func() (bool, error) {
		p, err := cl.c.CoreV1().Pods("default").Get(cl.ctx, victim.Name, metav1.GetOptions{})
		return err == nil && metav1.GetControllerOf(p) == nil, err
	})
	waitRS(4)

	// Scale down to 1, then delete a pod: it comes back.
	if _, err := cl.c.AppsV1().ReplicaSets("default").UpdateScale(cl.ctx, "web", scaleTo(1, rs), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRS(1)
	last := cl.podsOf("default", "app=web")[0]
	if err := cl.c.CoreV1().Pods("default").Delete(cl.ctx, last.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(20*time.Second, "a replacement pod", func() (bool, error) {
		ps := cl.podsOf("default", "app=web")
		return len(ps) == 1 && ps[0].Name != last.Name, nil
	})
	waitRS(1)

	// Events carry upstream's reasons.
	evs, err := cl.c.CoreV1().Events("default").List(cl.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=web"})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, e := range evs.Items {
		reasons[e.Reason] = true
	}
	if !reasons["SuccessfulCreate"] || !reasons["SuccessfulDelete"] {
		t.Errorf("event reasons %v", reasons)
	}
}

func scaleTo(n int32, o metav1.Object) *autoscalingv1.Scale {
	return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace()}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
}
