package cache

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

func mkNode(name string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4")}}}
}

func mkPod(name, node string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: v1.PodSpec{NodeName: node,
		Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}}}}}}
}

func TestAssumeConfirmForgetExpire(t *testing.T) {
	c := New(30 * time.Second)
	c.AddNode(mkNode("n1"))
	snap := framework.NewEmptySnapshot()
	cpu := func() int64 { c.UpdateSnapshot(snap); return snap.Get("n1").Requested.MilliCPU }

	c.AssumePod(mkPod("a", "n1"))
	if got := cpu(); got != 1000 {
		t.Fatalf("assumed: %d", got)
	}
	c.FinishBinding(mkPod("a", "n1"), time.Unix(0, 0))
	c.AddPod(mkPod("a", "n1")) // confirmed through the watch
	if c.IsAssumed(mkPod("a", "n1")) || cpu() != 1000 {
		t.Fatalf("confirm: assumed=%v cpu=%d", c.IsAssumed(mkPod("a", "n1")), cpu())
	}
	c.AssumePod(mkPod("b", "n1"))
	c.ForgetPod(mkPod("b", "n1")) // binding failed
	if got := cpu(); got != 1000 {
		t.Fatalf("forget: %d", got)
	}
	c.AssumePod(mkPod("c", "n1"))
	c.FinishBinding(mkPod("c", "n1"), time.Unix(0, 0))
	if exp := c.CleanupExpiredAssumedPods(time.Unix(10, 0)); len(exp) != 0 {
		t.Fatalf("expired early: %v", exp)
	}
	if exp := c.CleanupExpiredAssumedPods(time.Unix(31, 0)); len(exp) != 1 || cpu() != 1000 {
		t.Fatalf("expiry: %v, cpu %d", exp, cpu())
	}
	c.RemovePod(mkPod("a", "n1"))
	if got := cpu(); got != 0 {
		t.Fatalf("remove: %d", got)
	}
}

func TestSnapshotIsIncremental(t *testing.T) {
	c := New(0)
	for _, n := range []string{"n1", "n2", "n3"} {
		c.AddNode(mkNode(n))
	}
	snap := framework.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 3 {
		t.Fatalf("%d nodes", snap.NumNodes())
	}
	n1, n2 := snap.Get("n1"), snap.Get("n2")
	gen2 := n2.Generation
	c.AssumePod(mkPod("a", "n1"))
	c.UpdateSnapshot(snap)
	if snap.Get("n1") != n1 || n1.Requested.MilliCPU != 1000 {
		t.Errorf("n1 not updated in place")
	}
	if n2.Generation != gen2 {
		t.Errorf("unchanged n2 was copied")
	}
	c.RemoveNode(mkNode("n3"))
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 2 || snap.Get("n3") != nil {
		t.Errorf("removed node still in snapshot")
	}
}
