package deployment

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func dep(replicas int32, surge, unavailable string) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 1}}
	d.Spec.Replicas = &replicas
	d.Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.Parse(surge)), MaxUnavailable: ptr.To(intstr.Parse(unavailable))}
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](600)
	return d
}

func rs(name string, age time.Duration, replicas, available int32) *appsv1.ReplicaSet {
	r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))}}
	r.Spec.Replicas = &replicas
	r.Status.Replicas = replicas
	r.Status.ReadyReplicas = available
	r.Status.AvailableReplicas = available
	return r
}

func TestResolveFenceposts(t *testing.T) {
	cases := []struct {
		surge, unavailable string
		desired            int32
		wantS, wantU       int32
	}{
		{"25%", "25%", 10, 3, 2}, // surge rounds up, unavailable rounds down
		{"25%", "25%", 1, 1, 0},
		{"0", "0", 5, 0, 1}, // both zero: one unavailable
		{"1", "0", 3, 1, 0},
		{"0%", "50%", 3, 0, 1},
	}
	for _, c := range cases {
		s, u, err := ResolveFenceposts(ptr.To(intstr.Parse(c.surge)), ptr.To(intstr.Parse(c.unavailable)), c.desired)
		if err != nil || s != c.wantS || u != c.wantU {
			t.Errorf("ResolveFenceposts(%s, %s, %d) = %d, %d, %v; want %d, %d", c.surge, c.unavailable, c.desired, s, u, err, c.wantS, c.wantU)
		}
	}
}

func TestNewRSNewReplicas(t *testing.T) {
	cases := []struct {
		name string
		d    *appsv1.Deployment
		old  int32
		cur  int32
		want int32
	}{
		{"surge room", dep(4, "1", "1"), 4, 0, 1},
		{"at max surge", dep(4, "1", "1"), 4, 1, 1},
		{"old shrunk: grow to fill", dep(4, "1", "1"), 2, 1, 3},
		{"capped at replicas", dep(4, "2", "1"), 0, 3, 4},
		{"percent surge rounds up", dep(10, "25%", "25%"), 10, 0, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			newRS := rs("new", 0, c.cur, 0)
			got, err := NewRSNewReplicas(c.d, []*appsv1.ReplicaSet{rs("old", time.Hour, c.old, c.old), newRS}, newRS)
			if err != nil || got != c.want {
				t.Errorf("got %d, %v; want %d", got, err, c.want)
			}
		})
	}
	d := dep(4, "1", "1")
	d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
	if got, _ := NewRSNewReplicas(d, nil, rs("new", 0, 0, 0)); got != 4 {
		t.Errorf("Recreate: %d, want 4", got)
	}
}

func TestOldScaleDown(t *testing.T) {
	cases := []struct {
		name string
		d    *appsv1.Deployment
		olds []*appsv1.ReplicaSet
		new  *appsv1.ReplicaSet
		want map[string]int32
	}{
		{"new not available yet: only maxUnavailable may go", dep(4, "1", "1"),
			[]*appsv1.ReplicaSet{rs("a", time.Hour, 4, 4)}, rs("new", 0, 1, 0), map[string]int32{"a": 3}},
		{"new available: old shrinks by what is available beyond the minimum", dep(4, "1", "1"),
			[]*appsv1.ReplicaSet{rs("a", time.Hour, 3, 3)}, rs("new", 0, 2, 2), map[string]int32{"a": 1}},
		{"nothing to spare", dep(4, "1", "1"),
			[]*appsv1.ReplicaSet{rs("a", time.Hour, 3, 3)}, rs("new", 0, 2, 0), map[string]int32{}},
		{"unhealthy old pods go first, within maxUnavailable", dep(4, "0", "1"),
			[]*appsv1.ReplicaSet{rs("b", time.Minute, 2, 0), rs("a", time.Hour, 2, 2)}, rs("new", 0, 0, 0), map[string]int32{"b": 1}},
		{"a scale-down not yet in the old ReplicaSet's status is not counted twice", dep(4, "1", "1"),
			[]*appsv1.ReplicaSet{rs("a", time.Hour, 3, 4)}, rs("new", 0, 2, 1), map[string]int32{"a": 2}},
		{"maxUnavailable 0 waits for new pods", dep(2, "1", "0"),
			[]*appsv1.ReplicaSet{rs("a", time.Hour, 2, 2)}, rs("new", 0, 1, 0), map[string]int32{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := OldScaleDown(c.d, c.olds, c.new)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestProportionalSizes(t *testing.T) {
	withMax := func(r *appsv1.ReplicaSet, max string) *appsv1.ReplicaSet {
		r.Annotations = map[string]string{MaxReplicasAnnotation: max}
		return r
	}
	cases := []struct {
		name string
		d    *appsv1.Deployment
		olds []*appsv1.ReplicaSet
		new  *appsv1.ReplicaSet
		want map[string]int32
	}{
		// 10 replicas + 3 surge = 13 in the middle of a rollout (8 old, 5 new); scaled to 20
		// (+3 surge... 25%: 5) = 25: 12 more, in proportion.
		{"scale up mid-rollout", dep(20, "25%", "25%"),
			[]*appsv1.ReplicaSet{withMax(rs("old", time.Hour, 8, 8), "13")}, withMax(rs("new", 0, 5, 5), "13"),
			map[string]int32{"old": 15, "new": 10}},
		{"scale down mid-rollout", dep(5, "25%", "25%"),
			[]*appsv1.ReplicaSet{withMax(rs("old", time.Hour, 8, 8), "13")}, withMax(rs("new", 0, 5, 5), "13"),
			map[string]int32{"old": 4, "new": 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ProportionalSizes(c.d, c.new, c.olds)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	d := dep(3, "1", "0")
	d.Annotations = map[string]string{"team": "web", corev1.LastAppliedConfigAnnotation: "{}", RevisionAnnotation: "9"}
	fresh := &appsv1.ReplicaSet{}
	if !SetNewReplicaSetAnnotations(d, fresh, "1", false) {
		t.Fatal("no change reported")
	}
	want := map[string]string{"team": "web", RevisionAnnotation: "1", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4"}
	if fmt.Sprint(fresh.Annotations) != fmt.Sprint(want) {
		t.Errorf("new ReplicaSet annotations %v, want %v", fresh.Annotations, want)
	}
	// A rollback to revision 1 when 2 is the newest: revision 3, history "1"; then back again.
	if !SetNewReplicaSetAnnotations(d, fresh, "3", true) || fresh.Annotations[RevisionAnnotation] != "3" || fresh.Annotations[RevisionHistoryAnnotation] != "1" {
		t.Errorf("after rollback: %v", fresh.Annotations)
	}
	SetNewReplicaSetAnnotations(d, fresh, "5", true)
	if fresh.Annotations[RevisionHistoryAnnotation] != "1,3" {
		t.Errorf("history %q, want 1,3", fresh.Annotations[RevisionHistoryAnnotation])
	}
	if SetNewReplicaSetAnnotations(d, fresh, "4", true) {
		t.Error("a lower revision changed the ReplicaSet")
	}
}

func TestRolloutStatus(t *testing.T) {
	progressingSince := func(reason string, at time.Time) []appsv1.DeploymentCondition {
		return []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: reason,
			LastUpdateTime: metav1.NewTime(at), LastTransitionTime: metav1.NewTime(at)}}
	}
	cases := []struct {
		name       string
		status     appsv1.DeploymentStatus
		all        []*appsv1.ReplicaSet
		wantReason string
		wantAvail  corev1.ConditionStatus
	}{
		{"complete", appsv1.DeploymentStatus{Conditions: progressingSince(NewReplicaSetReason, now)},
			[]*appsv1.ReplicaSet{rs("new", 0, 4, 4)}, NewRSAvailableReason, corev1.ConditionTrue},
		{"progressing", appsv1.DeploymentStatus{Conditions: progressingSince(NewReplicaSetReason, now)},
			[]*appsv1.ReplicaSet{rs("new", 0, 2, 2), rs("old", time.Hour, 3, 3)}, ReplicaSetUpdatedReason, corev1.ConditionTrue},
		{"no progress past the deadline", appsv1.DeploymentStatus{Replicas: 5, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3,
			Conditions: progressingSince(ReplicaSetUpdatedReason, now.Add(-11*time.Minute))},
			[]*appsv1.ReplicaSet{rs("new", 0, 2, 0), rs("old", time.Hour, 3, 3)}, TimedOutReason, corev1.ConditionTrue},
		{"below minimum availability", appsv1.DeploymentStatus{Conditions: progressingSince(NewReplicaSetReason, now)},
			[]*appsv1.ReplicaSet{rs("new", 0, 4, 1)}, ReplicaSetUpdatedReason, corev1.ConditionFalse},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := dep(4, "1", "1")
			d.Status = c.status
			d.Status.ObservedGeneration = 1
			st := RolloutStatus(c.all, c.all[0], d, now)
			p, a := Condition(st, appsv1.DeploymentProgressing), Condition(st, appsv1.DeploymentAvailable)
			if p == nil || p.Reason != c.wantReason || a == nil || a.Status != c.wantAvail {
				t.Errorf("Progressing %+v Available %+v", p, a)
			}
			if c.wantReason == TimedOutReason && p.Status != corev1.ConditionFalse {
				t.Errorf("timed out with status %s", p.Status)
			}
		})
	}
}

func TestCleanupCandidates(t *testing.T) {
	d := dep(1, "1", "0")
	d.Spec.RevisionHistoryLimit = ptr.To[int32](1)
	withRev := func(r *appsv1.ReplicaSet, rev string) *appsv1.ReplicaSet {
		r.Annotations = map[string]string{RevisionAnnotation: rev}
		return r
	}
	olds := []*appsv1.ReplicaSet{withRev(rs("r3", time.Hour, 0, 0), "3"), withRev(rs("r1", time.Hour, 0, 0), "1"),
		withRev(rs("r2", time.Hour, 1, 1), "2")}
	got := CleanupCandidates(d, olds)
	if len(got) != 1 || got[0].Name != "r1" {
		t.Errorf("candidates %v, want r1 only (r2 still has replicas, r3 is kept)", got)
	}
}

func TestComputeHash(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}
	a, b := ComputeHash(tmpl, nil), ComputeHash(tmpl.DeepCopy(), nil)
	if a != b || a == ComputeHash(tmpl, ptr.To[int32](1)) {
		t.Errorf("hash not stable or ignores the collision count: %s %s", a, b)
	}
	changed := tmpl.DeepCopy()
	changed.Spec.Containers[0].Image = "nginx:2"
	if ComputeHash(changed, nil) == a {
		t.Error("different templates hash alike")
	}
	if got := ReplicaSetName("web", a); got != "web-"+a {
		t.Errorf("name %s", got)
	}
}
