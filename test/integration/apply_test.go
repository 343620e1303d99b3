package integration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

func TestServerSideApply(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)

	cfg := corev1ac.ConfigMap("ssa", ns).WithData(map[string]string{"a": "1", "b": "2"})
	cm, err := cms.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if cm.UID == "" || len(cm.ManagedFields) != 1 || cm.ManagedFields[0].Manager != "alice" || cm.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("apply create: %+v", cm.ObjectMeta)
	}
	// Re-applying the same configuration changes nothing.
	again, err := cms.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "alice"})
	if err != nil || again.ResourceVersion != cm.ResourceVersion {
		t.Fatalf("re-apply: %v, rv %s -> %s", err, cm.ResourceVersion, again.ResourceVersion)
	}
	// Another applier who sets a field alice owns to another value conflicts.
	_, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(map[string]string{"a": "other"}), metav1.ApplyOptions{FieldManager: "bob"})
	status, ok := err.(apierrors.APIStatus)
	if !apierrors.IsConflict(err) || !ok || len(status.Status().Details.Causes) != 1 || status.Status().Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict {
		t.Fatalf("conflicting apply: %v", err)
	}
	// With force, bob takes the field over.
	cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(map[string]string{"a": "other"}), metav1.ApplyOptions{FieldManager: "bob", Force: true})
	if err != nil || cm.Data["a"] != "other" || cm.Data["b"] != "2" || len(cm.ManagedFields) != 2 {
		t.Fatalf("forced apply: %v %+v", err, cm)
	}
	// Alice dropping a field she alone owns removes it.
	cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(map[string]string{}), metav1.ApplyOptions{FieldManager: "alice"})
	if err != nil || cm.Data["b"] != "" || cm.Data["a"] != "other" {
		t.Fatalf("apply dropping a field: %v %+v", err, cm.Data)
	}

	// Ordinary writes are recorded as Update operations, status writes with their subresource.
	_, err = cms.Patch(ctx, "ssa", types.MergePatchType, []byte(`{"data":{"c":"3"}}`), metav1.PatchOptions{FieldManager: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	cm, _ = cms.Get(ctx, "ssa", metav1.GetOptions{})
	if !hasManager(cm.ManagedFields, "carol", metav1.ManagedFieldsOperationUpdate, "") {
		t.Fatalf("merge patch not recorded: %+v", cm.ManagedFields)
	}
	pod, err := client().CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}}}, metav1.CreateOptions{FieldManager: "creator"})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Message = "hello"
	pod, err = client().CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{FieldManager: "agent"})
	if err != nil || !hasManager(pod.ManagedFields, "creator", metav1.ManagedFieldsOperationUpdate, "") || !hasManager(pod.ManagedFields, "agent", metav1.ManagedFieldsOperationUpdate, "status") {
		t.Fatalf("status write: %v %+v", err, pod.ManagedFields)
	}

	// Dry-run apply stores nothing; apply needs a field manager.
	_, err = cms.Apply(ctx, corev1ac.ConfigMap("dry", ns), metav1.ApplyOptions{FieldManager: "alice", DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run apply stored the object: %v", err)
	}
	_, err = client().CoreV1().RESTClient().Patch(types.ApplyPatchType).Namespace(ns).Resource("configmaps").Name("nomanager").
		Body([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nomanager"}}`)).Do(context.Background()).Get()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("apply without a field manager: %v", err)
	}
}

func hasManager(entries []metav1.ManagedFieldsEntry, manager string, op metav1.ManagedFieldsOperationType, sub string) bool {
	for _, e := range entries {
		if e.Manager == manager && e.Operation == op && e.Subresource == sub {
			return true
		}
	}
	return false
}
