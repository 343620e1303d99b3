package integration

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestGracefulPodDeletion(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	pods := client().CoreV1().Pods(ns)
	mk := func(name, node string) {
		_, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "img"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	// An unscheduled pod goes at once.
	mk("unscheduled", "")
	if err := pods.Delete(ctx, "unscheduled", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "unscheduled", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("unscheduled pod still there: %v", err)
	}
	// A scheduled pod waits for its node: deletionTimestamp is now + grace period.
	mk("bound", "node-a")
	before := time.Now().Truncate(time.Second)
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "bound", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("graceful deletion: %v %+v", err, p.ObjectMeta)
	}
	if d := p.DeletionTimestamp.Sub(before); d < 29*time.Second || d > 32*time.Second {
		t.Fatalf("deletionTimestamp %s is not 30s after %s", p.DeletionTimestamp, before)
	}
	// A shorter grace period brings it forward; grace 0 (what the node does) removes it.
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](5)}); err != nil {
		t.Fatal(err)
	}
	p, _ = pods.Get(ctx, "bound", metav1.GetOptions{})
	if *p.DeletionGracePeriodSeconds != 5 {
		t.Fatalf("grace period after a shorter delete: %d", *p.DeletionGracePeriodSeconds)
	}
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod still there after grace 0: %v", err)
	}
}

func TestFinalizersAndPropagation(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := cms.Get(ctx, "held", metav1.GetOptions{})
	if err != nil || cm.DeletionTimestamp == nil {
		t.Fatalf("object with a finalizer: %v %+v", err, cm)
	}
	// No new finalizers on an object being deleted.
	_, err = cms.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("adding a finalizer during deletion: %v", err)
	}
	// Clearing the last finalizer removes the object.
	if _, err := cms.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("object still there after its finalizers went: %v", err)
	}

	for _, c := range []struct {
		policy    metav1.DeletionPropagation
		finalizer string
	}{{metav1.DeletePropagationForeground, metav1.FinalizerDeleteDependents}, {metav1.DeletePropagationOrphan, metav1.FinalizerOrphanDependents}} {
		name := "p-" + string(c.policy)
		name = fmt.Sprintf("p-%d", len(c.policy))
		_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err := cms.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &c.policy}); err != nil {
			t.Fatal(err)
		}
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if err != nil || cm.DeletionTimestamp == nil || len(cm.Finalizers) != 1 || cm.Finalizers[0] != c.finalizer {
			t.Fatalf("%s: %v %+v", c.policy, err, cm)
		}
	}

	// Preconditions.
	cm, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pre"}}, metav1.CreateOptions{})
	err = cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("other"))}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("uid precondition: %v", err)
	}
	if err := cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}}); err != nil {
		t.Fatal(err)
	}
}

func TestNamespaceLifecycle(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	got, _ := client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if got.Status.Phase != corev1.NamespaceActive || got.Labels[corev1.LabelMetadataName] != ns || len(got.Spec.Finalizers) != 1 {
		t.Fatalf("new namespace: %+v", got)
	}
	_, _ = client().CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}, metav1.CreateOptions{})
	if err := client().CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err == nil {
		if got.Status.Phase != corev1.NamespaceTerminating {
			t.Fatalf("deleted namespace phase %q", got.Status.Phase)
		}
		_, err = client().CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
		if err != nil && (!apierrors.IsForbidden(err) || err.Error() != `configmaps "late" is forbidden: unable to create new content in namespace `+ns+` because it is being terminated`) {
			// The namespace may already be gone (NotFound) if finalization was quick.
			if !apierrors.IsNotFound(err) {
				t.Fatalf("create in a terminating namespace: %v", err)
			}
		}
	}
	eventually(t, 15*time.Second, func() error {
		_, err := client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace still there: %v", err)
	})
	if _, err := client().CoreV1().ConfigMaps(ns).Get(ctx, "content", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace content survived: %v", err)
	}
}
