package statefulset

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mkSet(replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "set-uid", Generation: 2}}
	s.Spec.Replicas = &replicas
	s.Spec.ServiceName = "nginx"
	s.Spec.PodManagementPolicy = policy
	s.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	s.Spec.Template.Labels = map[string]string{"app": "web"}
	s.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "v2"}}
	s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0), MaxUnavailable: ptr.To(intstr.FromInt32(1))}}
	return s
}

// mkPod is pod ordinal of set "web" on revision rev in state: R running and ready, N running
// not ready, P pending, F failed, S succeeded, T running and ready but terminating.
func mkPod(ordinal int, rev, state string) *corev1.Pod {
	name := PodName("web", ordinal)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-" + rev),
		Labels: map[string]string{"app": "web", "controller-revision-hash": rev,
			appsv1.StatefulSetPodNameLabel: name, appsv1.PodIndexLabel: fmt.Sprint(ordinal)}}}
	ready := corev1.ConditionFalse
	switch state {
	case "R", "T":
		p.Status.Phase = corev1.PodRunning
		ready = corev1.ConditionTrue
	case "N":
		p.Status.Phase = corev1.PodRunning
	case "P":
		p.Status.Phase = corev1.PodPending
	case "F":
		p.Status.Phase = corev1.PodFailed
	case "S":
		p.Status.Phase = corev1.PodSucceeded
	}
	if state == "T" {
		p.DeletionTimestamp = ptr.To(metav1.NewTime(now))
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready, LastTransitionTime: metav1.NewTime(now.Add(-time.Minute))}}
	return p
}

func input(set *appsv1.StatefulSet, pods ...*corev1.Pod) Input {
	cur := set.DeepCopy()
	cur.Spec.Template.Spec.Containers[0].Image = "v1"
	return Input{Set: set, Current: cur, Update: set, CurrentRevision: "web-1", UpdateRevision: "web-2", Pods: pods, Now: now}
}

// trace renders a plan's actions as "create web-0@web-2, delete web-2 (update)".
func trace(r Result) string {
	var out []string
	for _, a := range r.Actions() {
		switch a.Type {
		case CreatePod:
			s := fmt.Sprintf("create %s@%s", a.Pod.Name, Revision(a.Pod))
			for _, c := range a.Claims {
				s += " +" + c.Name
			}
			out = append(out, s)
		case DeletePod:
			out = append(out, fmt.Sprintf("delete %s (%s)", a.Pod.Name, a.Reason))
		default:
			out = append(out, fmt.Sprintf("%s %s", a.Type, a.Pod.Name))
		}
	}
	return strings.Join(out, ", ")
}

func TestParentAndOrdinal(t *testing.T) {
	for name, want := range map[string]string{"web-0": "web 0", "my-db-12": "my-db 12", "web": " -1", "web-x": " -1", "web-": " -1"} {
		p, o := ParentAndOrdinal(name)
		if got := fmt.Sprintf("%s %d", p, o); got != want {
			t.Errorf("ParentAndOrdinal(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestNewPod(t *testing.T) {
	set := mkSet(3, appsv1.OrderedReadyPodManagement)
	set.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "config"}, {Name: "data"}}
	set.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "db"}}}}
	p := NewPod(set, 2, "web-abc")
	ref := metav1.GetControllerOf(p)
	if p.Name != "web-2" || p.GenerateName != "" || p.Namespace != "ns" || p.Spec.Hostname != "web-2" || p.Spec.Subdomain != "nginx" ||
		ref == nil || ref.Kind != "StatefulSet" || ref.UID != "set-uid" {
		t.Errorf("pod %+v", p.ObjectMeta)
	}
	want := map[string]string{"app": "web", "statefulset.kubernetes.io/pod-name": "web-2", "apps.kubernetes.io/pod-index": "2", "controller-revision-hash": "web-abc"}
	if fmt.Sprint(p.Labels) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", p.Labels, want)
	}
	if len(p.Spec.Volumes) != 2 || p.Spec.Volumes[0].Name != "data" || p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-web-2" ||
		p.Spec.Volumes[1].Name != "config" {
		t.Errorf("volumes %+v", p.Spec.Volumes)
	}
	claims := Claims(set, 2)
	if len(claims) != 1 || claims[0].Name != "data-web-2" || claims[0].Namespace != "ns" || claims[0].Labels["tier"] != "db" || claims[0].Labels["app"] != "web" {
		t.Errorf("claims %+v", claims)
	}
	if set.Spec.VolumeClaimTemplates[0].Labels["app"] != "" || set.Spec.Template.Labels["controller-revision-hash"] != "" {
		t.Error("NewPod or Claims changed the set")
	}
}

func TestPlan(t *testing.T) {
	ordered := func(n int32) *appsv1.StatefulSet { return mkSet(n, appsv1.OrderedReadyPodManagement) }
	parallel := func(n int32) *appsv1.StatefulSet { return mkSet(n, appsv1.ParallelPodManagement) }
	partition := func(s *appsv1.StatefulSet, p int32) *appsv1.StatefulSet {
		s.Spec.UpdateStrategy.RollingUpdate.Partition = &p
		return s
	}
	maxUnavailable := func(s *appsv1.StatefulSet, v intstr.IntOrString) *appsv1.StatefulSet {
		s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &v
		return s
	}
	onDelete := func(s *appsv1.StatefulSet) *appsv1.StatefulSet {
		s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		return s
	}
	minReady := func(s *appsv1.StatefulSet, secs int32) *appsv1.StatefulSet {
		s.Spec.MinReadySeconds = secs
		return s
	}
	deleting := func(s *appsv1.StatefulSet) *appsv1.StatefulSet {
		s.DeletionTimestamp = ptr.To(metav1.NewTime(now))
		return s
	}
	cases := []struct {
		name    string
		set     *appsv1.StatefulSet
		pods    []*corev1.Pod
		want    string
		waiting bool
	}{
		// Scaling up, OrderedReady: one pod at a time, each after its predecessor is ready.
		{"ordered: first pod", ordered(3), nil, "create web-0@web-2", true},
		{"ordered: waits for web-0 to be ready", ordered(3), []*corev1.Pod{mkPod(0, "web-2", "N")}, "", true},
		{"ordered: waits for pending web-0", ordered(3), []*corev1.Pod{mkPod(0, "web-2", "P")}, "", true},
		{"ordered: web-0 ready, create web-1", ordered(3), []*corev1.Pod{mkPod(0, "web-2", "R")}, "create web-1@web-2", true},
		{"ordered: fills the lowest gap first", ordered(3), []*corev1.Pod{mkPod(0, "web-2", "R"), mkPod(2, "web-2", "R")}, "create web-1@web-2", true},
		{"ordered: all ready", ordered(3), []*corev1.Pod{mkPod(0, "web-2", "R"), mkPod(1, "web-2", "R"), mkPod(2, "web-2", "R")}, "", false},
		{"ordered: minReadySeconds not yet passed", minReady(ordered(2), 120), []*corev1.Pod{mkPod(0, "web-2", "R")}, "", true},
		{"ordered: minReadySeconds passed", minReady(ordered(2), 30), []*corev1.Pod{mkPod(0, "web-2", "R")}, "create web-1@web-2", true},
		// Parallel: no waiting.
		{"parallel: all at once", parallel(3), nil, "create web-0@web-2, create web-1@web-2, create web-2@web-2", false},
		{"parallel: around an unready pod", parallel(3), []*corev1.Pod{mkPod(1, "web-2", "N")}, "create web-0@web-2, create web-2@web-2", false},
		// Finished pods are deleted; the ordinal comes back only once the pod is gone.
		{"failed pod deleted", ordered(2), []*corev1.Pod{mkPod(0, "web-2", "F"), mkPod(1, "web-2", "R")}, "delete web-0 (failed)", true},
		{"succeeded pod deleted", ordered(1), []*corev1.Pod{mkPod(0, "web-2", "S")}, "delete web-0 (failed)", true},
		{"never two pods with one identity: wait for the terminating pod", ordered(2), []*corev1.Pod{mkPod(0, "web-2", "T")}, "", true},
		{"parallel: a terminating pod blocks only its own ordinal", parallel(2), []*corev1.Pod{mkPod(0, "web-2", "T")}, "create web-1@web-2", false},
		// Scaling down: highest ordinal first, one at a time.
		{"ordered: scale down highest first", ordered(1), []*corev1.Pod{mkPod(0, "web-2", "R"), mkPod(1, "web-2", "R"), mkPod(2, "web-2", "R")}, "delete web-2 (scale down)", true},
		{"ordered: wait for web-2 to go before web-1", ordered(1), []*corev1.Pod{mkPod(0, "web-2", "R"), mkPod(1, "web-2", "R"), mkPod(2, "web-2", "T")}, "", true},
		{"ordered: no scale down while a replica is unready", ordered(1), []*corev1.Pod{mkPod(0, "web-2", "N"), mkPod(1, "web-2", "R")}, "", true},
		{"ordered: a healthy condemned pod goes before an unready lower one", ordered(1), []*corev1.Pod{mkPod(0, "web-2", "R"), mkPod(1, "web-2", "N"), mkPod(2, "web-2", "R")}, "delete web-2 (scale down)", true},
		{"ordered: an unready condemned pod waits unless it is the first unhealthy", ordered(1), []*corev1.Pod{mkPod(0, "web-2", "R"), mkPod(1, "web-2", "N"), mkPod(2, "web-2", "N")}, "", true},
		{"ordered: unhealthy highest condemned goes", ordered(1), []*corev1.Pod{mkPod(0, "web-2", "R"), mkPod(1, "web-2", "R"), mkPod(2, "web-2", "N")}, "delete web-2 (scale down)", true},
		{"parallel: scale down all at once", parallel(1), []*corev1.Pod{mkPod(0, "web-2", "R"), mkPod(1, "web-2", "N"), mkPod(2, "web-2", "R")}, "delete web-2 (scale down), delete web-1 (scale down)", false},
		// Rolling updates: reverse ordinal order, one at a time, partition respected.
		{"update: highest ordinal first", ordered(3), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-1", "R"), mkPod(2, "web-1", "R")}, "delete web-2 (update)", false},
		{"update: recreated on the update revision", ordered(3), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-1", "R")}, "create web-2@web-2", true},
		{"update: waits for the updated pod", ordered(3), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-1", "R"), mkPod(2, "web-2", "N")}, "", true},
		{"update: next one down", ordered(3), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-1", "R"), mkPod(2, "web-2", "R")}, "delete web-1 (update)", false},
		{"update: partition 1 keeps web-0", partition(ordered(3), 1), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-2", "R"), mkPod(2, "web-2", "R")}, "", false},
		{"update: below the partition a new pod gets the current revision", partition(ordered(3), 1), []*corev1.Pod{mkPod(1, "web-2", "R"), mkPod(2, "web-2", "R")}, "create web-0@web-1", true},
		{"update: maxUnavailable 2", maxUnavailable(ordered(3), intstr.FromInt32(2)), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-1", "R"), mkPod(2, "web-1", "R")}, "delete web-2 (update), delete web-1 (update)", false},
		{"update: maxUnavailable 50% of 4 rounds down to 2", maxUnavailable(parallel(4), intstr.FromString("50%")), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-1", "R"), mkPod(2, "web-1", "R"), mkPod(3, "web-1", "R")}, "delete web-3 (update), delete web-2 (update)", false},
		{"update: an unavailable pod uses the budget", parallel(3), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-1", "N"), mkPod(2, "web-1", "R")}, "", false},
		{"OnDelete: no update deletes", onDelete(ordered(2)), []*corev1.Pod{mkPod(0, "web-1", "R"), mkPod(1, "web-1", "R")}, "", false},
		{"OnDelete: a deleted pod comes back updated", onDelete(ordered(2)), []*corev1.Pod{mkPod(0, "web-1", "R")}, "create web-1@web-2", true},
		// Identity repair and deletion.
		{"identity label restored", ordered(1), []*corev1.Pod{func() *corev1.Pod { p := mkPod(0, "web-2", "R"); delete(p.Labels, appsv1.PodIndexLabel); return p }()}, "UpdateIdentity web-0", false},
		{"a set being deleted does nothing", deleting(ordered(3)), []*corev1.Pod{mkPod(0, "web-2", "F")}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Plan(input(c.set, c.pods...))
			if got := trace(r); got != c.want {
				t.Errorf("actions %q, want %q (waiting for %q)", got, c.want, r.Waiting)
			}
			if (r.Waiting != "") != c.waiting {
				t.Errorf("waiting %q, want waiting %v", r.Waiting, c.waiting)
			}
		})
	}
}

func TestPlanClaims(t *testing.T) {
	set := mkSet(2, appsv1.OrderedReadyPodManagement)
	set.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}, {ObjectMeta: metav1.ObjectMeta{Name: "logs"}}}
	in := input(set)
	in.Claims = map[string]*corev1.PersistentVolumeClaim{"logs-web-0": {ObjectMeta: metav1.ObjectMeta{Name: "logs-web-0"}}}
	if got := trace(Plan(in)); got != "create web-0@web-2 +data-web-0" {
		t.Errorf("first pod: %q", got)
	}
	pending := mkPod(0, "web-2", "P")
	in = input(set, pending)
	if got := trace(Plan(in)); got != "CreateClaims web-0" {
		t.Errorf("pending pod: %q", got)
	}
	in = input(set)
	in.Claims = map[string]*corev1.PersistentVolumeClaim{"data-web-0": {ObjectMeta: metav1.ObjectMeta{Name: "data-web-0", DeletionTimestamp: ptr.To(metav1.NewTime(now))}}}
	if r := Plan(in); trace(r) != "" || !strings.Contains(r.Waiting, "being deleted") {
		t.Errorf("claim being deleted: %q waiting %q", trace(r), r.Waiting)
	}
	// whenScaled Delete: a claim still owned by an earlier web-0 is stale.
	set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
	in = input(set)
	in.Claims = map[string]*corev1.PersistentVolumeClaim{"data-web-0": {ObjectMeta: metav1.ObjectMeta{Name: "data-web-0",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Pod", Name: "web-0", UID: "old"}}}}}
	if r := Plan(in); trace(r) != "" || !strings.Contains(r.Waiting, "stale") {
		t.Errorf("stale claim: %q waiting %q", trace(r), r.Waiting)
	}
}

func TestClaimOwnerRefs(t *testing.T) {
	const retain, del = appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	other := metav1.OwnerReference{Kind: "Something", Name: "x", UID: "x"}
	cases := []struct {
		whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType
		ordinal                 int
		want                    string
	}{
		{retain, retain, 0, "x"},
		{retain, retain, 5, "x"},
		{del, retain, 0, "x web"},
		{del, retain, 5, "x web"},
		{retain, del, 0, "x"},
		{retain, del, 5, "x web-5"},
		{del, del, 0, "x web"},
		{del, del, 5, "x web-5"},
	}
	for _, c := range cases {
		set := mkSet(2, appsv1.OrderedReadyPodManagement)
		set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: c.whenDeleted, WhenScaled: c.whenScaled}
		pod := mkPod(c.ordinal, "web-2", "R")
		// Start from the opposite: both owners present, to see removal too.
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{other,
			{Kind: "StatefulSet", Name: "web", UID: set.UID}, {Kind: "Pod", Name: pod.Name, UID: pod.UID}}}}
		refs, changed := ClaimOwnerRefs(set, pod, pvc)
		var names []string
		for _, r := range refs {
			names = append(names, r.Name)
		}
		if got := strings.Join(names, " "); got != c.want || changed != (len(refs) != 3) {
			t.Errorf("whenDeleted %s whenScaled %s ordinal %d: refs %q changed %v, want %q", c.whenDeleted, c.whenScaled, c.ordinal, got, changed, c.want)
		}
		again := pvc.DeepCopy()
		again.OwnerReferences = refs
		if _, changed := ClaimOwnerRefs(set, pod, again); changed {
			t.Errorf("whenDeleted %s whenScaled %s ordinal %d: not stable", c.whenDeleted, c.whenScaled, c.ordinal)
		}
	}
}

func TestStatus(t *testing.T) {
	set := partition(mkSet(3, appsv1.OrderedReadyPodManagement), 1)
	set.Status.Conditions = []appsv1.StatefulSetCondition{{Type: "Custom"}}
	in := input(set, mkPod(0, "web-1", "R"), mkPod(1, "web-2", "R"), mkPod(2, "web-2", "N"), mkPod(3, "web-1", "T"))
	in.CollisionCount = 2
	st := Plan(in).Status
	if st.Replicas != 4 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 || st.CurrentReplicas != 1 || st.UpdatedReplicas != 2 ||
		st.CurrentRevision != "web-1" || st.UpdateRevision != "web-2" || st.ObservedGeneration != 2 || *st.CollisionCount != 2 || len(st.Conditions) != 1 {
		t.Errorf("status %+v", st)
	}
	// All pods updated and ready: the update revision becomes current.
	in = input(mkSet(2, appsv1.OrderedReadyPodManagement), mkPod(0, "web-2", "R"), mkPod(1, "web-2", "R"))
	st = Plan(in).Status
	if st.CurrentRevision != "web-2" || st.CurrentReplicas != 2 || st.UpdatedReplicas != 2 {
		t.Errorf("completed rollout status %+v", st)
	}
	// A pod deleted for the update no longer counts as current.
	in = input(mkSet(2, appsv1.OrderedReadyPodManagement), mkPod(0, "web-1", "R"), mkPod(1, "web-1", "R"))
	st = Plan(in).Status
	if st.CurrentRevision != "web-1" || st.CurrentReplicas != 1 {
		t.Errorf("status during update %+v", st)
	}
}

func partition(s *appsv1.StatefulSet, p int32) *appsv1.StatefulSet {
	s.Spec.UpdateStrategy.RollingUpdate.Partition = &p
	return s
}

func TestHistoryToDelete(t *testing.T) {
	set := mkSet(1, appsv1.OrderedReadyPodManagement)
	set.Spec.RevisionHistoryLimit = ptr.To[int32](1)
	var revs []*appsv1.ControllerRevision
	for i := 1; i <= 5; i++ {
		revs = append(revs, &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i)}, Revision: int64(i)})
	}
	pods := []*corev1.Pod{mkPod(0, "web-2", "R")}
	var names []string
	for _, r := range HistoryToDelete(set, revs, pods, "web-4", "web-5") {
		names = append(names, r.Name)
	}
	// Live: web-2 (a pod), web-4 (current), web-5 (update); of web-1 and web-3 one is kept.
	if fmt.Sprint(names) != "[web-1]" {
		t.Errorf("deleted %v, want [web-1]", names)
	}
}
