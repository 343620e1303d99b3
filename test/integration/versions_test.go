package integration

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestServedVersions checks kinds served in two versions over one stored object:
// autoscaling/v1 and v2 HorizontalPodAutoscalers, and core/v1 and events.k8s.io/v1 Events.
func TestServedVersions(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	v1 := client().AutoscalingV1().HorizontalPodAutoscalers(ns)
	h, err := v1.Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "h"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MaxReplicas: 5, TargetCPUUtilizationPercentage: ptr.To[int32](70)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h.APIVersion != "" && h.APIVersion != "autoscaling/v1" || *h.Spec.TargetCPUUtilizationPercentage != 70 || *h.Spec.MinReplicas != 1 {
		t.Fatalf("v1 create: %+v", h)
	}
	h2, err := client().AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "h", metav1.GetOptions{})
	if err != nil || len(h2.Spec.Metrics) != 1 || *h2.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 || h2.UID != h.UID {
		t.Fatalf("v2 view: %v %+v", err, h2)
	}
	w, err := v1.Watch(ctx, metav1.ListOptions{ResourceVersion: h.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	h2.Spec.MaxReplicas = 9
	if _, err := client().AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, h2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, w)
	if got, ok := ev.Object.(*autoscalingv1.HorizontalPodAutoscaler); !ok || got.Spec.MaxReplicas != 9 {
		t.Fatalf("v1 watch of a v2 update: %T %+v", ev.Object, ev.Object)
	}

	_, err = client().EventsV1().Events(ns).Create(ctx, &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e"},
		EventTime: metav1.NowMicro(), ReportingController: "skiff.io/test", ReportingInstance: "i", Action: "Test", Reason: "Tested",
		Note: "hello", Type: corev1.EventTypeNormal, Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	core, err := client().CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=p,reason=Tested"})
	if err != nil || len(core.Items) != 1 || core.Items[0].Message != "hello" {
		t.Fatalf("core view: %v %+v", err, core)
	}
	ev1, err := client().EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=p"})
	if err != nil || len(ev1.Items) != 1 || ev1.Items[0].Note != "hello" {
		t.Fatalf("events.k8s.io view with a regarding.name selector: %v %+v", err, ev1)
	}
}

// TestEventsExpire checks that Events are stored with an etcd lease of about an hour, kept
// across updates, as upstream's --event-ttl does.
func TestEventsExpire(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	ev, err := client().CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns}, Reason: "R", Message: "m", Count: 1}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev.Count = 2
	if _, err := client().CoreV1().Events(ns).Update(ctx, ev, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := shared.Etcd.Get(ctx, "/registry/events/"+ns+"/e")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("event key has no lease: %v %+v", err, resp)
	}
	ttl, err := shared.Etcd.TimeToLive(ctx, clientv3.LeaseID(resp.Kvs[0].Lease))
	if err != nil || ttl.TTL < 3500 || ttl.TTL > 3600+60 {
		t.Fatalf("event lease TTL %d: %v", ttl.TTL, err)
	}
}
