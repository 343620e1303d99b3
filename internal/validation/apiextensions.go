package validation

import (
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateCRD validates the basics of a custom resource definition: its
// name, group, scope, versions and names. Schemas are not validated.
func validateCRD(crd *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	var allErrs field.ErrorList
	spec := &crd.Spec
	if crd.Name != spec.Names.Plural+"."+spec.Group {
		allErrs = append(allErrs, field.Invalid(field.NewPath("metadata", "name"), crd.Name, `must be spec.names.plural+"."+spec.group`))
	}
	fldPath := field.NewPath("spec")
	if len(spec.Group) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("group"), ""))
	} else if errs := validation.IsDNS1123Subdomain(spec.Group); len(errs) > 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("group"), spec.Group, strings.Join(errs, ",")))
	} else if len(strings.Split(spec.Group, ".")) < 2 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("group"), spec.Group, "should be a domain with at least one dot"))
	}
	scopes := []string{string(apiextensionsv1.ClusterScoped), string(apiextensionsv1.NamespaceScoped)}
	if spec.Scope == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("scope"), ""))
	} else if spec.Scope != apiextensionsv1.ClusterScoped && spec.Scope != apiextensionsv1.NamespaceScoped {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("scope"), string(spec.Scope), scopes))
	}
	storage := 0
	seen := map[string]bool{}
	unique := true
	for i, v := range spec.Versions {
		if v.Storage {
			storage++
		}
		if seen[v.Name] {
			unique = false
		}
		seen[v.Name] = true
		if errs := validation.IsDNS1035Label(v.Name); len(errs) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("versions").Index(i).Child("name"), v.Name, strings.Join(errs, ",")))
		}
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("versions").Index(i).Child("schema").Child("openAPIV3Schema"), ""))
		}
	}
	if !unique {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("versions"), spec.Versions, "must contain unique version names"))
	}
	if storage != 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("versions"), spec.Versions, "must have exactly one version marked as storage version"))
	}
	np := fldPath.Child("names")
	n := &spec.Names
	for _, r := range []struct{ child, value string }{{"plural", n.Plural}, {"singular", n.Singular}, {"kind", n.Kind}, {"listKind", n.ListKind}} {
		if len(r.value) == 0 {
			allErrs = append(allErrs, field.Required(np.Child(r.child), ""))
		}
	}
	if errs := validation.IsDNS1035Label(n.Plural); len(n.Plural) > 0 && len(errs) > 0 {
		allErrs = append(allErrs, field.Invalid(np.Child("plural"), n.Plural, strings.Join(errs, ",")))
	}
	if errs := validation.IsDNS1035Label(n.Singular); len(n.Singular) > 0 && len(errs) > 0 {
		allErrs = append(allErrs, field.Invalid(np.Child("singular"), n.Singular, strings.Join(errs, ",")))
	}
	if errs := validation.IsDNS1035Label(strings.ToLower(n.Kind)); len(n.Kind) > 0 && len(errs) > 0 {
		allErrs = append(allErrs, field.Invalid(np.Child("kind"), n.Kind, "may have mixed case, but should otherwise match: "+strings.Join(errs, ",")))
	}
	if errs := validation.IsDNS1035Label(strings.ToLower(n.ListKind)); len(n.ListKind) > 0 && len(errs) > 0 {
		allErrs = append(allErrs, field.Invalid(np.Child("listKind"), n.ListKind, "may have mixed case, but should otherwise match: "+strings.Join(errs, ",")))
	}
	for i, s := range n.ShortNames {
		if errs := validation.IsDNS1035Label(s); len(errs) > 0 {
			allErrs = append(allErrs, field.Invalid(np.Child("shortNames").Index(i), s, strings.Join(errs, ",")))
		}
	}
	if len(n.Kind) > 0 && n.Kind == n.ListKind {
		allErrs = append(allErrs, field.Invalid(np.Child("listKind"), n.ListKind, "kind and listKind may not be the same"))
	}
	for i, c := range n.Categories {
		if errs := validation.IsDNS1035Label(c); len(errs) > 0 {
			allErrs = append(allErrs, field.Invalid(np.Child("categories").Index(i), c, strings.Join(errs, ",")))
		}
	}
	return allErrs
}

// validateCRDUpdate validates an update; scope and group are immutable.
func validateCRDUpdate(crd, old *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	allErrs := validateCRD(crd)
	fldPath := field.NewPath("spec")
	if !apiequality.Semantic.DeepEqual(crd.Spec.Scope, old.Spec.Scope) {
		allErrs = append(allErrs, immutable(crd.Spec.Scope, old.Spec.Scope, fldPath.Child("scope"))...)
	}
	return append(allErrs, immutable(crd.Spec.Group, old.Spec.Group, fldPath.Child("group"))...)
}
