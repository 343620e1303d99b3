package controller_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
)

// TestDisruptionBudget: a PodDisruptionBudget's status follows its Deployment's pods, and the
// eviction subresource takes disruptions from it until none are left, then answers 429.
func TestDisruptionBudget(t *testing.T) {
	cl := startCluster(t, controller.Options{Controllers: []string{"deployment", "replicaset", "disruption"}}, "pdb-")
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](3),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx"}}}},
	}}
	if _, err := cl.c.AppsV1().Deployments("default").Create(cl.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: policyv1.PodDisruptionBudgetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
	}}
	pdb.Spec.MaxUnavailable = ptr.To(intstr.FromInt32(1))
	if _, err := cl.c.PolicyV1().PodDisruptionBudgets("default").Create(cl.ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var status policyv1.PodDisruptionBudgetStatus
	cl.poll(30*time.Second, "PDB status with 3 healthy pods", func() (bool, error) {
		cur, err := cl.c.PolicyV1().PodDisruptionBudgets("default").Get(cl.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		status = cur.Status
		return cur.Status.ObservedGeneration == cur.Generation && cur.Status.CurrentHealthy == 3, nil
	})
	if status.ExpectedPods != 3 || status.DesiredHealthy != 2 || status.DisruptionsAllowed != 1 || len(status.Conditions) != 1 ||
		status.Conditions[0].Reason != "SufficientPods" {
		t.Fatalf("status %+v", status)
	}
	pods := cl.podsOf("default", "app=web")
	evict := func(name string) error {
		return cl.c.PolicyV1().Evictions("default").Evict(cl.ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}})
	}
	// The evicted pod's replacement stays Pending until the binder is released, so the budget
	// has no room for a second eviction whatever the timing.
	cl.holdBinding.Store(true)
	if err := evict(pods[0].Name); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	cl.poll(30*time.Second, "PDB recounted after the eviction", func() (bool, error) {
		cur, err := cl.c.PolicyV1().PodDisruptionBudgets("default").Get(cl.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cur.Status.CurrentHealthy == 2 && cur.Status.DisruptionsAllowed == 0, nil
	})
	err := evict(pods[1].Name)
	if !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Fatalf("second eviction: got %v, want 429", err)
	}
	st, ok := err.(apierrors.APIStatus)
	if !ok || len(st.Status().Details.Causes) != 1 || st.Status().Details.Causes[0].Message != fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", "web", 2, 2) {
		t.Fatalf("second eviction's cause: %+v", err)
	}
	// Once the replacement is Ready, the budget allows one disruption again.
	cl.holdBinding.Store(false)
	cl.poll(30*time.Second, "budget restored", func() (bool, error) {
		cur, err := cl.c.PolicyV1().PodDisruptionBudgets("default").Get(cl.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cur.Status.DisruptionsAllowed == 1 && cur.Status.CurrentHealthy == 3, nil
	})
	if err := evict(pods[1].Name); err != nil {
		t.Fatalf("eviction after recovery: %v", err)
	}
}
