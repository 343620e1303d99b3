package disruption

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func pod(name string, owner types.UID, ready bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if owner != "" {
		p.OwnerReferences = []metav1.OwnerReference{{UID: owner, Controller: ptr.To(true), Kind: "ReplicaSet", Name: "rs"}}
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	return p
}

func TestExpectedAndDesired(t *testing.T) {
	pods := []*corev1.Pod{pod("a", "rs1", true), pod("b", "rs1", true), pod("c", "rs2", false)}
	owners := map[types.UID]int32{"rs1": 4, "rs2": 2}
	tests := []struct {
		name          string
		spec          policyv1.PodDisruptionBudgetSpec
		want, desired int32
	}{
		{"minAvailable int counts pods", policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(2))}, 3, 2},
		{"minAvailable percent uses scale, rounded up", policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromString("50%"))}, 6, 3},
		{"maxUnavailable int", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(1))}, 6, 5},
		{"maxUnavailable percent rounded up", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromString("10%"))}, 6, 5},
	}
	for _, tt := range tests {
		pdb := &policyv1.PodDisruptionBudget{Spec: tt.spec}
		got, err := Expected(pdb, pods, owners)
		if err != nil || got != tt.want {
			t.Errorf("%s: expected %d, %v; want %d", tt.name, got, err, tt.want)
			continue
		}
		if d, err := Desired(pdb, got); err != nil || d != tt.desired {
			t.Errorf("%s: desired %d, %v; want %d", tt.name, d, err, tt.desired)
		}
	}
	orphan := []*corev1.Pod{pod("x", "", true)}
	if _, err := Expected(&policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(1))}}, orphan, owners); err == nil {
		t.Error("a pod without a controller must fail a maxUnavailable budget")
	}
}

func TestCompute(t *testing.T) {
	now := time.Now()
	pods := []*corev1.Pod{pod("a", "rs", true), pod("b", "rs", true), pod("c", "rs", true), pod("d", "rs", false)}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Status: policyv1.PodDisruptionBudgetStatus{
		DisruptedPods: map[string]metav1.Time{"a": metav1.NewTime(now.Add(-time.Minute)), "gone": metav1.NewTime(now), "old": metav1.NewTime(now.Add(-time.Hour))}}}
	st := Compute(pdb, pods, 4, 1, now)
	if st.CurrentHealthy != 2 || st.DisruptionsAllowed != 1 || st.ObservedGeneration != 3 || len(st.DisruptedPods) != 1 {
		t.Fatalf("status %+v", st)
	}
	if c := st.Conditions[0]; c.Status != metav1.ConditionTrue || c.Reason != SufficientPodsReason {
		t.Errorf("condition %+v", c)
	}
	st = Compute(pdb, pods, 4, 3, now)
	if st.DisruptionsAllowed != 0 || st.Conditions[0].Reason != InsufficientPodsReason {
		t.Errorf("insufficient: %+v", st)
	}
	f := Failed(pdb, errors.New("found no controllers for pod \"x\""), now)
	if f.DisruptionsAllowed != 0 || f.Conditions[0].Reason != SyncFailedReason {
		t.Errorf("failed: %+v", f)
	}
}
