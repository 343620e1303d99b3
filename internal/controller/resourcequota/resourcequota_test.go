package resourcequota

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/quota"
)

func TestStatus(t *testing.T) {
	q := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourcePods: resource.MustParse("10"), corev1.ResourceRequestsCPU: resource.MustParse("2"),
		"count/deployments.apps": resource.MustParse("5"), corev1.ResourceSecrets: resource.MustParse("3"),
	}}}
	pod := func(cpu string, phase corev1.PodPhase) runtime.Object {
		return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}}, Status: corev1.PodStatus{Phase: phase}}
	}
	objs := map[schema.GroupResource][]runtime.Object{
		{Resource: "pods"}:                       {pod("100m", corev1.PodRunning), pod("200m", ""), pod("1", corev1.PodFailed)},
		{Group: "apps", Resource: "deployments"}: {&corev1.Pod{}, &corev1.Pod{}},
	}
	got := Status(q, objs, time.Now())
	if want := "count/deployments.apps=2,pods=2,requests.cpu=300m,secrets=0"; quota.Format(got.Used) != want {
		t.Errorf("used %s, want %s", quota.Format(got.Used), want)
	}
	if !quota.Equal(got.Hard, q.Spec.Hard) {
		t.Errorf("hard %v", got.Hard)
	}
	res := Resources(q.Spec.Hard)
	for _, gr := range []schema.GroupResource{{Resource: "pods"}, {Resource: "secrets"}, {Group: "apps", Resource: "deployments"}} {
		if !res[gr] {
			t.Errorf("Resources misses %v: %v", gr, res)
		}
	}
}
