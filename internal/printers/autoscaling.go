package printers

import (
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(Printer{Columns: horizontalPodAutoscalerColumns(), Cells: horizontalPodAutoscalerCells},
		schema.GroupKind{Group: autoscalingv2.GroupName, Kind: "HorizontalPodAutoscaler"})
}

// horizontalPodAutoscalerColumns describes the columns with autoscaling/v2
// documentation; upstream cites autoscaling/v2beta1, which k8s.io/api no
// longer ships.
func horizontalPodAutoscalerColumns() []metav1.TableColumnDefinition {
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Reference", Type: "string", Description: spec["scaleTargetRef"]},
		{Name: "Targets", Type: "string", Description: spec["metrics"]},
		{Name: "MinPods", Type: "string", Description: spec["minReplicas"]},
		{Name: "MaxPods", Type: "string", Description: spec["maxReplicas"]},
		{Name: "Replicas", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]},
		ageColumn(),
	}
}

// horizontalPodAutoscalerCells accepts autoscaling/v2 and autoscaling/v1
// objects; a v1 object is printed as its v2 equivalent.
func horizontalPodAutoscalerCells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	switch o := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		hpa = o
	case *autoscalingv1.HorizontalPodAutoscaler:
		if o != nil {
			hpa = hpaV1ToV2(o)
		}
	default:
		return nil, fmt.Errorf("printers: expected a HorizontalPodAutoscaler, got %T", obj)
	}
	if hpa == nil {
		return nil, fmt.Errorf("printers: expected a non-nil HorizontalPodAutoscaler, got %T", obj)
	}
	minPods := "<unset>"
	if hpa.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *hpa.Spec.MinReplicas)
	}
	return []interface{}{
		hpa.Name,
		hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name,
		hpaMetrics(hpa.Spec.Metrics, hpa.Status.CurrentMetrics),
		minPods,
		int64(hpa.Spec.MaxReplicas),
		int64(hpa.Status.CurrentReplicas),
		age(hpa.CreationTimestamp, now),
	}, nil
}

// hpaV1ToV2 converts the fields the printer reads from an autoscaling/v1
// object: the CPU utilization target and current value become a cpu
// Resource metric, as conversion does. Metrics kept in v1's round-trip
// annotations are not decoded.
func hpaV1ToV2(in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	out := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: in.ObjectMeta}
	out.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{
		Kind: in.Spec.ScaleTargetRef.Kind, Name: in.Spec.ScaleTargetRef.Name, APIVersion: in.Spec.ScaleTargetRef.APIVersion,
	}
	out.Spec.MinReplicas = in.Spec.MinReplicas
	out.Spec.MaxReplicas = in.Spec.MaxReplicas
	if t := in.Spec.TargetCPUUtilizationPercentage; t != nil {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: t},
			},
		}}
	}
	out.Status.CurrentReplicas = in.Status.CurrentReplicas
	out.Status.DesiredReplicas = in.Status.DesiredReplicas
	if c := in.Status.CurrentCPUUtilizationPercentage; c != nil {
		out.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{
				Name:    corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: c},
			},
		}}
	}
	return out
}

// hpaMetrics renders the TARGETS cell: "current/target" for each metric
// spec (current from the status at the same index, "<unknown>" if absent),
// the first two joined by ", " and the rest as " + N more..."; "<none>"
// without metrics. A spec whose source is missing is "<unknown type>".
func hpaMetrics(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	const max = 2
	list := make([]string, 0, len(specs))
	for i, spec := range specs {
		var status *autoscalingv2.MetricStatus
		if i < len(statuses) {
			status = &statuses[i]
		}
		list = append(list, hpaMetric(spec, status))
	}
	if len(list) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ", "), len(list)-max)
	}
	return strings.Join(list, ", ")
}

// hpaMetric renders one metric of the TARGETS cell; status may be nil.
func hpaMetric(spec autoscalingv2.MetricSpec, status *autoscalingv2.MetricStatus) string {
	const unknown = "<unknown>"
	switch {
	case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.External != nil {
			current = &status.External.Current
		}
		return valueMetric(spec.External.Target, current)
	case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
		current := unknown
		if status != nil && status.Pods != nil {
			current = status.Pods.Current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.Pods.Target.AverageValue.String())
	case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.Object != nil {
			current = &status.Object.Current
		}
		return valueMetric(spec.Object.Target, current)
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.Resource != nil {
			current = &status.Resource.Current
		}
		return resourceMetric(spec.Resource.Name, spec.Resource.Target, current)
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.ContainerResource != nil {
			current = &status.ContainerResource.Current
		}
		return resourceMetric(spec.ContainerResource.Name, spec.ContainerResource.Target, current)
	}
	return "<unknown type>"
}

// valueMetric renders an Object or External metric: "current/target (avg)"
// for an average value target, "current/target" for a value target.
func valueMetric(target autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	if target.AverageValue != nil {
		c := "<unknown>"
		if current != nil && current.AverageValue != nil {
			c = current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s (avg)", c, target.AverageValue.String())
	}
	c := "<unknown>"
	if current != nil {
		c = current.Value.String()
	}
	return fmt.Sprintf("%s/%s", c, target.Value.String())
}

// resourceMetric renders a Resource or ContainerResource metric:
// "name: current/target" as average values, or as utilization percentages
// ("<auto>" for a missing target).
func resourceMetric(name corev1.ResourceName, target autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	if target.AverageValue != nil {
		c := "<unknown>"
		if current != nil {
			c = current.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, c, target.AverageValue.String())
	}
	c := "<unknown>"
	if current != nil && current.AverageUtilization != nil {
		c = fmt.Sprintf("%d%%", *current.AverageUtilization)
	}
	t := "<auto>"
	if target.AverageUtilization != nil {
		t = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, c, t)
}
