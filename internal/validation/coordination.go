package validation

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateLease validates a lease's durations and holder preference.
func validateLease(l *coordinationv1.Lease) field.ErrorList {
	fldPath := field.NewPath("spec")
	var allErrs field.ErrorList
	if l.Spec.LeaseDurationSeconds != nil && *l.Spec.LeaseDurationSeconds <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("leaseDurationSeconds"), l.Spec.LeaseDurationSeconds, "must be greater than 0"))
	}
	if l.Spec.LeaseTransitions != nil && *l.Spec.LeaseTransitions < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("leaseTransitions"), l.Spec.LeaseTransitions, "must be greater than or equal to 0"))
	}
	if l.Spec.Strategy != nil && *l.Spec.Strategy != coordinationv1.OldestEmulationVersion {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("strategy"), *l.Spec.Strategy, []string{string(coordinationv1.OldestEmulationVersion)}))
	}
	if l.Spec.PreferredHolder != nil && *l.Spec.PreferredHolder != "" && (l.Spec.Strategy == nil || *l.Spec.Strategy == "") {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return allErrs
}
