package conversion

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func TestHPARoundTrips(t *testing.T) {
	v2 := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "h", Namespace: "ns", Annotations: map[string]string{"keep": "me"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("10"))}}},
			},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, DesiredReplicas: 4,
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale"}}},
	}
	var v1 autoscalingv1.HorizontalPodAutoscaler
	HPAToV1(v2, &v1)
	if v1.Spec.TargetCPUUtilizationPercentage == nil || *v1.Spec.TargetCPUUtilizationPercentage != 60 || v1.Annotations[MetricsAnnotation] == "" || v1.Annotations["keep"] != "me" {
		t.Fatalf("v1: %+v", v1)
	}
	var back autoscalingv2.HorizontalPodAutoscaler
	HPAToV2(&v1, &back)
	back.TypeMeta, v2.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
	if diff := cmp.Diff(v2, &back); diff != "" {
		t.Fatalf("v2 -> v1 -> v2 (-want +got):\n%s", diff)
	}
}

func TestEventRoundTripAndScheme(t *testing.T) {
	s := runtime.NewScheme()
	_ = corev1.AddToScheme(s)
	_ = eventsv1.AddToScheme(s)
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	in := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"},
		EventTime:  metav1.NewMicroTime(metav1.Now().Rfc3339Copy().Time), ReportingController: "skiff/test", ReportingInstance: "i",
		Action: "Bind", Reason: "Scheduled", Note: "assigned", Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "ns"},
		Series:    &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(metav1.Now().Rfc3339Copy().Time)},
	}
	core := &corev1.Event{}
	if err := s.Convert(in, core, nil); err != nil {
		t.Fatal(err)
	}
	if core.InvolvedObject.Name != "p" || core.Message != "assigned" || core.Series.Count != 2 {
		t.Fatalf("core: %+v", core)
	}
	back := &eventsv1.Event{}
	if err := s.Convert(core, back, nil); err != nil {
		t.Fatal(err)
	}
	back.TypeMeta = metav1.TypeMeta{}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
}
