package replicaset

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func pods(n int, ready bool, readyFor time.Duration) []*corev1.Pod {
	var out []*corev1.Pod
	for i := 0; i < n; i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), UID: types.UID(fmt.Sprint(i)),
			Labels: map[string]string{"app": "web", "tier": "fe"}}}
		p.Spec.NodeName = "n1"
		p.Status.Phase = corev1.PodRunning
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(now.Add(-readyFor))}}
		out = append(out, p)
	}
	return out
}

func TestDecide(t *testing.T) {
	unready := pods(1, false, 0)[0]
	unready.Name = "unready"
	cases := []struct {
		name       string
		replicas   int32
		active     []*corev1.Pod
		wantCreate int
		wantDelete []string
	}{
		{"steady", 3, pods(3, true, time.Hour), 0, nil},
		{"scale up", 5, pods(3, true, time.Hour), 2, nil},
		{"create burst capped", 2000, nil, BurstReplicas, nil},
		{"scale down removes the unready pod first", 3, append(pods(3, true, time.Hour), unready), 0, []string{"unready"}},
		{"scale to zero", 0, pods(2, true, time.Hour), 0, []string{"p0", "p1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := Decide(c.replicas, c.active, nil, now)
			if plan.Create != c.wantCreate || len(plan.Delete) != len(c.wantDelete) {
				t.Fatalf("plan = create %d delete %d, want %d, %v", plan.Create, len(plan.Delete), c.wantCreate, c.wantDelete)
			}
			got := map[string]bool{}
			for _, p := range plan.Delete {
				got[p.Name] = true
			}
			for _, n := range c.wantDelete {
				if !got[n] {
					t.Errorf("pod %s not deleted", n)
				}
			}
		})
	}
}

func TestCalculateStatus(t *testing.T) {
	three := int32(3)
	rs := func(minReady int32, conds ...appsv1.ReplicaSetCondition) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Generation: 4}}
		r.Spec.Replicas = &three
		r.Spec.MinReadySeconds = minReady
		r.Spec.Template.Labels = map[string]string{"app": "web", "tier": "fe"}
		r.Status.Conditions = conds
		return r
	}
	partial := pods(1, true, time.Hour)[0]
	partial.Labels = map[string]string{"app": "web"}
	failure := appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate"}
	cases := []struct {
		name                              string
		rs                                *appsv1.ReplicaSet
		active                            []*corev1.Pod
		err                               error
		replicas, fully, ready, available int32
		wantFailure                       string
	}{
		{"all ready and available", rs(0), pods(3, true, time.Second), nil, 3, 3, 3, 3, ""},
		{"minReadySeconds not yet passed", rs(10), pods(3, true, 5*time.Second), nil, 3, 3, 3, 0, ""},
		{"not fully labeled", rs(0), append(pods(2, false, 0), partial), nil, 3, 2, 1, 1, ""},
		{"create failure sets ReplicaFailure", rs(0), pods(1, true, time.Hour), errors.New("quota"), 1, 1, 1, 1, "FailedCreate"},
		{"delete failure", rs(0), pods(4, true, time.Hour), errors.New("boom"), 4, 4, 4, 4, "FailedDelete"},
		{"success clears ReplicaFailure", rs(0, failure), pods(3, true, time.Hour), nil, 3, 3, 3, 3, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := CalculateStatus(c.rs, c.active, nil, c.err, now)
			if st.Replicas != c.replicas || st.FullyLabeledReplicas != c.fully || st.ReadyReplicas != c.ready || st.AvailableReplicas != c.available {
				t.Errorf("status %d/%d/%d/%d, want %d/%d/%d/%d", st.Replicas, st.FullyLabeledReplicas, st.ReadyReplicas, st.AvailableReplicas,
					c.replicas, c.fully, c.ready, c.available)
			}
			if st.ObservedGeneration != 4 || st.TerminatingReplicas == nil || *st.TerminatingReplicas != 0 {
				t.Errorf("observedGeneration %d terminating %v", st.ObservedGeneration, st.TerminatingReplicas)
			}
			got := ""
			if f := condition(st.Conditions, appsv1.ReplicaSetReplicaFailure); f != nil {
				got = f.Reason
			}
			if got != c.wantFailure {
				t.Errorf("ReplicaFailure reason %q, want %q", got, c.wantFailure)
			}
		})
	}
}

func TestSlowStartBatch(t *testing.T) {
	cases := []struct {
		name      string
		count     int
		failAfter int32 // calls that succeed before every later one fails (-1: never)
		wantOK    int
		wantCalls int32
	}{
		{"all succeed", 10, -1, 10, 10},
		{"first fails: one call only", 10, 0, 0, 1},
		{"fails in the third batch (1+2+4)", 10, 3, 3, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			ok, err := SlowStartBatch(c.count, 1, func() error {
				n := calls.Add(1)
				if c.failAfter >= 0 && n > c.failAfter {
					return errors.New("denied")
				}
				return nil
			})
			if ok != c.wantOK || calls.Load() != c.wantCalls || (err != nil) != (c.failAfter >= 0) {
				t.Errorf("ok %d calls %d err %v, want %d %d", ok, calls.Load(), err, c.wantOK, c.wantCalls)
			}
		})
	}
}

func TestPodFromTemplate(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f7c9b6", Namespace: "ns", UID: "u"}}
	rs.Spec.Template.Labels = map[string]string{"app": "web"}
	rs.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "nginx"}}
	p := PodFromTemplate(&rs.Spec.Template, rs, ReplicaSetKind)
	ref := metav1.GetControllerOf(p)
	if p.GenerateName != "web-5d8f7c9b6-" || p.Namespace != "ns" || p.Labels["app"] != "web" || ref == nil ||
		ref.Kind != "ReplicaSet" || ref.APIVersion != "apps/v1" || !*ref.BlockOwnerDeletion {
		t.Errorf("pod %+v", p.ObjectMeta)
	}
	p.Labels["app"] = "changed"
	if rs.Spec.Template.Labels["app"] != "web" {
		t.Error("pod shares the template's labels")
	}
}
