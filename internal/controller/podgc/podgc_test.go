package podgc

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecide(t *testing.T) {
	now := time.Now()
	mk := func(name, node string, phase corev1.PodPhase, age time.Duration, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
		if deleting {
			p.DeletionTimestamp = &metav1.Time{Time: now}
		}
		return p
	}
	nodes := map[string]*corev1.Node{
		"n1":  {ObjectMeta: metav1.ObjectMeta{Name: "n1"}},
		"oos": {ObjectMeta: metav1.ObjectMeta{Name: "oos"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: outOfServiceTaintKey, Effect: corev1.TaintEffectNoExecute}}}},
	}
	pods := []*corev1.Pod{
		mk("old-done", "n1", corev1.PodSucceeded, 3*time.Hour, false),
		mk("mid-done", "n1", corev1.PodFailed, 2*time.Hour, false),
		mk("new-done", "n1", corev1.PodSucceeded, time.Hour, false),
		mk("running", "n1", corev1.PodRunning, time.Hour, false),
		mk("orphan", "gone", corev1.PodRunning, time.Hour, false),
		mk("unscheduled-deleting", "", corev1.PodPending, time.Hour, true),
		mk("oos-deleting", "oos", corev1.PodRunning, time.Hour, true),
		mk("oos-running", "oos", corev1.PodRunning, time.Hour, false),
	}
	d, missing := Decide(pods, nodes, nil, now, 2)
	names := func(ps []*corev1.Pod) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	if got := names(d.Terminated); len(got) != 1 || got[0] != "old-done" {
		t.Errorf("terminated %v", got)
	}
	if len(d.Orphaned) != 0 || missing["gone"].IsZero() {
		t.Errorf("first pass must only quarantine: orphaned %v missing %v", names(d.Orphaned), missing)
	}
	if got := names(d.Unscheduled); len(got) != 1 || got[0] != "unscheduled-deleting" {
		t.Errorf("unscheduled %v", got)
	}
	if got := names(d.OutOfService); len(got) != 1 || got[0] != "oos-deleting" {
		t.Errorf("out of service %v", got)
	}
	d, _ = Decide(pods, nodes, missing, now.Add(Quarantine), 2)
	if got := names(d.Orphaned); len(got) != 1 || got[0] != "orphan" {
		t.Errorf("after quarantine: orphaned %v", got)
	}
}
