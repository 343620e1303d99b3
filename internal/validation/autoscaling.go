package validation

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxPeriodSeconds              = 1800
	maxStabilizationWindowSeconds = 3600
)

var (
	validMetricSourceTypes = sets.New(string(autoscalingv2.ObjectMetricSourceType), string(autoscalingv2.PodsMetricSourceType),
		string(autoscalingv2.ResourceMetricSourceType), string(autoscalingv2.ExternalMetricSourceType), string(autoscalingv2.ContainerResourceMetricSourceType))
	validSelectPolicies = sets.New(string(autoscalingv2.MaxChangePolicySelect), string(autoscalingv2.MinChangePolicySelect), string(autoscalingv2.DisabledPolicySelect))
	validPolicyTypes    = sets.New(string(autoscalingv2.PodsScalingPolicy), string(autoscalingv2.PercentScalingPolicy))
)

// validateHPA validates a horizontal pod autoscaler's spec.
func validateHPA(hpa *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	spec := &hpa.Spec
	fldPath := field.NewPath("spec")
	var allErrs field.ErrorList
	if spec.MinReplicas != nil && *spec.MinReplicas < 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("minReplicas"), *spec.MinReplicas, "must be greater than or equal to 1"))
	}
	if spec.MaxReplicas < 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than 0"))
	}
	if spec.MinReplicas != nil && spec.MaxReplicas < *spec.MinReplicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	if errs := crossVersionObjectReference(spec.ScaleTargetRef.Kind, spec.ScaleTargetRef.Name, fldPath.Child("scaleTargetRef")); len(errs) > 0 {
		return append(allErrs, errs...)
	}
	if errs := hpaMetrics(spec.Metrics, fldPath.Child("metrics"), spec.MinReplicas); len(errs) > 0 {
		return append(allErrs, errs...)
	}
	return append(allErrs, hpaBehavior(spec.Behavior, fldPath.Child("behavior"))...)
}

// crossVersionObjectReference validates a kind and name reference.
func crossVersionObjectReference(kind, name string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, f := range []struct{ child, value string }{{"kind", kind}, {"name", name}} {
		if len(f.value) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child(f.child), ""))
			continue
		}
		for _, msg := range pathvalidation.IsValidPathSegmentName(f.value) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child(f.child), f.value, msg))
		}
	}
	return allErrs
}

// hpaMetrics validates the metric specs of an autoscaler.
func hpaMetrics(metrics []autoscalingv2.MetricSpec, fldPath *field.Path, minReplicas *int32) field.ErrorList {
	var allErrs field.ErrorList
	objectOrExternal := false
	for i, m := range metrics {
		allErrs = append(allErrs, metricSpec(m, fldPath.Index(i))...)
		if m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType {
			objectOrExternal = true
		}
	}
	if minReplicas != nil && *minReplicas == 0 && !objectOrExternal {
		allErrs = append(allErrs, field.Forbidden(fldPath, "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	return allErrs
}

// metricSpec validates one metric: its type and the matching source.
func metricSpec(m autoscalingv2.MetricSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(m.Type) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), "must specify a metric source type"))
	}
	if !validMetricSourceTypes.Has(string(m.Type)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), m.Type, sets.List(validMetricSourceTypes)))
	}
	present := sets.New[string]()
	check := func(set bool, name string, validate func() field.ErrorList) {
		if set {
			present.Insert(name)
			if present.Len() == 1 {
				allErrs = append(allErrs, validate()...)
			}
		}
	}
	check(m.Object != nil, "object", func() field.ErrorList {
		p := fldPath.Child("object")
		errs := crossVersionObjectReference(m.Object.DescribedObject.Kind, m.Object.DescribedObject.Name, p.Child("describedObject"))
		errs = append(errs, metricIdentifier(m.Object.Metric, p.Child("metric"))...)
		errs = append(errs, metricTarget(m.Object.Target, p.Child("target"))...)
		if m.Object.Target.Value == nil && m.Object.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("target").Child("averageValue"), "must set either a target value or averageValue"))
		}
		return errs
	})
	check(m.External != nil, "external", func() field.ErrorList {
		p := fldPath.Child("external")
		errs := metricIdentifier(m.External.Metric, p.Child("metric"))
		errs = append(errs, metricTarget(m.External.Target, p.Child("target"))...)
		if m.External.Target.Value == nil && m.External.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("target").Child("averageValue"), "must set either a target value for metric or a per-pod target"))
		}
		if m.External.Target.Value != nil && m.External.Target.AverageValue != nil {
			errs = append(errs, field.Forbidden(p.Child("target").Child("value"), "may not set both a target value for metric and a per-pod target"))
		}
		return errs
	})
	check(m.Pods != nil, "pods", func() field.ErrorList {
		p := fldPath.Child("pods")
		errs := metricIdentifier(m.Pods.Metric, p.Child("metric"))
		errs = append(errs, metricTarget(m.Pods.Target, p.Child("target"))...)
		if m.Pods.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("target").Child("averageValue"), "must specify a positive target averageValue"))
		}
		return errs
	})
	check(m.Resource != nil, "resource", func() field.ErrorList {
		return resourceMetric(string(m.Resource.Name), "", m.Resource.Target, fldPath.Child("resource"), false)
	})
	check(m.ContainerResource != nil, "containerResource", func() field.ErrorList {
		return resourceMetric(string(m.ContainerResource.Name), m.ContainerResource.Container, m.ContainerResource.Target, fldPath.Child("containerResource"), true)
	})
	expected := ""
	switch m.Type {
	case autoscalingv2.ObjectMetricSourceType:
		expected = "object"
	case autoscalingv2.PodsMetricSourceType:
		expected = "pods"
	case autoscalingv2.ResourceMetricSourceType:
		expected = "resource"
	case autoscalingv2.ExternalMetricSourceType:
		expected = "external"
	case autoscalingv2.ContainerResourceMetricSourceType:
		expected = "containerResource"
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), m.Type, sets.List(validMetricSourceTypes)))
	}
	if expected != "" && !present.Has(expected) {
		allErrs = append(allErrs, field.Required(fldPath.Child(expected), "must populate information for the given metric source"))
	}
	if present.Len() != 1 {
		present.Delete(expected)
		for _, t := range sets.List(present) {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(t), "must populate the given metric source only"))
		}
	}
	return allErrs
}

// metricIdentifier requires a metric name and validates its selector.
func metricIdentifier(id autoscalingv2.MetricIdentifier, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(id.Name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "must specify a metric name"))
	} else {
		for _, msg := range pathvalidation.IsValidPathSegmentName(id.Name) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), id.Name, msg))
		}
	}
	return append(allErrs, labelSelector(id.Selector, fldPath.Child("selector"))...)
}

// resourceMetric validates a resource or container resource metric.
func resourceMetric(name, container string, target autoscalingv2.MetricTarget, fldPath *field.Path, isContainer bool) field.ErrorList {
	var allErrs field.ErrorList
	if len(name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	}
	if isContainer {
		if len(container) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("container"), "must specify a container"))
		} else {
			allErrs = append(allErrs, dnsLabel(container, fldPath.Child("container"))...)
		}
	}
	allErrs = append(allErrs, metricTarget(target, fldPath.Child("target"))...)
	tp := fldPath.Child("target")
	if target.AverageUtilization == nil && target.AverageValue == nil {
		allErrs = append(allErrs, field.Required(tp.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if target.AverageUtilization != nil && target.AverageValue != nil {
		allErrs = append(allErrs, field.Forbidden(tp.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return allErrs
}

// metricTarget validates a metric target's type and values.
func metricTarget(t autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(t.Type) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType && t.Type != autoscalingv2.AverageValueMetricType {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("averageUtilization"), t.AverageUtilization, "must be greater than 0"))
	}
	return allErrs
}

// hpaBehavior validates the scale up and scale down rules.
func hpaBehavior(b *autoscalingv2.HorizontalPodAutoscalerBehavior, fldPath *field.Path) field.ErrorList {
	if b == nil {
		return nil
	}
	var allErrs field.ErrorList
	for _, r := range []struct {
		name  string
		rules *autoscalingv2.HPAScalingRules
	}{{"scaleUp", b.ScaleUp}, {"scaleDown", b.ScaleDown}} {
		if r.rules != nil {
			allErrs = append(allErrs, scalingRules(r.rules, fldPath.Child(r.name))...)
		}
	}
	return allErrs
}

// scalingRules validates one direction's scaling rules.
func scalingRules(r *autoscalingv2.HPAScalingRules, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > maxStabilizationWindowSeconds) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w, fmt.Sprintf("must be greater than or equal to zero and less than or equal to %v", maxStabilizationWindowSeconds)))
	}
	if r.SelectPolicy != nil && !validSelectPolicies.Has(string(*r.SelectPolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("selectPolicy"), *r.SelectPolicy, sets.List(validSelectPolicies)))
	}
	pp := fldPath.Child("policies")
	if len(r.Policies) == 0 {
		allErrs = append(allErrs, field.Required(pp, "must specify at least one Policy"))
	}
	for i, p := range r.Policies {
		ip := pp.Index(i)
		if !validPolicyTypes.Has(string(p.Type)) {
			allErrs = append(allErrs, field.NotSupported(ip.Child("type"), p.Type, sets.List(validPolicyTypes)))
		}
		if p.Value <= 0 {
			allErrs = append(allErrs, field.Invalid(ip.Child("value"), p.Value, "must be greater than zero"))
		}
		if p.PeriodSeconds <= 0 {
			allErrs = append(allErrs, field.Invalid(ip.Child("periodSeconds"), p.PeriodSeconds, "must be greater than zero"))
		}
		if p.PeriodSeconds > maxPeriodSeconds {
			allErrs = append(allErrs, field.Invalid(ip.Child("periodSeconds"), p.PeriodSeconds, fmt.Sprintf("must be less than or equal to %v", maxPeriodSeconds)))
		}
	}
	return allErrs
}
