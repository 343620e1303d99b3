package validation

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/api/validate"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// dra.go, draclaim.go and draslice.go follow upstream's
// pkg/apis/resource/validation/validation.go for
// resource.k8s.io/v1 (ResourceClaim, ResourceClaimTemplate, DeviceClass,
// ResourceSlice, DeviceTaintRule), with every feature gate at its v1.37
// default.
//
// Upstream runs declarative validation beside it: an error that the
// handwritten code marks as covered by declarative validation is dropped and
// the declarative one appended after all handwritten errors. Errors built
// here with covered() carry that mark, and declarativeLast moves them to the
// end, so that a 422 lists its causes in upstream's order.
//
// Not done: CEL selector expressions are checked for length only; upstream
// also compiles them with the DRA CEL environment and bounds their cost.

// Upstream's limits that k8s.io/api does not export.
const (
	attributeAndCapacityMaxKeyLength        = resourcev1.DeviceMaxDomainLength + 1 + resourcev1.DeviceMaxIDLength
	capacityRequestPolicyDiscreteMaxOptions = 10
)

// covered marks errors that upstream's declarative validation reports.
func covered(errs field.ErrorList) field.ErrorList {
	return errs.MarkCoveredByDeclarative()
}

// declarativeLast moves the errors marked covered to the end, keeping the
// order within both parts.
func declarativeLast(errs field.ErrorList) field.ErrorList {
	var own, decl field.ErrorList
	for _, e := range errs {
		if e.CoveredByDeclarative {
			decl = append(decl, e)
		} else {
			own = append(own, e)
		}
	}
	return append(own, decl...)
}

// driverName validates a DRA driver name, which follows the rules of a CSI
// driver name.
func driverName(name string, fldPath *field.Path) field.ErrorList {
	return csiDriverName(name, fldPath)
}

func poolName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var allErrs field.ErrorList
	if len(name) > resourcev1.PoolNameMaxLength {
		allErrs = append(allErrs, field.TooLong(fldPath, "", resourcev1.PoolNameMaxLength))
	}
	for _, part := range strings.Split(name, "/") {
		allErrs = append(allErrs, dnsSubdomain(part, fldPath)...)
	}
	return allErrs
}

func deviceName(name string, fldPath *field.Path) field.ErrorList  { return dnsLabel(name, fldPath) }
func requestName(name string, fldPath *field.Path) field.ErrorList { return dnsLabel(name, fldPath) }
func counterName(name string, fldPath *field.Path) field.ErrorList { return dnsLabel(name, fldPath) }

func uidValue(uid string, fldPath *field.Path) field.ErrorList {
	if err := uuid.Validate(uid); err != nil {
		return field.ErrorList{field.Invalid(fldPath, uid, fmt.Sprintf("error validating uid: %v", err))}
	}
	if len(uid) != 36 || uid != strings.ToLower(uid) {
		return field.ErrorList{field.Invalid(fldPath, uid, "uid must be in RFC 4122 normalized form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` with lowercase hexadecimal characters")}
	}
	return nil
}

// tooMany is the error of a list beyond its limit; the list's items are then
// not validated (upstream's protection against denial of service).
func tooMany(n, limit int, fldPath *field.Path) field.ErrorList {
	return field.ErrorList{field.TooMany(fldPath, n, limit)}
}

// uniqueKeys reports every item whose key appeared before it.
func uniqueKeys[K comparable](keys []K, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[K]()
	for i, k := range keys {
		if seen.Has(k) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), k))
		}
		seen.Insert(k)
	}
	return allErrs
}

// uniqueItems reports, as upstream's declarative list-map validation does,
// every item whose key appeared before it, with the whole item as the value.
func uniqueItems[T any, K comparable](items []T, key func(T) K, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[K]()
	for i, it := range items {
		k := key(it)
		if seen.Has(k) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), it))
		}
		seen.Insert(k)
	}
	return allErrs
}

// DeviceClass

func validateDeviceClass(c *resourcev1.DeviceClass) field.ErrorList {
	return declarativeLast(validateDeviceClassSpec(&c.Spec, field.NewPath("spec")))
}

func validateDeviceClassUpdate(c, _ *resourcev1.DeviceClass) field.ErrorList {
	// Unchanged selectors and configs count as stored upstream, which only
	// matters for the CEL checks this package does not make.
	return validateDeviceClass(c)
}

func validateDeviceClassSpec(spec *resourcev1.DeviceClassSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateSelectors(spec.Selectors, fldPath.Child("selectors"))
	cp := fldPath.Child("config")
	if len(spec.Config) > resourcev1.DeviceConfigMaxSize {
		allErrs = append(allErrs, covered(tooMany(len(spec.Config), resourcev1.DeviceConfigMaxSize, cp))...)
	} else {
		for i, c := range spec.Config {
			allErrs = append(allErrs, validateDeviceConfiguration(c.DeviceConfiguration, cp.Index(i))...)
		}
	}
	if n := spec.ExtendedResourceName; n != nil {
		// Upstream reports its declarative check, which words the errors itself.
		allErrs = append(allErrs, covered(validate.ExtendedResourceName(context.Background(), operation.Operation{}, fldPath.Child("extendedResourceName"), n, nil))...)
	}
	return allErrs
}

// DeviceTaintRule

func validateDeviceTaintRule(r *resourcev1.DeviceTaintRule) field.ErrorList {
	return declarativeLast(validateDeviceTaintRuleSpec(&r.Spec, nil, field.NewPath("spec")))
}

func validateDeviceTaintRuleUpdate(r, old *resourcev1.DeviceTaintRule) field.ErrorList {
	return declarativeLast(validateDeviceTaintRuleSpec(&r.Spec, &old.Spec, field.NewPath("spec")))
}

func validateDeviceTaintRuleStatus(r *resourcev1.DeviceTaintRule) field.ErrorList {
	cp := field.NewPath("status", "conditions")
	allErrs := metavalidation.ValidateConditions(r.Status.Conditions, cp)
	if len(r.Status.Conditions) > resourcev1.DeviceTaintRuleStatusMaxConditions {
		allErrs = append(allErrs, field.TooMany(cp, len(r.Status.Conditions), resourcev1.DeviceTaintRuleStatusMaxConditions))
	}
	return allErrs
}

func validateDeviceTaintRuleSpec(spec, old *resourcev1.DeviceTaintRuleSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if s := spec.DeviceSelector; s != nil {
		sp := fldPath.Child("deviceSelector")
		if s.Driver != nil {
			allErrs = append(allErrs, driverName(*s.Driver, sp.Child("driver"))...)
		}
		if s.Pool != nil {
			allErrs = append(allErrs, poolName(*s.Pool, sp.Child("pool"))...)
		}
		if s.Device != nil {
			allErrs = append(allErrs, deviceName(*s.Device, sp.Child("device"))...)
		}
	}
	var oldTaint *resourcev1.DeviceTaint
	if old != nil {
		oldTaint = &old.Taint
	}
	return append(allErrs, validateDeviceTaint(spec.Taint, oldTaint, fldPath.Child("taint"))...)
}

var deviceTaintEffects = sets.New(resourcev1.DeviceTaintEffectNoSchedule, resourcev1.DeviceTaintEffectNoExecute, resourcev1.DeviceTaintEffectNone)

func validateDeviceTaint(t resourcev1.DeviceTaint, old *resourcev1.DeviceTaint, fldPath *field.Path) field.ErrorList {
	allErrs := metavalidation.ValidateLabelName(t.Key, fldPath.Child("key"))
	if t.Value != "" {
		allErrs = append(allErrs, labelValue(t.Value, fldPath.Child("value"))...)
	}
	if old == nil || old.Effect != t.Effect {
		switch {
		case t.Effect == "":
			allErrs = append(allErrs, covered(field.ErrorList{field.Required(fldPath.Child("effect"), "")})...)
		case !deviceTaintEffects.Has(t.Effect):
			allErrs = append(allErrs, covered(field.ErrorList{field.NotSupported(fldPath.Child("effect"), t.Effect, sets.List(deviceTaintEffects))})...)
		}
	}
	return allErrs
}

var deviceTolerationOperators = []resourcev1.DeviceTolerationOperator{resourcev1.DeviceTolerationOpEqual, resourcev1.DeviceTolerationOpExists}

func validateDeviceToleration(t resourcev1.DeviceToleration, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if t.Key != "" {
		allErrs = append(allErrs, covered(metavalidation.ValidateLabelName(t.Key, fldPath.Child("key")))...)
	}
	switch t.Operator {
	case resourcev1.DeviceTolerationOpExists:
		if t.Value != "" {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("value"), t.Value, "must be empty for operator `Exists`"))
		}
	case resourcev1.DeviceTolerationOpEqual:
		allErrs = append(allErrs, labelValue(t.Value, fldPath.Child("value"))...)
	case "":
		allErrs = append(allErrs, covered(field.ErrorList{field.Required(fldPath.Child("operator"), "")})...)
	default:
		allErrs = append(allErrs, covered(field.ErrorList{field.NotSupported(fldPath.Child("operator"), t.Operator, deviceTolerationOperators)})...)
	}
	if t.Effect != "" && !deviceTaintEffects.Has(t.Effect) {
		allErrs = append(allErrs, covered(field.ErrorList{field.NotSupported(fldPath.Child("effect"), t.Effect, sets.List(deviceTaintEffects))})...)
	}
	return allErrs
}

func labelValue(v string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsValidLabelValue(v) {
		allErrs = append(allErrs, field.Invalid(fldPath, v, msg))
	}
	return allErrs
}
