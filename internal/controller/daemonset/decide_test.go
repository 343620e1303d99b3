package daemonset

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

func mkDS() *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ns", UID: "ds-uid", Generation: 3,
		Annotations: map[string]string{TemplateGenerationAnnotation: "3"}}}
	ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}
	ds.Spec.Template.Labels = map[string]string{"app": "agent"}
	ds.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "agent:2"}}
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0))}}
	return ds
}

func mkNode(name string, taints ...corev1.Taint) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name, "disk": "ssd"}}}
	n.Spec.Taints = taints
	return n
}

func taint(key string, effect corev1.TaintEffect) corev1.Taint {
	return corev1.Taint{Key: key, Effect: effect}
}

// mkPod is a daemon pod on node with revision hash, in state R (ready), N (running, not
// ready), F (failed), T (ready, terminating); age orders creation.
func mkPod(name, node, hash, state string, age time.Duration) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name),
		Labels: map[string]string{"app": "agent", "controller-revision-hash": hash}, CreationTimestamp: metav1.NewTime(now.Add(-age))}}
	p.Spec.NodeName = node
	p.Spec.Affinity = NodeNameAffinity(nil, node)
	st := corev1.ConditionTrue
	p.Status.Phase = corev1.PodRunning
	switch state {
	case "N":
		st = corev1.ConditionFalse
	case "F":
		p.Status.Phase = corev1.PodFailed
		st = corev1.ConditionFalse
	case "T":
		p.DeletionTimestamp = ptr.To(metav1.NewTime(now))
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(now.Add(-time.Minute))}}
	return p
}

func TestNodeShouldRun(t *testing.T) {
	withDS := func(f func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
		ds := mkDS()
		f(ds)
		return ds
	}
	plain := mkDS()
	hostNet := withDS(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.HostNetwork = true })
	cases := []struct {
		name         string
		ds           *appsv1.DaemonSet
		node         *corev1.Node
		run, cont    bool
		reasonPrefix string
	}{
		{"plain node", plain, mkNode("n0"), true, true, ""},
		{"nodeSelector matches", withDS(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), mkNode("n0"), true, true, ""},
		{"nodeSelector does not match", withDS(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "hdd"} }), mkNode("n0"), false, false, ReasonNodeAffinity},
		{"required node affinity does not match", withDS(func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "gpu", Operator: corev1.NodeSelectorOpExists}}}}}}}
		}), mkNode("n0"), false, false, ReasonNodeAffinity},
		{"template nodeName elsewhere", withDS(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeName = "n9" }), mkNode("n0"), false, false, ReasonNodeName},
		{"untolerated NoSchedule: no new pod, the old one stays", plain, mkNode("n0", taint("dedicated", corev1.TaintEffectNoSchedule)), false, true, ReasonTaint},
		{"untolerated NoExecute: the pod goes", plain, mkNode("n0", taint("dedicated", corev1.TaintEffectNoExecute)), false, false, ReasonTaint},
		{"PreferNoSchedule ignored", plain, mkNode("n0", taint("dedicated", corev1.TaintEffectPreferNoSchedule)), true, true, ""},
		{"tolerated taint", withDS(func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}), mkNode("n0", taint("dedicated", corev1.TaintEffectNoExecute)), true, true, ""},
		{"cordoned node tolerated", plain, mkNode("n0", taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)), true, true, ""},
		{"disk pressure tolerated", plain, mkNode("n0", taint(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)), true, true, ""},
		{"memory and pid pressure tolerated", plain, mkNode("n0", taint(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule), taint(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)), true, true, ""},
		{"not-ready NoExecute tolerated", plain, mkNode("n0", taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)), true, true, ""},
		{"unreachable NoExecute tolerated, its NoSchedule not", plain, mkNode("n0", taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute), taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)), false, true, ReasonTaint},
		{"network unavailable: not tolerated by ordinary pods", plain, mkNode("n0", taint(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)), false, true, ReasonTaint},
		{"network unavailable: tolerated with hostNetwork", hostNet, mkNode("n0", taint(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)), true, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run, cont, reason := NodeShouldRun(c.node, c.ds)
			if run != c.run || cont != c.cont || reason != c.reasonPrefix {
				t.Errorf("NodeShouldRun = %v %v %q, want %v %v %q", run, cont, reason, c.run, c.cont, c.reasonPrefix)
			}
		})
	}
	if len(plain.Spec.Template.Spec.Tolerations) != 0 {
		t.Error("NodeShouldRun changed the template")
	}
}

func TestNewPod(t *testing.T) {
	ds := mkDS()
	ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](5)}}
	ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution:  &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpExists}}}}},
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 1}}}}
	tmpl := PodTemplate(ds, "abc")
	pod := NewPod(ds, tmpl, "n1")
	if pod.GenerateName != "agent-" || pod.Labels["controller-revision-hash"] != "abc" || pod.Labels["pod-template-generation"] != "3" || pod.Labels["app"] != "agent" {
		t.Errorf("pod meta %+v", pod.ObjectMeta)
	}
	var keys []string
	for _, tol := range pod.Spec.Tolerations {
		keys = append(keys, fmt.Sprintf("%s:%s", tol.Key, tol.Effect))
	}
	want := "node.kubernetes.io/not-ready:NoExecute node.kubernetes.io/unreachable:NoExecute node.kubernetes.io/disk-pressure:NoSchedule " +
		"node.kubernetes.io/memory-pressure:NoSchedule node.kubernetes.io/pid-pressure:NoSchedule node.kubernetes.io/unschedulable:NoSchedule"
	if strings.Join(keys, " ") != want || pod.Spec.Tolerations[0].TolerationSeconds != nil {
		t.Errorf("tolerations %v, want %s (the user's not-ready toleration replaced)", keys, want)
	}
	na := pod.Spec.Affinity.NodeAffinity
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 0 || terms[0].MatchFields[0].Key != "metadata.name" || terms[0].MatchFields[0].Values[0] != "n1" ||
		len(na.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("affinity %+v", na)
	}
	if node, ok := TargetNode(pod); !ok || node != "n1" {
		t.Errorf("TargetNode = %q %v", node, ok)
	}
	if len(ds.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields) != 0 ||
		ds.Spec.Template.Labels["controller-revision-hash"] != "" {
		t.Error("the DaemonSet's template was changed")
	}
}

func names(pods []*corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return strings.Join(out, " ")
}

func render(p Plan) string {
	return fmt.Sprintf("create [%s] delete [%s] finished [%s]", strings.Join(p.Create, " "), names(p.Delete), names(p.Finished))
}

func TestManage(t *testing.T) {
	surge := mkDS()
	surge.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))}
	nodes := []*corev1.Node{mkNode("n0"), mkNode("n1"), mkNode("n2", taint("dedicated", corev1.TaintEffectNoSchedule))}
	evicting := []*corev1.Node{mkNode("n0"), mkNode("n1", taint("dedicated", corev1.TaintEffectNoExecute))}
	unscheduled := mkPod("ghost", "", "h2", "N", time.Minute)
	unscheduled.Spec.Affinity = NodeNameAffinity(nil, "gone")
	cases := []struct {
		name  string
		ds    *appsv1.DaemonSet
		nodes []*corev1.Node
		pods  []*corev1.Pod
		want  string
	}{
		{"a pod on each eligible node", mkDS(), nodes, nil, "create [n0 n1] delete [] finished []"},
		{"steady", mkDS(), nodes, []*corev1.Pod{mkPod("a", "n0", "h2", "R", time.Hour), mkPod("b", "n1", "h2", "R", time.Hour)}, "create [] delete [] finished []"},
		{"a pod on a NoSchedule-tainted node may stay", mkDS(), nodes, []*corev1.Pod{mkPod("a", "n0", "h2", "R", time.Hour), mkPod("b", "n1", "h2", "R", time.Hour), mkPod("c", "n2", "h2", "R", time.Hour)}, "create [] delete [] finished []"},
		{"a pod on a NoExecute-tainted node goes", mkDS(), evicting, []*corev1.Pod{mkPod("a", "n0", "h2", "R", time.Hour), mkPod("b", "n1", "h2", "R", time.Hour)}, "create [] delete [b] finished []"},
		{"failed pod", mkDS(), nodes[:1], []*corev1.Pod{mkPod("a", "n0", "h2", "F", time.Hour)}, "create [] delete [] finished [a]"},
		{"a terminating pod blocks a new one", mkDS(), nodes[:1], []*corev1.Pod{mkPod("a", "n0", "h2", "T", time.Hour)}, "create [] delete [] finished []"},
		{"two pods on a node: the newer goes", mkDS(), nodes[:1], []*corev1.Pod{mkPod("new", "n0", "h2", "R", time.Minute), mkPod("old", "n0", "h2", "R", time.Hour)}, "create [] delete [new] finished []"},
		{"unscheduled pod for a vanished node", mkDS(), nodes[:1], []*corev1.Pod{mkPod("a", "n0", "h2", "R", time.Hour), unscheduled}, "create [] delete [ghost] finished []"},
		{"surge: old and unavailable new both stay", surge, nodes[:1], []*corev1.Pod{mkPod("old", "n0", "h1", "R", time.Hour), mkPod("new", "n0", "h2", "N", time.Minute)}, "create [] delete [] finished []"},
		{"surge: the new one available, the old goes", surge, nodes[:1], []*corev1.Pod{mkPod("old", "n0", "h1", "R", time.Hour), mkPod("new", "n0", "h2", "R", time.Minute)}, "create [] delete [old] finished []"},
		{"surge: an unready old one goes at once", surge, nodes[:1], []*corev1.Pod{mkPod("old", "n0", "h1", "N", time.Hour), mkPod("new", "n0", "h2", "N", time.Minute)}, "create [] delete [old] finished []"},
		{"surge: a node whose only pod is terminating gets a new one", surge, nodes[:1], []*corev1.Pod{mkPod("old", "n0", "h1", "T", time.Hour)}, "create [n0] delete [] finished []"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := render(Manage(c.ds, c.nodes, NodeToPods(c.pods, false), "h2", now)); got != c.want {
				t.Errorf("%s, want %s", got, c.want)
			}
		})
	}
}

func TestRollingUpdate(t *testing.T) {
	limits := func(unavailable, surge intstr.IntOrString) *appsv1.DaemonSet {
		ds := mkDS()
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &unavailable, MaxSurge: &surge}
		return ds
	}
	zero, one, two := intstr.FromInt32(0), intstr.FromInt32(1), intstr.FromInt32(2)
	nodes := []*corev1.Node{mkNode("n0"), mkNode("n1"), mkNode("n2")}
	old := func(node, state string) *corev1.Pod { return mkPod("old-"+node, node, "h1", state, time.Hour) }
	upd := func(node, state string) *corev1.Pod { return mkPod("new-"+node, node, "h2", state, time.Minute) }
	cases := []struct {
		name string
		ds   *appsv1.DaemonSet
		pods []*corev1.Pod
		want string
	}{
		{"maxUnavailable 1: one old pod at a time", limits(one, zero), []*corev1.Pod{old("n0", "R"), old("n1", "R"), old("n2", "R")}, "create [] delete [old-n0] finished []"},
		{"maxUnavailable 1: wait for the new pod", limits(one, zero), []*corev1.Pod{upd("n0", "N"), old("n1", "R"), old("n2", "R")}, "create [] delete [] finished []"},
		{"maxUnavailable 1: a node without a pod uses the budget", limits(one, zero), []*corev1.Pod{old("n1", "R"), old("n2", "R")}, "create [] delete [] finished []"},
		{"maxUnavailable 1: next once the new pod is available", limits(one, zero), []*corev1.Pod{upd("n0", "R"), old("n1", "R"), old("n2", "R")}, "create [] delete [old-n1] finished []"},
		{"unavailable old pods are replaced regardless", limits(one, zero), []*corev1.Pod{old("n0", "N"), old("n1", "N"), old("n2", "R")}, "create [] delete [old-n0 old-n1] finished []"},
		{"maxUnavailable 2", limits(two, zero), []*corev1.Pod{old("n0", "R"), old("n1", "R"), old("n2", "R")}, "create [] delete [old-n0 old-n1] finished []"},
		{"maxUnavailable 50% of 3 rounds up to 2", limits(intstr.FromString("50%"), zero), []*corev1.Pod{old("n0", "R"), old("n1", "R"), old("n2", "R")}, "create [] delete [old-n0 old-n1] finished []"},
		{"both zero acts as maxUnavailable 1", limits(zero, zero), []*corev1.Pod{old("n0", "R"), old("n1", "R"), old("n2", "R")}, "create [] delete [old-n0] finished []"},
		{"maxSurge 1: a new pod beside the old", limits(zero, one), []*corev1.Pod{old("n0", "R"), old("n1", "R"), old("n2", "R")}, "create [n0] delete [] finished []"},
		{"maxSurge 1: wait for it", limits(zero, one), []*corev1.Pod{old("n0", "R"), upd("n0", "N"), old("n1", "R"), old("n2", "R")}, "create [] delete [] finished []"},
		{"maxSurge 1: it is available: the old goes, the next surges", limits(zero, one), []*corev1.Pod{old("n0", "R"), upd("n0", "R"), old("n1", "R"), old("n2", "R")}, "create [n1] delete [old-n0] finished []"},
		{"maxSurge 1: an unavailable old pod is replaced beyond the surge", limits(zero, one), []*corev1.Pod{old("n0", "N"), old("n1", "R"), old("n2", "R")}, "create [n0 n1] delete [] finished []"},
		{"done", limits(one, zero), []*corev1.Pod{upd("n0", "R"), upd("n1", "R"), upd("n2", "R")}, "create [] delete [] finished []"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := render(RollingUpdate(c.ds, nodes, NodeToPods(c.pods, false), "h2", now)); got != c.want {
				t.Errorf("%s, want %s", got, c.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	ds := mkDS()
	ds.Spec.MinReadySeconds = 120
	ds.Status.ObservedGeneration = 2
	nodes := []*corev1.Node{mkNode("n0"), mkNode("n1"), mkNode("n2"), mkNode("n3", taint("dedicated", corev1.TaintEffectNoSchedule))}
	longReady := mkPod("a", "n0", "h2", "R", time.Hour)
	longReady.Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-time.Hour))
	pods := []*corev1.Pod{longReady, mkPod("b", "n1", "h1", "R", time.Hour), mkPod("c", "n3", "h2", "R", time.Hour)}
	st := Status(ds, nodes, NodeToPods(pods, false), "h2", now)
	got := fmt.Sprintf("desired %d current %d misscheduled %d ready %d available %d updated %d unavailable %d observed %d",
		st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled, st.NumberReady, st.NumberAvailable, st.UpdatedNumberScheduled, st.NumberUnavailable, st.ObservedGeneration)
	want := "desired 3 current 2 misscheduled 1 ready 2 available 1 updated 1 unavailable 2 observed 2"
	if got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}

func TestHistoryToDelete(t *testing.T) {
	ds := mkDS()
	ds.Spec.RevisionHistoryLimit = ptr.To[int32](1)
	var old []*appsv1.ControllerRevision
	for i := 4; i >= 1; i-- {
		old = append(old, &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("agent-h%d", i),
			Labels: map[string]string{"controller-revision-hash": fmt.Sprintf("h%d", i)}}, Revision: int64(i)})
	}
	pods := []*corev1.Pod{mkPod("a", "n0", "h1", "R", time.Hour)}
	var got []string
	for _, r := range HistoryToDelete(ds, old, pods) {
		got = append(got, r.Name)
	}
	if fmt.Sprint(got) != "[agent-h2 agent-h3 agent-h4]" {
		t.Errorf("deleted %v, want every old revision without pods but the one the limit keeps (h1, which a pod uses)", got)
	}
}
