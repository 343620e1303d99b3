package conversion

import (
	"encoding/json"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Annotations in which autoscaling/v1 keeps what only autoscaling/v2 can express.
const (
	MetricsAnnotation        = "autoscaling.alpha.kubernetes.io/metrics"
	CurrentMetricsAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics"
	ConditionsAnnotation     = "autoscaling.alpha.kubernetes.io/conditions"
	BehaviorAnnotation       = "autoscaling.alpha.kubernetes.io/behavior"
)

func isCPUUtilization(m autoscalingv2.MetricSpec) bool {
	return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
		m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil
}

// HPAToV1 converts a stored autoscaling/v2 HPA to autoscaling/v1: the CPU utilization target
// becomes targetCPUUtilizationPercentage; other metrics, conditions and behavior go to
// annotations.
func HPAToV1(in *autoscalingv2.HorizontalPodAutoscaler, out *autoscalingv1.HorizontalPodAutoscaler) {
	*out = autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	out.APIVersion, out.Kind = "autoscaling/v1", "HorizontalPodAutoscaler"
	out.Spec = autoscalingv1.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
		MinReplicas:    in.Spec.MinReplicas,
		MaxReplicas:    in.Spec.MaxReplicas,
	}
	var other []autoscalingv2.MetricSpec
	for _, m := range in.Spec.Metrics {
		if isCPUUtilization(m) && out.Spec.TargetCPUUtilizationPercentage == nil {
			v := *m.Resource.Target.AverageUtilization
			out.Spec.TargetCPUUtilizationPercentage = &v
			continue
		}
		other = append(other, m)
	}
	out.Status = autoscalingv1.HorizontalPodAutoscalerStatus{
		ObservedGeneration: in.Status.ObservedGeneration,
		LastScaleTime:      in.Status.LastScaleTime,
		CurrentReplicas:    in.Status.CurrentReplicas,
		DesiredReplicas:    in.Status.DesiredReplicas,
	}
	var otherCurrent []autoscalingv2.MetricStatus
	for _, m := range in.Status.CurrentMetrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Current.AverageUtilization != nil && out.Status.CurrentCPUUtilizationPercentage == nil {
			v := *m.Resource.Current.AverageUtilization
			out.Status.CurrentCPUUtilizationPercentage = &v
			continue
		}
		otherCurrent = append(otherCurrent, m)
	}
	setJSONAnnotation(&out.ObjectMeta.Annotations, MetricsAnnotation, other, len(other) > 0)
	setJSONAnnotation(&out.ObjectMeta.Annotations, CurrentMetricsAnnotation, otherCurrent, len(otherCurrent) > 0)
	setJSONAnnotation(&out.ObjectMeta.Annotations, ConditionsAnnotation, in.Status.Conditions, len(in.Status.Conditions) > 0)
	setJSONAnnotation(&out.ObjectMeta.Annotations, BehaviorAnnotation, in.Spec.Behavior, in.Spec.Behavior != nil)
}

// HPAToV2 converts an autoscaling/v1 HPA to the stored autoscaling/v2, restoring what the
// annotations of HPAToV1 kept.
func HPAToV2(in *autoscalingv1.HorizontalPodAutoscaler, out *autoscalingv2.HorizontalPodAutoscaler) {
	*out = autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	out.APIVersion, out.Kind = "autoscaling/v2", "HorizontalPodAutoscaler"
	out.Spec = autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
		MinReplicas:    in.Spec.MinReplicas,
		MaxReplicas:    in.Spec.MaxReplicas,
	}
	if p := in.Spec.TargetCPUUtilizationPercentage; p != nil {
		v := *p
		out.Spec.Metrics = append(out.Spec.Metrics, autoscalingv2.MetricSpec{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &v}},
		})
	}
	out.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		ObservedGeneration: in.Status.ObservedGeneration,
		LastScaleTime:      in.Status.LastScaleTime,
		CurrentReplicas:    in.Status.CurrentReplicas,
		DesiredReplicas:    in.Status.DesiredReplicas,
	}
	if p := in.Status.CurrentCPUUtilizationPercentage; p != nil {
		v := *p
		out.Status.CurrentMetrics = append(out.Status.CurrentMetrics, autoscalingv2.MetricStatus{
			Type:     autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: &v}},
		})
	}
	ann := out.ObjectMeta.Annotations
	var metrics []autoscalingv2.MetricSpec
	if getJSONAnnotation(ann, MetricsAnnotation, &metrics) {
		out.Spec.Metrics = append(out.Spec.Metrics, metrics...)
	}
	var current []autoscalingv2.MetricStatus
	if getJSONAnnotation(ann, CurrentMetricsAnnotation, &current) {
		out.Status.CurrentMetrics = append(out.Status.CurrentMetrics, current...)
	}
	var conditions []autoscalingv2.HorizontalPodAutoscalerCondition
	if getJSONAnnotation(ann, ConditionsAnnotation, &conditions) {
		out.Status.Conditions = conditions
	}
	var behavior autoscalingv2.HorizontalPodAutoscalerBehavior
	if getJSONAnnotation(ann, BehaviorAnnotation, &behavior) {
		out.Spec.Behavior = &behavior
	}
	for _, k := range []string{MetricsAnnotation, CurrentMetricsAnnotation, ConditionsAnnotation, BehaviorAnnotation} {
		delete(ann, k)
	}
	if len(ann) == 0 {
		out.ObjectMeta.Annotations = nil
	}
}

func setJSONAnnotation(ann *map[string]string, key string, v interface{}, set bool) {
	if !set {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	if *ann == nil {
		*ann = map[string]string{}
	}
	(*ann)[key] = string(b)
}

func getJSONAnnotation(ann map[string]string, key string, into interface{}) bool {
	s, ok := ann[key]
	return ok && json.Unmarshal([]byte(s), into) == nil
}
