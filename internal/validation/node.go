package validation

import (
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateRuntimeClass validates a runtime class's handler, overhead and scheduling.
func validateRuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSLabel(rc.Handler, false) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("handler"), rc.Handler, msg))
	}
	if rc.Overhead != nil {
		allErrs = append(allErrs, resourceRequirements(&corev1.ResourceRequirements{Limits: rc.Overhead.PodFixed}, containerResourceName, nil, field.NewPath("overhead").Child("podFixed"))...)
	}
	if s := rc.Scheduling; s != nil {
		p := field.NewPath("scheduling")
		allErrs = append(allErrs, metavalidation.ValidateLabels(s.NodeSelector, p.Child("nodeSelector"))...)
		allErrs = append(allErrs, tolerations(s.Tolerations, p.Child("tolerations"))...)
	}
	return allErrs
}

// validateRuntimeClassUpdate validates an update; the handler is immutable.
func validateRuntimeClassUpdate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	return immutable(rc.Handler, old.Handler, field.NewPath("handler"))
}
