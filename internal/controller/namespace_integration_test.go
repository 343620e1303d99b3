package controller_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/controller"
)

// TestNamespaceDeletion: deleting a namespace empties it, reports what remains in its
// conditions while a finalizer holds an object, and removes it once that finalizer goes.
func TestNamespaceDeletion(t *testing.T) {
	cl := startCluster(t, controller.Options{Controllers: []string{"namespace"}})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}
	if _, err := cl.c.CoreV1().Namespaces().Create(cl.ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "doomed"}}
		if name == "b" {
			cm.Finalizers = []string{"example.com/hold"}
		}
		if _, err := cl.c.CoreV1().ConfigMaps("doomed").Create(cl.ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.c.CoreV1().Namespaces().Delete(cl.ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(20*time.Second, "conditions name the remaining configmap and its finalizer", func() (bool, error) {
		cur, err := cl.c.CoreV1().Namespaces().Get(cl.ctx, "doomed", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var remaining, finalizers string
		for _, c := range cur.Status.Conditions {
			switch c.Type {
			case corev1.NamespaceContentRemaining:
				remaining = c.Message
			case corev1.NamespaceFinalizersRemaining:
				finalizers = c.Message
			}
		}
		return strings.Contains(remaining, "Some resources are remaining: configmaps. has 1 resource instances") &&
			finalizers == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances", nil
	})
	if _, err := cl.c.CoreV1().ConfigMaps("doomed").Get(cl.ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("configmap a still there: %v", err)
	}
	b, err := cl.c.CoreV1().ConfigMaps("doomed").Get(cl.ctx, "b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Finalizers = nil
	if _, err := cl.c.CoreV1().ConfigMaps("doomed").Update(cl.ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(20*time.Second, "namespace gone", func() (bool, error) {
		_, err := cl.c.CoreV1().Namespaces().Get(cl.ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
