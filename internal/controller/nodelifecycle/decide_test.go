package nodelifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestReconcileTaints(t *testing.T) {
	custom := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	earlier := metav1.NewTime(now.Add(-time.Minute))
	old := UnreachableNoExecute
	old.TimeAdded = &earlier
	cases := []struct {
		name        string
		current     []corev1.Taint
		ready       corev1.ConditionStatus
		wantKeys    []string
		wantChanged bool
	}{
		{"ready node untouched", []corev1.Taint{custom}, corev1.ConditionTrue, []string{"dedicated"}, false},
		{"unknown: unreachable taints", []corev1.Taint{custom}, corev1.ConditionUnknown,
			[]string{"dedicated", corev1.TaintNodeUnreachable, corev1.TaintNodeUnreachable}, true},
		{"not ready: not-ready taints", nil, corev1.ConditionFalse, []string{corev1.TaintNodeNotReady, corev1.TaintNodeNotReady}, true},
		{"back to ready: untainted", []corev1.Taint{custom, old, UnreachableNoSchedule}, corev1.ConditionTrue, []string{"dedicated"}, true},
		{"already tainted: no change", []corev1.Taint{old, UnreachableNoSchedule}, corev1.ConditionUnknown,
			[]string{corev1.TaintNodeUnreachable, corev1.TaintNodeUnreachable}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, changed := Reconcile(c.current, WantedTaints(c.ready), now)
			var keys []string
			for _, tt := range got {
				keys = append(keys, tt.Key)
				if tt.Key == corev1.TaintNodeUnreachable && tt.Effect == corev1.TaintEffectNoExecute && c.name == "already tainted: no change" && !tt.TimeAdded.Equal(&earlier) {
					t.Error("timeAdded of an existing taint changed")
				}
			}
			if changed != c.wantChanged || len(keys) != len(c.wantKeys) {
				t.Fatalf("taints %v changed %v, want %v %v", keys, changed, c.wantKeys, c.wantChanged)
			}
			for i := range keys {
				if keys[i] != c.wantKeys[i] {
					t.Errorf("taints %v, want %v", keys, c.wantKeys)
				}
			}
		})
	}
}

func TestEvictionDelay(t *testing.T) {
	at := metav1.NewTime(now.Add(-100 * time.Second))
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &at}
	pod := func(tols ...corev1.Toleration) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tols}}
	}
	tol := func(secs *int64) corev1.Toleration {
		return corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs}
	}
	cases := []struct {
		name   string
		pod    *corev1.Pod
		taints []corev1.Taint
		want   time.Duration
	}{
		{"no NoExecute taint", pod(), []corev1.Taint{UnreachableNoSchedule}, -1},
		{"not tolerated: now", pod(), []corev1.Taint{unreachable}, 0},
		{"tolerated forever", pod(tol(nil)), []corev1.Taint{unreachable}, -1},
		{"300 s default, 100 s gone", pod(tol(ptr.To[int64](300))), []corev1.Taint{unreachable}, 200 * time.Second},
		{"toleration expired", pod(tol(ptr.To[int64](30))), []corev1.Taint{unreachable}, 0},
		{"wildcard toleration", pod(corev1.Toleration{Operator: corev1.TolerationOpExists}), []corev1.Taint{unreachable}, -1},
	}
	for _, c := range cases {
		if got := EvictionDelay(c.pod, c.taints, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestHealth(t *testing.T) {
	var h Health
	h = h.Observe(now.Add(-time.Hour), now) // a skewed node clock does not matter
	if h.Stale(now.Add(40*time.Second), 50*time.Second) || !h.Stale(now.Add(51*time.Second), 50*time.Second) {
		t.Error("staleness not measured from the controller's own observation")
	}
	h2 := h.Observe(now.Add(-time.Hour), now.Add(30*time.Second)) // same heartbeat: no renewal
	if h2.Observed != now {
		t.Error("an unchanged heartbeat counted as a renewal")
	}
}
