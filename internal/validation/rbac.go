package validation

import (
	rbacv1 "k8s.io/api/rbac/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// internalRoleRef mirrors upstream's internal RoleRef, whose Go field names
// show when a changed roleRef is reported.
type internalRoleRef struct {
	APIGroup string
	Kind     string
	Name     string
}

// policyRules validates the rules of a role.
func policyRules(rules []rbacv1.PolicyRule, namespaced bool) field.ErrorList {
	var allErrs field.ErrorList
	for i, rule := range rules {
		p := field.NewPath("rules").Index(i)
		if len(rule.Verbs) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
		}
		if len(rule.NonResourceURLs) > 0 {
			if namespaced {
				allErrs = append(allErrs, field.Invalid(p.Child("nonResourceURLs"), rule.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
			}
			if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("nonResourceURLs"), rule.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
			}
			continue
		}
		if len(rule.APIGroups) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
		}
		if len(rule.Resources) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
		}
	}
	return allErrs
}

// validateRole validates a role's rules.
func validateRole(r *rbacv1.Role) field.ErrorList {
	return policyRules(r.Rules, true)
}

// validateClusterRole validates a cluster role's rules and aggregation rule.
func validateClusterRole(r *rbacv1.ClusterRole) field.ErrorList {
	allErrs := policyRules(r.Rules, false)
	if r.AggregationRule != nil {
		p := field.NewPath("aggregationRule", "clusterRoleSelectors")
		if len(r.AggregationRule.ClusterRoleSelectors) == 0 {
			allErrs = append(allErrs, field.Required(p, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
		}
		for i := range r.AggregationRule.ClusterRoleSelectors {
			sel := &r.AggregationRule.ClusterRoleSelectors[i]
			allErrs = append(allErrs, labelSelector(sel, p.Index(i))...)
			if s, err := metav1.LabelSelectorAsSelector(sel); err != nil {
				allErrs = append(allErrs, field.Invalid(p.Index(i), s, "invalid label selector."))
			}
		}
	}
	return allErrs
}

// roleRef validates a binding's role reference; kinds lists the kinds allowed.
func roleRef(ref rbacv1.RoleRef, kinds []string) field.ErrorList {
	var allErrs field.ErrorList
	if ref.APIGroup != rbacv1.GroupName {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("roleRef", "apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	ok := false
	for _, k := range kinds {
		ok = ok || ref.Kind == k
	}
	if !ok {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("roleRef", "kind"), ref.Kind, kinds))
	}
	if len(ref.Name) == 0 {
		allErrs = append(allErrs, field.Required(field.NewPath("roleRef", "name"), ""))
	} else {
		for _, msg := range pathvalidation.IsValidPathSegmentName(ref.Name) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("roleRef", "name"), ref.Name, msg))
		}
	}
	return allErrs
}

// subjects validates the subjects of a binding.
func subjects(subjects []rbacv1.Subject, namespaced bool) field.ErrorList {
	var allErrs field.ErrorList
	for i, s := range subjects {
		p := field.NewPath("subjects").Index(i)
		if len(s.Name) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("name"), ""))
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if len(s.Name) > 0 {
				allErrs = append(allErrs, nameErrs(apimachineryvalidation.ValidateServiceAccountName, s.Name, p.Child("name"))...)
			}
			if len(s.APIGroup) > 0 {
				allErrs = append(allErrs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
			}
			if !namespaced && len(s.Namespace) == 0 {
				allErrs = append(allErrs, field.Required(p.Child("namespace"), ""))
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.APIGroup != rbacv1.GroupName {
				allErrs = append(allErrs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
			}
		default:
			allErrs = append(allErrs, field.NotSupported(p.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
		}
	}
	return allErrs
}

// validateRoleBinding validates a role binding's roleRef and subjects.
func validateRoleBinding(b *rbacv1.RoleBinding) field.ErrorList {
	return append(roleRef(b.RoleRef, []string{"Role", "ClusterRole"}), subjects(b.Subjects, true)...)
}

// validateClusterRoleBinding validates a cluster role binding.
func validateClusterRoleBinding(b *rbacv1.ClusterRoleBinding) field.ErrorList {
	return append(roleRef(b.RoleRef, []string{"ClusterRole"}), subjects(b.Subjects, false)...)
}

// roleRefChanged reports a changed roleRef, which bindings may not do.
func roleRefChanged(ref, old rbacv1.RoleRef) field.ErrorList {
	if ref != old {
		return field.ErrorList{field.Invalid(field.NewPath("roleRef"), internalRoleRef(ref), "cannot change roleRef")}
	}
	return nil
}

// validateRoleBindingUpdate validates a role binding update.
func validateRoleBindingUpdate(b, old *rbacv1.RoleBinding) field.ErrorList {
	return append(validateRoleBinding(b), roleRefChanged(b.RoleRef, old.RoleRef)...)
}

// validateClusterRoleBindingUpdate validates a cluster role binding update.
func validateClusterRoleBindingUpdate(b, old *rbacv1.ClusterRoleBinding) field.ErrorList {
	return append(validateClusterRoleBinding(b), roleRefChanged(b.RoleRef, old.RoleRef)...)
}
