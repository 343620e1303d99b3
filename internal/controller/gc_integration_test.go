package controller_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
)

func (cl *cluster) createDeployment(name string, replicas int32) *appsv1.Deployment {
	cl.t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, "nginx")},
	}
	d, err := cl.c.AppsV1().Deployments("default").Create(cl.ctx, d, metav1.CreateOptions{})
	if err != nil {
		cl.t.Fatal(err)
	}
	return d
}

func TestGarbageCollection(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"replicaset", "deployment", "garbagecollector"}}, "gc-")
	for _, name := range []string{"bg", "fg", "orphan"} {
		cl.createDeployment(name, 2)
	}
	for _, name := range []string{"bg", "fg", "orphan"} {
		cl.waitRolledOut("default", name)
	}
	gone := func(err error) bool { return apierrors.IsNotFound(err) }
	del := func(name string, p metav1.DeletionPropagation) {
		if err := cl.c.AppsV1().Deployments("default").Delete(cl.ctx, name, metav1.DeleteOptions{PropagationPolicy: &p}); err != nil {
			t.Fatal(err)
		}
	}

	// Background: the Deployment goes at once, then its ReplicaSet and pods.
	del("bg", metav1.DeletePropagationBackground)
	if _, err := cl.c.AppsV1().Deployments("default").Get(cl.ctx, "bg", metav1.GetOptions{}); !gone(err) {
		t.Errorf("background: deployment still there (%v)", err)
	}
	// Foreground: the Deployment stays, with the finalizer, until its dependents are gone.
	del("fg", metav1.DeletePropagationForeground)
	d, err := cl.c.AppsV1().Deployments("default").Get(cl.ctx, "fg", metav1.GetOptions{})
	if err != nil || d.DeletionTimestamp == nil || len(d.Finalizers) != 1 || d.Finalizers[0] != metav1.FinalizerDeleteDependents {
		t.Errorf("foreground: deployment %v, err %v", d.ObjectMeta, err)
	}
	// Orphan: the Deployment goes, its ReplicaSet stays without an owner, and so do its pods.
	del("orphan", metav1.DeletePropagationOrphan)

	// A ConfigMap whose owner never existed is collected.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: "default", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "ConfigMap", Name: "nobody", UID: "5a0a9b7e-0000-4000-8000-000000000000"}}}}
	if _, err := cl.c.CoreV1().ConfigMaps("default").Create(cl.ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cl.poll(40*time.Second, "background and foreground dependents collected", func() (bool, error) {
		for _, app := range []string{"bg", "fg"} {
			if len(cl.podsOf("default", "app="+app)) > 0 || len(cl.replicaSets("default", "app="+app)) > 0 {
				return false, nil
			}
		}
		_, err := cl.c.AppsV1().Deployments("default").Get(cl.ctx, "fg", metav1.GetOptions{})
		return gone(err), nil
	})
	cl.poll(20*time.Second, "the orphaned ReplicaSet released and the stray ConfigMap collected", func() (bool, error) {
		_, err := cl.c.AppsV1().Deployments("default").Get(cl.ctx, "orphan", metav1.GetOptions{})
		rss := cl.replicaSets("default", "app=orphan")
		released := len(rss) == 1
		for _, rs := range rss {
			released = released && len(rs.OwnerReferences) == 0
		}
		_, cmErr := cl.c.CoreV1().ConfigMaps("default").Get(cl.ctx, "stray", metav1.GetOptions{})
		return gone(err) && released && gone(cmErr), nil
	})
	if n := len(cl.podsOf("default", "app=orphan")); n != 2 {
		t.Errorf("orphaned ReplicaSet has %d pods, want 2", n)
	}
}
