package controller_test

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
)

// TestNodeFailure stops one node set: its nodes turn Unknown and get the unreachable taints,
// their pods are evicted once their 2 s toleration runs out, and the ReplicaSet recreates them
// on the nodes still running. Started again, the nodes lose the taints.
func TestNodeFailure(t *testing.T) {
	t.Parallel()
	// Simulated kubelets renew their Leases every 10 s, so the grace period must exceed that.
	cl := startCluster(t, controller.Options{Controllers: []string{"replicaset", "nodelifecycle"},
		NodeMonitorGracePeriod: 12 * time.Second, NodeMonitorPeriod: time.Second, NodeEvictionRate: 10}, "doomed-", "safe-")
	tmpl := podTemplate("web", "nginx")
	tmpl.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](2)}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](8), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: tmpl}}
	if _, err := cl.c.AppsV1().ReplicaSets("default").Create(cl.ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readyOn := func(prefix string) (n int) {
		for _, p := range cl.podsOf("default", "app=web") {
			if p.DeletionTimestamp == nil && podReady(&p) && strings.HasPrefix(p.Spec.NodeName, prefix) {
				n++
			}
		}
		return n
	}
	cl.poll(30*time.Second, "8 ready pods, some on the doomed nodes", func() (bool, error) {
		return readyOn("") == 8 && readyOn("doomed-") > 0, nil
	})

	cl.stopNodes("doomed-")
	cl.poll(40*time.Second, "the doomed nodes Unknown and tainted unreachable:NoExecute", func() (bool, error) {
		for _, name := range []string{"doomed-0", "doomed-1"} {
			n, err := cl.c.CoreV1().Nodes().Get(cl.ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			tainted := false
			for _, taint := range n.Spec.Taints {
				tainted = tainted || (taint.Key == corev1.TaintNodeUnreachable && taint.Effect == corev1.TaintEffectNoExecute)
			}
			var ready corev1.NodeCondition
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady {
					ready = c
				}
			}
			if !tainted || ready.Status != corev1.ConditionUnknown || ready.Reason != "NodeStatusUnknown" {
				return false, nil
			}
		}
		return true, nil
	})
	cl.poll(30*time.Second, "the pods evicted and recreated on the safe nodes", func() (bool, error) {
		return readyOn("safe-") == 8, nil
	})
	for _, p := range cl.podsOf("default", "app=web") {
		if strings.HasPrefix(p.Spec.NodeName, "doomed-") && p.DeletionTimestamp == nil {
			t.Errorf("pod %s on %s not evicted", p.Name, p.Spec.NodeName)
		}
	}

	// The nodes come back: Ready, untainted.
	cl.addNodes("doomed-", 2)
	cl.poll(30*time.Second, "the returned nodes untainted", func() (bool, error) {
		for _, name := range []string{"doomed-0", "doomed-1"} {
			n, err := cl.c.CoreV1().Nodes().Get(cl.ctx, name, metav1.GetOptions{})
			if err != nil || len(n.Spec.Taints) > 0 {
				return false, err
			}
		}
		return true, nil
	})
}
