package controller_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/controller/daemonset"
)

func (cl *cluster) waitDaemonSet(name, what string, timeout time.Duration, f func(*appsv1.DaemonSet) bool) *appsv1.DaemonSet {
	cl.t.Helper()
	var ds *appsv1.DaemonSet
	cl.poll(timeout, "daemonset "+name+" "+what, func() (bool, error) {
		var err error
		ds, err = cl.c.AppsV1().DaemonSets("default").Get(cl.ctx, name, metav1.GetOptions{})
		return err == nil && ds.Status.ObservedGeneration == ds.Generation && f(ds), err
	})
	return ds
}

// daemonPods renders the live pods of app as "node=image" in node order.
func (cl *cluster) daemonPods(app string) string {
	var out []string
	for _, p := range cl.podsOf("default", "app="+app) {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Spec.NodeName+"="+p.Spec.Containers[0].Image)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestDaemonSet(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"daemonset", "nodelifecycle"}}, "ds-")
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: podTemplate("agent", "agent:1")},
	}
	if _, err := cl.c.AppsV1().DaemonSets("default").Create(cl.ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	settled := func(n int32) func(*appsv1.DaemonSet) bool {
		return func(d *appsv1.DaemonSet) bool {
			s := d.Status
			return s.DesiredNumberScheduled == n && s.CurrentNumberScheduled == n && s.NumberReady == n && s.NumberAvailable == n &&
				s.UpdatedNumberScheduled == n && s.NumberMisscheduled == 0 && s.NumberUnavailable == 0
		}
	}
	cl.waitDaemonSet("agent", "on 2 nodes", 30*time.Second, settled(2))
	if got := cl.daemonPods("agent"); got != "ds-0=agent:1 ds-1=agent:1" {
		t.Errorf("pods %s", got)
	}
	for _, p := range cl.podsOf("default", "app=agent") {
		if node, ok := daemonset.TargetNode(&corev1.Pod{Spec: corev1.PodSpec{Affinity: p.Spec.Affinity}}); !ok || node != p.Spec.NodeName {
			t.Errorf("pod %s on %s has node affinity for %q", p.Name, p.Spec.NodeName, node)
		}
		if len(p.Spec.Tolerations) < 6 {
			t.Errorf("pod %s tolerations %v", p.Name, p.Spec.Tolerations)
		}
	}

	t.Run("nodes added", func(t *testing.T) {
		cl.addNodes("dsx-", 2)
		cl.waitDaemonSet("agent", "on 4 nodes", 30*time.Second, settled(4))
		if got := cl.daemonPods("agent"); got != "ds-0=agent:1 ds-1=agent:1 dsx-0=agent:1 dsx-1=agent:1" {
			t.Errorf("pods %s", got)
		}
	})

	t.Run("nodes removed", func(t *testing.T) {
		cl.stopNodes("dsx-")
		for _, n := range []string{"dsx-0", "dsx-1"} {
			if err := cl.c.CoreV1().Nodes().Delete(cl.ctx, n, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		cl.waitDaemonSet("agent", "back on 2 nodes", 30*time.Second, settled(2))
		// Their pods are deleted by pod GC (the node lifecycle controller).
		cl.poll(60*time.Second, "pods of removed nodes gone", func() (bool, error) {
			return cl.daemonPods("agent") == "ds-0=agent:1 ds-1=agent:1", nil
		})
	})

	t.Run("rolling update", func(t *testing.T) {
		pc := cl.countPods("default", "app=agent")
		patch := `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"agent:2"}]}}}}`
		if _, err := cl.c.AppsV1().DaemonSets("default").Patch(cl.ctx, "agent", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		cl.waitDaemonSet("agent", "updated", 60*time.Second, settled(2))
		cl.poll(30*time.Second, "old pods gone", func() (bool, error) { return cl.daemonPods("agent") == "ds-0=agent:2 ds-1=agent:2", nil })
		maxActive, minReady, _ := pc.get()
		if maxActive > 2 || minReady < 1 {
			t.Errorf("during the update: up to %d pods active, as few as %d ready (maxUnavailable 1, maxSurge 0 on 2 nodes)", maxActive, minReady)
		}
	})

	t.Run("rollout undo", func(t *testing.T) {
		// kubectl rollout undo: the second newest revision's data is patched onto the DaemonSet.
		revs, err := cl.c.AppsV1().ControllerRevisions("default").List(cl.ctx, metav1.ListOptions{LabelSelector: "app=agent"})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(revs.Items, func(i, j int) bool { return revs.Items[i].Revision < revs.Items[j].Revision })
		if len(revs.Items) != 2 || revs.Items[0].Revision != 1 || revs.Items[1].Revision != 2 {
			t.Fatalf("%d revisions: %+v", len(revs.Items), revs.Items)
		}
		prev := revs.Items[0]
		if _, err := cl.c.AppsV1().DaemonSets("default").Patch(cl.ctx, "agent", types.StrategicMergePatchType, prev.Data.Raw, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		cl.waitDaemonSet("agent", "rolled back", 60*time.Second, settled(2))
		cl.poll(30*time.Second, "pods back on agent:1", func() (bool, error) { return cl.daemonPods("agent") == "ds-0=agent:1 ds-1=agent:1", nil })
		back, err := cl.c.AppsV1().ControllerRevisions("default").Get(cl.ctx, prev.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if back.Revision != 3 {
			t.Errorf("revision %s after undo: %d, want 3", prev.Name, back.Revision)
		}
		for _, p := range cl.podsOf("default", "app=agent") {
			if p.DeletionTimestamp == nil && p.Labels[appsv1.ControllerRevisionHashLabelKey] != prev.Labels[appsv1.ControllerRevisionHashLabelKey] {
				t.Errorf("pod %s has hash %q, want %q", p.Name, p.Labels[appsv1.ControllerRevisionHashLabelKey], prev.Labels[appsv1.ControllerRevisionHashLabelKey])
			}
		}
		evs, err := cl.c.CoreV1().Events("default").List(cl.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=agent"})
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]int{}
		for _, e := range evs.Items {
			reasons[e.Reason]++
			if e.Source.Component != daemonset.Name {
				t.Errorf("event from %q", e.Source.Component)
			}
		}
		if reasons["SuccessfulCreate"] == 0 || reasons["SuccessfulDelete"] == 0 {
			t.Errorf("event reasons %v", reasons)
		}
	})
}
