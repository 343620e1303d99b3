package validation

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Messages shared with upstream's validation packages.
const (
	isNegativeErrorMsg    = apimachineryvalidation.IsNegativeErrorMsg
	fieldImmutableMsg     = apimachineryvalidation.FieldImmutableErrorMsg
	isNotIntegerErrorMsg  = `must be an integer`
	isNotPositiveErrorMsg = `must be greater than zero`
	selectorMismatchMsg   = "`selector` does not match template `labels`"
)

// nonNegative reports value if it is below zero.
func nonNegative(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

// immutable reports newVal if it is not semantically equal to oldVal.
func immutable(newVal, oldVal interface{}, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newVal, oldVal, fldPath)
}

// dnsLabel reports value if it is not an RFC 1123 label.
func dnsLabel(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg).WithOrigin("format=dns-label"))
	}
	return allErrs
}

// dnsSubdomain reports value if it is not an RFC 1123 subdomain.
func dnsSubdomain(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

// qualifiedName reports value if it is not a qualified name (an optional DNS
// subdomain prefix and a name part, as label keys are).
func qualifiedName(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg).WithOrigin("format=qualified-name"))
	}
	return allErrs
}

// nameErrs reports name with each message that nameFn returns for it.
func nameErrs(nameFn apimachineryvalidation.ValidateNameFunc, name string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range nameFn(name, false) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg))
	}
	return allErrs
}

// labelSelector validates a label selector strictly (label values must be
// valid), as upstream does for workload selectors.
func labelSelector(ps *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	return metavalidation.ValidateLabelSelector(ps, metavalidation.LabelSelectorValidationOptions{}, fldPath)
}

// templateObjectMeta validates the metadata of an embedded template that may
// only carry labels and annotations (upstream's ValidateTemplateObjectMeta).
func templateObjectMeta(objMeta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateAnnotations(objMeta.Annotations, fldPath.Child("annotations"))
	allErrs = append(allErrs, metavalidation.ValidateLabels(objMeta.Labels, fldPath.Child("labels"))...)
	allErrs = append(allErrs, fieldAllowList(*objMeta, map[string]bool{"Annotations": true, "Labels": true}, "cannot be set", fldPath)...)
	return allErrs
}

// fieldAllowList reports every field of the struct value that is set although
// it is not in allowed, under its lower-camel-case name.
func fieldAllowList(value interface{}, allowed map[string]bool, errorText string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	t, v := reflect.TypeOf(value), reflect.ValueOf(value)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if allowed[f.Name] {
			continue
		}
		if !reflect.DeepEqual(v.Field(i).Interface(), reflect.Zero(f.Type).Interface()) {
			r, n := utf8.DecodeRuneInString(f.Name)
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(string(unicode.ToLower(r))+f.Name[n:]), errorText))
		}
	}
	return allErrs
}

// standardFinalizers are the finalizer names that need no domain prefix.
var standardFinalizers = map[string]bool{
	"kubernetes":                     true,
	metav1.FinalizerOrphanDependents: true,
	metav1.FinalizerDeleteDependents: true,
}

// finalizerName validates a finalizer name as upstream's core validation
// does: a qualified name, and a standard one when it has no prefix.
func finalizerName(value string, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateFinalizerName(value, fldPath)
	if !strings.Contains(value, "/") && !standardFinalizers[value] {
		allErrs = append(allErrs, field.Invalid(fldPath, value, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return allErrs
}

// hasLabel requires that meta has the label key with value expected.
func hasLabel(meta metav1.ObjectMeta, fldPath *field.Path, key, expected string) field.ErrorList {
	actual, found := meta.Labels[key]
	if !found {
		return field.ErrorList{field.Required(fldPath.Child("labels").Key(key), fmt.Sprintf("must be '%s'", expected))}
	}
	if actual != expected {
		return field.ErrorList{field.Invalid(fldPath.Child("labels").Key(key), meta.Labels, fmt.Sprintf("must be '%s'", expected))}
	}
	return nil
}

// isDecremented reports whether a counter went down or was unset.
func isDecremented(update, old *int32) bool {
	if update == nil && old != nil {
		return true
	}
	if update == nil || old == nil {
		return false
	}
	return *update < *old
}

// validateAnnotations validates annotation keys and their total size.
func validateAnnotations(annotations map[string]string, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateAnnotations(annotations, fldPath)
}

// legacyIP validates an IP in a field that predates strict IP validation,
// as upstream does while the StrictIPCIDRValidation gate is off.
func legacyIP(fldPath *field.Path, value string) field.ErrorList {
	return validation.IsValidIPForLegacyField(fldPath, value, false, nil)
}

// legacyCIDR validates a CIDR in a field that predates strict validation.
func legacyCIDR(fldPath *field.Path, value string) field.ErrorList {
	return validation.IsValidCIDRForLegacyField(fldPath, value, false, nil)
}
