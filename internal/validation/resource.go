package validation

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/google/uuid"
	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file follows upstream's pkg/apis/resource/validation/validation.go for
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

// ResourceClaim

func validateResourceClaim(c *resourcev1.ResourceClaim) field.ErrorList {
	return declarativeLast(validateResourceClaimSpec(&c.Spec, field.NewPath("spec")))
}

func validateResourceClaimUpdate(c, old *resourcev1.ResourceClaim) field.ErrorList {
	// The spec is immutable; nothing else in it is checked again.
	return covered(immutable(c.Spec, old.Spec, field.NewPath("spec")))
}

func validateResourceClaimStatusUpdate(c, old *resourcev1.ResourceClaim) field.ErrorList {
	names := gatherRequestNames(&c.Spec.Devices)
	return declarativeLast(validateClaimStatus(&c.Status, &old.Status, c.DeletionTimestamp != nil, names, field.NewPath("status")))
}

func validateResourceClaimSpec(spec *resourcev1.ResourceClaimSpec, fldPath *field.Path) field.ErrorList {
	return validateDeviceClaim(&spec.Devices, fldPath.Child("devices"))
}

func validateDeviceClaim(dc *resourcev1.DeviceClaim, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := gatherRequestNames(dc)
	rp := fldPath.Child("requests")
	if len(dc.Requests) > resourcev1.DeviceRequestsMaxSize {
		allErrs = append(allErrs, covered(tooMany(len(dc.Requests), resourcev1.DeviceRequestsMaxSize, rp))...)
	} else {
		for i, r := range dc.Requests {
			allErrs = append(allErrs, validateDeviceRequest(r, rp.Index(i))...)
		}
		allErrs = append(allErrs, covered(uniqueItems(dc.Requests, func(r resourcev1.DeviceRequest) string { return r.Name }, rp))...)
	}
	cp := fldPath.Child("constraints")
	if len(dc.Constraints) > resourcev1.DeviceConstraintsMaxSize {
		allErrs = append(allErrs, covered(tooMany(len(dc.Constraints), resourcev1.DeviceConstraintsMaxSize, cp))...)
	} else {
		for i, c := range dc.Constraints {
			allErrs = append(allErrs, validateDeviceConstraint(c, cp.Index(i), names)...)
		}
	}
	fp := fldPath.Child("config")
	if len(dc.Config) > resourcev1.DeviceConfigMaxSize {
		allErrs = append(allErrs, covered(tooMany(len(dc.Config), resourcev1.DeviceConfigMaxSize, fp))...)
	} else {
		for i, c := range dc.Config {
			p := fp.Index(i)
			allErrs = append(allErrs, validateRequestRefs(c.Requests, p.Child("requests"), names)...)
			allErrs = append(allErrs, validateDeviceConfiguration(c.DeviceConfiguration, p)...)
		}
	}
	return allErrs
}

// requestNames maps each request name to the names of its subrequests (nil
// for a request without firstAvailable).
type requestNames map[string]sets.Set[string]

// has reports whether s names a request, or a request and one of its
// subrequests separated by a slash.
func (r requestNames) has(s string) bool {
	parts := strings.Split(s, "/")
	if len(parts) > 2 {
		return false
	}
	subs, ok := r[parts[0]]
	if !ok {
		return false
	}
	return len(parts) == 1 || subs.Has(parts[1])
}

func gatherRequestNames(dc *resourcev1.DeviceClaim) requestNames {
	names := requestNames{}
	for _, r := range dc.Requests {
		if len(r.FirstAvailable) == 0 {
			names[r.Name] = nil
			continue
		}
		subs := sets.New[string]()
		for _, s := range r.FirstAvailable {
			subs.Insert(s.Name)
		}
		names[r.Name] = subs
	}
	return names
}

func validateDeviceRequest(r resourcev1.DeviceRequest, fldPath *field.Path) field.ErrorList {
	allErrs := requestName(r.Name, fldPath.Child("name"))
	switch {
	case r.Exactly == nil && len(r.FirstAvailable) == 0:
		allErrs = append(allErrs, field.Required(fldPath, "exactly one of `exactly` or `firstAvailable` is required"))
	case r.Exactly != nil && len(r.FirstAvailable) > 0:
		allErrs = append(allErrs, field.Invalid(fldPath, nil, "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set"))
	case len(r.FirstAvailable) > 0:
		fp := fldPath.Child("firstAvailable")
		if len(r.FirstAvailable) > resourcev1.FirstAvailableDeviceRequestMaxSize {
			return append(allErrs, covered(tooMany(len(r.FirstAvailable), resourcev1.FirstAvailableDeviceRequestMaxSize, fp))...)
		}
		for i, s := range r.FirstAvailable {
			allErrs = append(allErrs, validateDeviceSubRequest(s, fp.Index(i))...)
		}
		allErrs = append(allErrs, covered(uniqueItems(r.FirstAvailable, func(s resourcev1.DeviceSubRequest) string { return s.Name }, fp))...)
	default:
		allErrs = append(allErrs, validateExactDeviceRequest(*r.Exactly, fldPath.Child("exactly"))...)
	}
	return allErrs
}

func validateDeviceSubRequest(s resourcev1.DeviceSubRequest, fldPath *field.Path) field.ErrorList {
	allErrs := requestName(s.Name, fldPath.Child("name"))
	allErrs = append(allErrs, covered(deviceClassRef(s.DeviceClassName, fldPath.Child("deviceClassName")))...)
	allErrs = append(allErrs, validateSelectors(s.Selectors, fldPath.Child("selectors"))...)
	allErrs = append(allErrs, validateAllocationMode(s.AllocationMode, s.Count, fldPath.Child("allocationMode"), fldPath.Child("count"))...)
	for i, t := range s.Tolerations {
		allErrs = append(allErrs, validateDeviceToleration(t, fldPath.Child("tolerations").Index(i))...)
	}
	return allErrs
}

func validateExactDeviceRequest(r resourcev1.ExactDeviceRequest, fldPath *field.Path) field.ErrorList {
	allErrs := deviceClassRef(r.DeviceClassName, fldPath.Child("deviceClassName"))
	allErrs = append(allErrs, validateSelectors(r.Selectors, fldPath.Child("selectors"))...)
	allErrs = append(allErrs, validateAllocationMode(r.AllocationMode, r.Count, fldPath.Child("allocationMode"), fldPath.Child("count"))...)
	for i, t := range r.Tolerations {
		allErrs = append(allErrs, validateDeviceToleration(t, fldPath.Child("tolerations").Index(i))...)
	}
	return allErrs
}

var allocationModes = []resourcev1.DeviceAllocationMode{resourcev1.DeviceAllocationModeAll, resourcev1.DeviceAllocationModeExactCount}

func validateAllocationMode(mode resourcev1.DeviceAllocationMode, count int64, modePath, countPath *field.Path) field.ErrorList {
	switch mode {
	case resourcev1.DeviceAllocationModeAll:
		if count != 0 {
			return field.ErrorList{field.Invalid(countPath, count, fmt.Sprintf("must not be specified when allocationMode is '%s'", mode))}
		}
	case resourcev1.DeviceAllocationModeExactCount:
		if count <= 0 {
			return field.ErrorList{field.Invalid(countPath, count, "must be greater than zero")}
		}
	default:
		return covered(field.ErrorList{field.NotSupported(modePath, mode, allocationModes)})
	}
	return nil
}

func deviceClassRef(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return dnsSubdomain(name, fldPath)
}

func validateSelectors(selectors []resourcev1.DeviceSelector, fldPath *field.Path) field.ErrorList {
	if len(selectors) > resourcev1.DeviceSelectorsMaxSize {
		return covered(tooMany(len(selectors), resourcev1.DeviceSelectorsMaxSize, fldPath))
	}
	var allErrs field.ErrorList
	for i, s := range selectors {
		p := fldPath.Index(i)
		if s.CEL == nil {
			allErrs = append(allErrs, field.Required(p.Child("cel"), ""))
			continue
		}
		allErrs = append(allErrs, celExpression(s.CEL.Expression, p.Child("cel", "expression"))...)
	}
	return allErrs
}

// celExpression checks what can be checked of a CEL selector without the
// DRA CEL environment: that it is there and not too long.
func celExpression(expr string, fldPath *field.Path) field.ErrorList {
	if len(expr) > resourcev1.CELSelectorExpressionMaxLength {
		return field.ErrorList{field.TooLong(fldPath, "", resourcev1.CELSelectorExpressionMaxLength)}
	}
	if strings.TrimSpace(expr) == "" {
		return field.ErrorList{field.Required(fldPath, "expression is required")}
	}
	return nil
}

func validateDeviceConstraint(c resourcev1.DeviceConstraint, fldPath *field.Path, names requestNames) field.ErrorList {
	allErrs := validateRequestRefs(c.Requests, fldPath.Child("requests"), names)
	switch {
	case c.MatchAttribute != nil:
		allErrs = append(allErrs, covered(fullyQualifiedName(*c.MatchAttribute, fldPath.Child("matchAttribute")))...)
	case c.DistinctAttribute != nil:
		allErrs = append(allErrs, covered(fullyQualifiedName(*c.DistinctAttribute, fldPath.Child("distinctAttribute")))...)
	default:
		// DRAConsumableCapacity is on.
		allErrs = append(allErrs, field.Required(fldPath, `exactly one of "matchAttribute" or "distinctAttribute" is required, but multiple fields are set`))
	}
	return allErrs
}

// validateRequestRefs validates a set of references to the claim's
// requests, as in constraints and configs.
func validateRequestRefs(refs []string, fldPath *field.Path, names requestNames) field.ErrorList {
	if len(refs) > resourcev1.DeviceRequestsMaxSize {
		return covered(tooMany(len(refs), resourcev1.DeviceRequestsMaxSize, fldPath))
	}
	var allErrs field.ErrorList
	for i, ref := range refs {
		allErrs = append(allErrs, requestRef(ref, fldPath.Index(i), names)...)
	}
	return append(allErrs, covered(uniqueKeys(refs, fldPath))...)
}

const requestRefMsg = "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"

func requestRef(ref string, fldPath *field.Path, names requestNames) field.ErrorList {
	parts := strings.Split(ref, "/")
	if len(parts) > 2 {
		return field.ErrorList{field.Invalid(fldPath, ref, requestRefMsg)}
	}
	var allErrs field.ErrorList
	for _, p := range parts {
		allErrs = append(allErrs, requestName(p, fldPath)...)
	}
	if !names.has(ref) {
		allErrs = append(allErrs, field.Invalid(fldPath, ref, requestRefMsg))
	}
	return allErrs
}

func validateDeviceConfiguration(c resourcev1.DeviceConfiguration, fldPath *field.Path) field.ErrorList {
	if c.Opaque == nil {
		return field.ErrorList{field.Required(fldPath.Child("opaque"), "")}
	}
	p := fldPath.Child("opaque")
	allErrs := covered(driverName(c.Opaque.Driver, p.Child("driver")))
	return append(allErrs, rawExtension(c.Opaque.Parameters, p.Child("parameters"), resourcev1.OpaqueParametersMaxLength)...)
}

// rawExtension checks that opaque data is a JSON object within limit bytes.
func rawExtension(raw runtime.RawExtension, fldPath *field.Path, limit int) field.ErrorList {
	var v any
	switch {
	case len(raw.Raw) == 0:
		return field.ErrorList{field.Required(fldPath, "")}
	case len(raw.Raw) > limit:
		return field.ErrorList{field.TooLong(fldPath, "", limit)}
	}
	if err := json.Unmarshal(raw.Raw, &v); err != nil {
		return field.ErrorList{field.Invalid(fldPath, "<value omitted>", fmt.Sprintf("error parsing data as JSON: %v", err.Error()))}
	}
	if v == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if _, ok := v.(map[string]any); !ok {
		return field.ErrorList{field.Invalid(fldPath, "<value omitted>", "must be a valid JSON object")}
	}
	return nil
}

// Status of a ResourceClaim

func validateClaimStatus(status, old *resourcev1.ResourceClaimStatus, deleted bool, names requestNames, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rp := fldPath.Child("reservedFor")
	if len(status.ReservedFor) > resourcev1.ResourceClaimReservedForMaxSize {
		allErrs = append(allErrs, covered(tooMany(len(status.ReservedFor), resourcev1.ResourceClaimReservedForMaxSize, rp))...)
	} else {
		for i, ref := range status.ReservedFor {
			p := rp.Index(i)
			if ref.Resource == "" {
				allErrs = append(allErrs, field.Required(p.Child("resource"), ""))
			}
			if ref.Name == "" {
				allErrs = append(allErrs, field.Required(p.Child("name"), ""))
			}
			if ref.UID == "" {
				allErrs = append(allErrs, field.Required(p.Child("uid"), ""))
			}
		}
		allErrs = append(allErrs, covered(uniqueItems(status.ReservedFor, func(r resourcev1.ResourceClaimConsumerReference) string { return string(r.UID) }, rp))...)
	}

	allocated := map[allocatedDeviceID]bool{}
	if status.Allocation != nil {
		for _, r := range status.Allocation.Devices.Results {
			allocated[allocatedDeviceID{r.Driver, r.Pool, r.Device, uidPtr(r.ShareID)}] = true
		}
	}
	dp := fldPath.Child("devices")
	for i, d := range status.Devices {
		allErrs = append(allErrs, validateDeviceStatus(d, dp.Index(i), allocated)...)
	}
	allErrs = append(allErrs, covered(uniqueItems(status.Devices, func(d resourcev1.AllocatedDeviceStatus) allocatedDeviceID {
		return allocatedDeviceID{d.Driver, d.Pool, d.Device, strPtr(d.ShareID)}
	}, dp))...)

	if len(status.ReservedFor) > 0 {
		if status.Allocation == nil {
			allErrs = append(allErrs, field.Forbidden(rp, "may not be specified when `allocated` is not set"))
		} else if deleted {
			oldSet := sets.New(old.ReservedFor...)
			for _, r := range status.ReservedFor {
				if !oldSet.Has(r) {
					allErrs = append(allErrs, field.Forbidden(rp, "new entries may not be added while `deallocationRequested` or `deletionTimestamp` are set"))
					break
				}
			}
		}
	}

	ap := fldPath.Child("allocation")
	if old.Allocation != nil && status.Allocation != nil {
		allErrs = append(allErrs, covered(immutable(status.Allocation, old.Allocation, ap))...)
	} else if status.Allocation != nil {
		allErrs = append(allErrs, validateAllocationResult(status.Allocation, ap, names)...)
	}
	return allErrs
}

// allocatedDeviceID identifies a device, and the share of it, in a claim's
// allocation. It renders in errors as upstream's SharedDeviceID does.
type allocatedDeviceID struct {
	Driver, Pool, Device, ShareID string
}

func strPtr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func uidPtr[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

func validateDeviceStatus(d resourcev1.AllocatedDeviceStatus, fldPath *field.Path, allocated map[allocatedDeviceID]bool) field.ErrorList {
	allErrs := driverName(d.Driver, fldPath.Child("driver"))
	allErrs = append(allErrs, poolName(d.Pool, fldPath.Child("pool"))...)
	allErrs = append(allErrs, deviceName(d.Device, fldPath.Child("device"))...)
	if d.ShareID != nil {
		allErrs = append(allErrs, covered(uidValue(*d.ShareID, fldPath.Child("shareID")))...)
	}
	id := allocatedDeviceID{d.Driver, d.Pool, d.Device, strPtr(d.ShareID)}
	if !allocated[id] {
		allErrs = append(allErrs, field.Invalid(fldPath, id, "must be an allocated device in the claim"))
	}
	if len(d.Conditions) > resourcev1.AllocatedDeviceStatusMaxConditions {
		allErrs = append(allErrs, field.TooMany(fldPath.Child("conditions"), len(d.Conditions), resourcev1.AllocatedDeviceStatusMaxConditions))
	}
	allErrs = append(allErrs, metavalidation.ValidateConditions(d.Conditions, fldPath.Child("conditions"))...)
	if d.Data != nil && len(d.Data.Raw) > 0 {
		allErrs = append(allErrs, rawExtension(*d.Data, fldPath.Child("data"), resourcev1.AllocatedDeviceStatusDataMaxLength)...)
	}
	if n := d.NetworkData; n != nil {
		np := fldPath.Child("networkData")
		if len(n.InterfaceName) > resourcev1.NetworkDeviceDataInterfaceNameMaxLength {
			allErrs = append(allErrs, covered(field.ErrorList{field.TooLong(np.Child("interfaceName"), "", resourcev1.NetworkDeviceDataInterfaceNameMaxLength)})...)
		}
		if len(n.HardwareAddress) > resourcev1.NetworkDeviceDataHardwareAddressMaxLength {
			allErrs = append(allErrs, covered(field.ErrorList{field.TooLong(np.Child("hardwareAddress"), "", resourcev1.NetworkDeviceDataHardwareAddressMaxLength)})...)
		}
		ip := np.Child("ips")
		if len(n.IPs) > resourcev1.NetworkDeviceDataMaxIPs {
			allErrs = append(allErrs, covered(tooMany(len(n.IPs), resourcev1.NetworkDeviceDataMaxIPs, ip))...)
		} else {
			for i, a := range n.IPs {
				allErrs = append(allErrs, validation.IsValidInterfaceAddress(ip.Index(i), a)...)
			}
			allErrs = append(allErrs, covered(uniqueKeys(n.IPs, ip))...)
		}
	}
	return allErrs
}

func validateAllocationResult(a *resourcev1.AllocationResult, fldPath *field.Path, names requestNames) field.ErrorList {
	var allErrs field.ErrorList
	dp := fldPath.Child("devices")
	rp := dp.Child("results")
	if len(a.Devices.Results) > resourcev1.AllocationResultsMaxSize {
		allErrs = append(allErrs, covered(tooMany(len(a.Devices.Results), resourcev1.AllocationResultsMaxSize, rp))...)
	} else {
		for i, r := range a.Devices.Results {
			allErrs = append(allErrs, validateRequestAllocationResult(r, rp.Index(i), names)...)
		}
	}
	cp := dp.Child("config")
	if limit := 2 * resourcev1.DeviceConfigMaxSize; len(a.Devices.Config) > limit {
		allErrs = append(allErrs, covered(tooMany(len(a.Devices.Config), limit, cp))...)
	} else {
		for i, c := range a.Devices.Config {
			p := cp.Index(i)
			allErrs = append(allErrs, allocationConfigSource(c.Source, p.Child("source"))...)
			allErrs = append(allErrs, validateRequestRefs(c.Requests, p.Child("requests"), names)...)
			allErrs = append(allErrs, validateDeviceConfiguration(c.DeviceConfiguration, p)...)
		}
	}
	if a.NodeSelector != nil {
		allErrs = append(allErrs, nodeSelector(a.NodeSelector, false, fldPath.Child("nodeSelector"))...)
	}
	return allErrs
}

var allocationConfigSources = []resourcev1.AllocationConfigSource{resourcev1.AllocationConfigSourceClaim, resourcev1.AllocationConfigSourceClass}

func allocationConfigSource(s resourcev1.AllocationConfigSource, fldPath *field.Path) field.ErrorList {
	switch s {
	case "":
		return covered(field.ErrorList{field.Required(fldPath, "")})
	case resourcev1.AllocationConfigSourceClaim, resourcev1.AllocationConfigSourceClass:
		return nil
	}
	return covered(field.ErrorList{field.NotSupported(fldPath, s, allocationConfigSources)})
}

func validateRequestAllocationResult(r resourcev1.DeviceRequestAllocationResult, fldPath *field.Path, names requestNames) field.ErrorList {
	allErrs := requestRef(r.Request, fldPath.Child("request"), names)
	allErrs = append(allErrs, covered(driverName(r.Driver, fldPath.Child("driver")))...)
	allErrs = append(allErrs, covered(poolName(r.Pool, fldPath.Child("pool")))...)
	allErrs = append(allErrs, deviceName(r.Device, fldPath.Child("device"))...)
	allErrs = append(allErrs, bindingConditions(r.BindingConditions, r.BindingFailureConditions, fldPath)...)
	for i, t := range r.Tolerations {
		allErrs = append(allErrs, validateDeviceToleration(t, fldPath.Child("tolerations").Index(i))...)
	}
	if r.ShareID != nil {
		allErrs = append(allErrs, covered(uidValue(string(*r.ShareID), fldPath.Child("shareID")))...)
	}
	return allErrs
}

// bindingConditions follows validateDeviceBindingParameters.
func bindingConditions(conds, failures []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	cp, fp := fldPath.Child("bindingConditions"), fldPath.Child("bindingFailureConditions")
	labelNames := func(list []string, limit int, p *field.Path) {
		if len(list) > limit {
			allErrs = append(allErrs, covered(tooMany(len(list), limit, p))...)
			return
		}
		for i, c := range list {
			allErrs = append(allErrs, metavalidation.ValidateLabelName(c, p.Index(i))...)
		}
	}
	labelNames(conds, resourcev1.BindingConditionsMaxSize, cp)
	labelNames(failures, resourcev1.BindingFailureConditionsMaxSize, fp)
	allErrs = append(allErrs, uniqueKeys(conds, cp)...)
	condSet := sets.New(conds...)
	seen := sets.New[string]()
	for i, c := range failures {
		if seen.Has(c) {
			allErrs = append(allErrs, field.Duplicate(fp.Index(i), c))
		}
		seen.Insert(c)
		if condSet.Has(c) {
			allErrs = append(allErrs, field.Invalid(fp.Index(i), c, "bindingFailureConditions must not overlap with bindingConditions"))
		}
	}
	if len(conds) == 0 && len(failures) > 0 {
		allErrs = append(allErrs, field.Invalid(cp, conds, "bindingConditions are required to use bindingFailureConditions"))
	}
	if len(failures) == 0 && len(conds) > 0 {
		allErrs = append(allErrs, field.Invalid(fp, failures, "bindingFailureConditions are required to use bindingConditions"))
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

// ResourceClaimTemplate

func validateResourceClaimTemplate(t *resourcev1.ResourceClaimTemplate) field.ErrorList {
	fldPath := field.NewPath("spec")
	allErrs := templateObjectMeta(&t.Spec.ObjectMeta, fldPath.Child("metadata"))
	allErrs = append(allErrs, validateResourceClaimSpec(&t.Spec.Spec, fldPath.Child("spec"))...)
	return declarativeLast(allErrs)
}

func validateResourceClaimTemplateUpdate(t, old *resourcev1.ResourceClaimTemplate) field.ErrorList {
	return immutable(t.Spec, old.Spec, field.NewPath("spec"))
}

// ResourceSlice

func validateResourceSlice(s *resourcev1.ResourceSlice) field.ErrorList {
	return declarativeLast(validateResourceSliceSpec(&s.Spec, nil, field.NewPath("spec")))
}

func validateResourceSliceUpdate(s, old *resourcev1.ResourceSlice) field.ErrorList {
	return declarativeLast(validateResourceSliceSpec(&s.Spec, &old.Spec, field.NewPath("spec")))
}

func validateResourceSliceSpec(spec, old *resourcev1.ResourceSliceSpec, fldPath *field.Path) field.ErrorList {
	allErrs := driverName(spec.Driver, fldPath.Child("driver"))
	pp := fldPath.Child("pool")
	allErrs = append(allErrs, poolName(spec.Pool.Name, pp.Child("name"))...)
	if spec.Pool.ResourceSliceCount <= 0 {
		allErrs = append(allErrs, field.Invalid(pp.Child("resourceSliceCount"), spec.Pool.ResourceSliceCount, "must be greater than zero"))
	}
	if spec.Pool.Generation < 0 {
		allErrs = append(allErrs, field.Invalid(pp.Child("generation"), spec.Pool.Generation, "must be greater than or equal to zero"))
	}
	if old != nil {
		allErrs = append(allErrs, immutable(spec.Pool.Name, old.Pool.Name, pp.Child("name"))...)
		allErrs = append(allErrs, immutable(spec.Driver, old.Driver, fldPath.Child("driver"))...)
		allErrs = append(allErrs, immutable(spec.NodeName, old.NodeName, fldPath.Child("nodeName"))...)
	}

	var set []string
	if spec.NodeName != nil {
		if *spec.NodeName != "" {
			set = append(set, "`nodeName`")
			allErrs = append(allErrs, nameErrs(nodeNameValidation, *spec.NodeName, fldPath.Child("nodeName"))...)
		} else {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("nodeName"), *spec.NodeName, "must be either unset or set to a non-empty string"))
		}
	}
	if spec.NodeSelector != nil {
		set = append(set, "`nodeSelector`")
		allErrs = append(allErrs, nodeSelector(spec.NodeSelector, false, fldPath.Child("nodeSelector"))...)
		if len(spec.NodeSelector.NodeSelectorTerms) != 1 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("nodeSelector", "nodeSelectorTerms"), spec.NodeSelector.NodeSelectorTerms, "must have exactly one node selector term"))
		}
	}
	if spec.AllNodes != nil {
		if *spec.AllNodes {
			set = append(set, "`allNodes`")
		} else {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("allNodes"), *spec.AllNodes, "must be either unset or set to true"))
		}
	}
	if spec.PerDeviceNodeSelection != nil {
		if *spec.PerDeviceNodeSelection {
			set = append(set, "`perDeviceNodeSelection`")
		} else {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("perDeviceNodeSelection"), *spec.PerDeviceNodeSelection, "must be either unset or set to true"))
		}
	}
	const oneOf = "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required"
	switch len(set) {
	case 0:
		allErrs = append(allErrs, field.Required(fldPath, oneOf))
	case 1:
	default:
		allErrs = append(allErrs, field.Invalid(fldPath, fmt.Sprintf("{%s}", strings.Join(set, ", ")), oneOf+", but multiple fields are set"))
	}
	if spec.SharedCounters != nil && spec.Devices != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, "", "only one of `sharedCounters` or `devices` is allowed"))
	}

	maxDevices := resourcev1.ResourceSliceMaxDevices
	if sliceHasAdvancedDevices(spec) {
		maxDevices = resourcev1.ResourceSliceMaxDevicesWithAdvancedFeatures
	}
	dp := fldPath.Child("devices")
	if len(spec.Devices) > maxDevices {
		allErrs = append(allErrs, tooMany(len(spec.Devices), maxDevices, dp)...)
	} else {
		names := make([]string, len(spec.Devices))
		for i, d := range spec.Devices {
			allErrs = append(allErrs, validateDevice(d, lookupDevice(old, d.Name), dp.Index(i), spec.PerDeviceNodeSelection)...)
			names[i] = d.Name
		}
		allErrs = append(allErrs, uniqueKeys(names, dp)...)
	}

	cp := fldPath.Child("sharedCounters")
	if len(spec.SharedCounters) > resourcev1.ResourceSliceMaxCounterSets {
		allErrs = append(allErrs, covered(tooMany(len(spec.SharedCounters), resourcev1.ResourceSliceMaxCounterSets, cp))...)
	} else {
		for i, cs := range spec.SharedCounters {
			allErrs = append(allErrs, validateCounterSet(cs, cp.Index(i))...)
		}
		allErrs = append(allErrs, covered(uniqueItems(spec.SharedCounters, func(c resourcev1.CounterSet) string { return c.Name }, cp))...)
	}
	return allErrs
}

// nodeNameValidation is ValidateNodeName: a DNS subdomain.
var nodeNameValidation = func(name string, prefix bool) []string { return validation.IsDNS1123Subdomain(name) }

func sliceHasAdvancedDevices(spec *resourcev1.ResourceSliceSpec) bool {
	for _, d := range spec.Devices {
		if len(d.Taints) > 0 || len(d.ConsumesCounters) > 0 {
			return true
		}
		for _, a := range d.Attributes {
			if a.BoolValues != nil || a.IntValues != nil || a.StringValues != nil || a.VersionValues != nil {
				return true
			}
		}
	}
	return false
}

func lookupDevice(spec *resourcev1.ResourceSliceSpec, name string) *resourcev1.Device {
	if spec == nil {
		return nil
	}
	for i := range spec.Devices {
		if spec.Devices[i].Name == name {
			return &spec.Devices[i]
		}
	}
	return nil
}

func validateCounterSet(cs resourcev1.CounterSet, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if cs.Name == "" {
		allErrs = append(allErrs, covered(field.ErrorList{field.Required(fldPath.Child("name"), "")})...)
	} else {
		allErrs = append(allErrs, covered(counterName(cs.Name, fldPath.Child("name")))...)
	}
	cp := fldPath.Child("counters")
	switch {
	case len(cs.Counters) == 0:
		allErrs = append(allErrs, covered(field.ErrorList{field.Required(cp, "")})...)
	case len(cs.Counters) > resourcev1.ResourceSliceMaxCountersPerCounterSet:
		allErrs = append(allErrs, tooMany(len(cs.Counters), resourcev1.ResourceSliceMaxCountersPerCounterSet, cp)...)
	default:
		for _, k := range sortedMapKeys(cs.Counters) {
			allErrs = append(allErrs, covered(counterName(k, cp))...)
		}
	}
	return allErrs
}

func validateDevice(d resourcev1.Device, old *resourcev1.Device, fldPath *field.Path, perDeviceNodeSelection *bool) field.ErrorList {
	allErrs := deviceName(d.Name, fldPath.Child("name"))
	if n := len(d.Attributes) + len(d.Capacity); n > resourcev1.ResourceSliceMaxAttributesAndCapacitiesPerDevice {
		allErrs = append(allErrs, field.Invalid(fldPath, n, fmt.Sprintf("the total number of attributes and capacities must not exceed %d", resourcev1.ResourceSliceMaxAttributesAndCapacitiesPerDevice)))
	}
	if n := attributeValueCount(d); n > resourcev1.ResourceSliceMaxAttributeValuesPerDevice {
		allErrs = append(allErrs, field.Invalid(fldPath, n, fmt.Sprintf("the total number of attribute values must not exceed %d", resourcev1.ResourceSliceMaxAttributeValuesPerDevice)))
	}
	ap := fldPath.Child("attributes")
	for _, k := range sortedMapKeys(d.Attributes) {
		allErrs = append(allErrs, qualifiedAttributeName(k, ap)...)
		allErrs = append(allErrs, validateDeviceAttribute(d.Attributes[k], ap.Key(truncateKey(string(k), attributeAndCapacityMaxKeyLength)))...)
	}
	if old == nil || !apiequality.Semantic.DeepEqual(old.Capacity, d.Capacity) {
		multi := d.AllowMultipleAllocations != nil && *d.AllowMultipleAllocations
		cp := fldPath.Child("capacity")
		for _, k := range sortedMapKeys(d.Capacity) {
			allErrs = append(allErrs, qualifiedAttributeName(k, cp)...)
			c := d.Capacity[k]
			if c.RequestPolicy == nil {
				continue
			}
			pp := cp.Key(truncateKey(string(k), attributeAndCapacityMaxKeyLength)).Child("requestPolicy")
			if !multi {
				allErrs = append(allErrs, field.Forbidden(pp, "allowMultipleAllocations must be true"))
				continue
			}
			allErrs = append(allErrs, requestPolicy(c.Value, c.RequestPolicy, pp)...)
		}
	}
	if old == nil || !apiequality.Semantic.DeepEqual(old.Taints, d.Taints) {
		tp := fldPath.Child("taints")
		if len(d.Taints) > resourcev1.DeviceTaintsMaxLength {
			allErrs = append(allErrs, tooMany(len(d.Taints), resourcev1.DeviceTaintsMaxLength, tp)...)
		} else {
			for i, t := range d.Taints {
				allErrs = append(allErrs, validateDeviceTaint(t, nil, tp.Index(i))...)
			}
		}
	}
	cc := fldPath.Child("consumesCounters")
	if len(d.ConsumesCounters) > resourcev1.ResourceSliceMaxDeviceCounterConsumptionsPerDevice {
		allErrs = append(allErrs, covered(tooMany(len(d.ConsumesCounters), resourcev1.ResourceSliceMaxDeviceCounterConsumptionsPerDevice, cc))...)
	} else {
		for i, c := range d.ConsumesCounters {
			allErrs = append(allErrs, validateCounterConsumption(c, cc.Index(i))...)
		}
		allErrs = append(allErrs, covered(uniqueItems(d.ConsumesCounters, func(c resourcev1.DeviceCounterConsumption) string { return c.CounterSet }, cc))...)
	}
	allErrs = append(allErrs, devicePlacement(d, fldPath, perDeviceNodeSelection != nil && *perDeviceNodeSelection)...)
	return append(allErrs, bindingConditions(d.BindingConditions, d.BindingFailureConditions, fldPath)...)
}

// devicePlacement checks a device's own nodeName, nodeSelector or allNodes,
// which need perDeviceNodeSelection in the slice.
func devicePlacement(d resourcev1.Device, fldPath *field.Path, perDevice bool) field.ErrorList {
	if !perDevice {
		if d.NodeName != nil || d.NodeSelector != nil || d.AllNodes != nil {
			return field.ErrorList{field.Invalid(fldPath, nil, "`nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec")}
		}
		return nil
	}
	var allErrs field.ErrorList
	var set []string
	if d.NodeName != nil {
		if *d.NodeName != "" {
			set = append(set, "`nodeName`")
			allErrs = append(allErrs, nameErrs(nodeNameValidation, *d.NodeName, fldPath.Child("nodeName"))...)
		} else {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("nodeName"), *d.NodeName, "must not be empty"))
		}
	}
	if d.NodeSelector != nil {
		set = append(set, "`nodeSelector`")
		allErrs = append(allErrs, nodeSelector(d.NodeSelector, false, fldPath.Child("nodeSelector"))...)
	}
	if d.AllNodes != nil {
		if *d.AllNodes {
			set = append(set, "`allNodes`")
		} else {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("allNodes"), *d.AllNodes, "must be either unset or set to true"))
		}
	}
	const oneOf = "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when `perDeviceNodeSelection` is set to true in the ResourceSlice spec"
	switch len(set) {
	case 0:
		allErrs = append(allErrs, field.Required(fldPath, oneOf))
	case 1:
	default:
		allErrs = append(allErrs, field.Invalid(fldPath, fmt.Sprintf("{%s}", strings.Join(set, ", ")), oneOf))
	}
	return allErrs
}

// requestPolicy follows validateRequestPolicy for consumable capacity (DRAConsumableCapacity
// and DRAFractionalCapacityRange are on): one kind of policy, with a default that it allows.
func requestPolicy(capacity resource.Quantity, p *resourcev1.CapacityRequestPolicy, fldPath *field.Path) field.ErrorList {
	switch {
	case len(p.ValidValues) > 0 && p.ValidRange != nil:
		return field.ErrorList{field.Forbidden(fldPath, `exactly one policy can be specified, cannot specify "validValues" and "validRange" at the same time`)}
	case len(p.ValidValues) > 0:
		if p.Default == nil {
			return field.ErrorList{field.Required(fldPath.Child("default"), "required when validValues is defined")}
		}
		return validValues(*p.Default, capacity, p.ValidValues, fldPath.Child("validValues"))
	case p.ValidRange != nil:
		if p.Default == nil {
			return field.ErrorList{field.Required(fldPath.Child("default"), "required when validRange is defined")}
		}
		return validRange(*p.Default, capacity, *p.ValidRange, fldPath.Child("validRange"))
	}
	return nil
}

func validValues(def, capacity resource.Quantity, values []resource.Quantity, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i := 0; i+1 < len(values); i++ {
		if values[i].Cmp(values[i+1]) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i+1), values[i+1].String(), "values must be sorted in ascending order"))
		}
	}
	found := false
	if len(values) > capacityRequestPolicyDiscreteMaxOptions {
		allErrs = append(allErrs, tooMany(len(values), capacityRequestPolicyDiscreteMaxOptions, fldPath)...)
	} else {
		keys := make([]string, len(values))
		for i, v := range values {
			if v.Cmp(capacity) > 0 {
				allErrs = append(allErrs, field.Invalid(fldPath.Index(i), v.String(), fmt.Sprintf("option is larger than capacity value: %s", capacity.String())))
			}
			if v.Cmp(def) == 0 {
				found = true
			}
			keys[i] = v.AsDec().String()
		}
		allErrs = append(allErrs, uniqueKeys(keys, fldPath)...)
	}
	if !found {
		allErrs = append(allErrs, field.Invalid(fldPath, def.String(), "default value is not valid according to the requestPolicy"))
	}
	return allErrs
}

func validRange(def, capacity resource.Quantity, r resourcev1.CapacityRequestPolicyRange, fldPath *field.Path) field.ErrorList {
	if r.Min == nil {
		return field.ErrorList{field.Required(fldPath.Child("min"), "required when validRange is defined")}
	}
	var allErrs field.ErrorList
	if r.Min.Cmp(capacity) > 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("min"), r.Min.String(), fmt.Sprintf("min is larger than capacity value: %s", capacity.String())))
	}
	if def.Cmp(*r.Min) < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("default"), def.String(), fmt.Sprintf("default is less than min: %s", r.Min.String())))
	}
	if r.Max != nil {
		if r.Min.Cmp(*r.Max) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("max"), r.Min.String(), fmt.Sprintf("min is larger than max: %s", r.Max.String())))
		}
		if r.Max.Cmp(capacity) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("max"), r.Max.String(), fmt.Sprintf("max is larger than capacity value: %s", capacity.String())))
		}
		if def.Cmp(*r.Max) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("default"), def.String(), fmt.Sprintf("default is more than max: %s", r.Max.String())))
		}
	}
	if r.Step == nil {
		return allErrs
	}
	sp := fldPath.Child("step")
	if r.Step.Sign() <= 0 {
		return append(allErrs, field.Invalid(sp, r.Step.String(), "must be greater than zero"))
	}
	oneStep := r.Min.DeepCopy()
	oneStep.Add(*r.Step)
	if oneStep.Cmp(capacity) > 0 {
		allErrs = append(allErrs, field.Invalid(sp, r.Step.String(), fmt.Sprintf("one step %s is larger than capacity value: %s", oneStep.String(), capacity.String())))
	}
	// Steps are counted in thousandths, which also covers fractional ranges.
	multiple := func(v resource.Quantity) field.ErrorList {
		if (v.MilliValue()-r.Min.MilliValue())%r.Step.MilliValue() != 0 {
			return field.ErrorList{field.Invalid(sp, v.String(), fmt.Sprintf("value is not a multiple of a given step (%s) from (%s)", r.Step.String(), r.Min.String()))}
		}
		return nil
	}
	allErrs = append(allErrs, multiple(def)...)
	if r.Max != nil {
		allErrs = append(allErrs, multiple(*r.Max)...)
	}
	return allErrs
}

func attributeValueCount(d resourcev1.Device) int {
	n := 0
	for _, a := range d.Attributes {
		if l := len(a.BoolValues) + len(a.IntValues) + len(a.StringValues) + len(a.VersionValues); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

func validateCounterConsumption(c resourcev1.DeviceCounterConsumption, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if c.CounterSet == "" {
		allErrs = append(allErrs, covered(field.ErrorList{field.Required(fldPath.Child("counterSet"), "")})...)
	} else {
		allErrs = append(allErrs, covered(counterName(c.CounterSet, fldPath.Child("counterSet")))...)
	}
	cp := fldPath.Child("counters")
	switch {
	case len(c.Counters) == 0:
		allErrs = append(allErrs, covered(field.ErrorList{field.Required(cp, "")})...)
	case len(c.Counters) > resourcev1.ResourceSliceMaxCountersPerDeviceCounterConsumption:
		allErrs = append(allErrs, tooMany(len(c.Counters), resourcev1.ResourceSliceMaxCountersPerDeviceCounterConsumption, cp)...)
	default:
		for _, k := range sortedMapKeys(c.Counters) {
			allErrs = append(allErrs, covered(counterName(k, cp))...)
		}
	}
	return allErrs
}

// semver is upstream's pattern for version attributes (semver.org 2.0.0).
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?` +
	`(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`)

// attributeUnion is the declarative union of a device attribute's values.
var attributeUnion = validate.NewUnionMembership(validate.NewUnionMember("int"), validate.NewUnionMember("bool"),
	validate.NewUnionMember("string"), validate.NewUnionMember("version"), validate.NewUnionMember("ints"),
	validate.NewUnionMember("bools"), validate.NewUnionMember("strings"), validate.NewUnionMember("versions"))

func validateDeviceAttribute(a resourcev1.DeviceAttribute, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if a.StringValue != nil {
		allErrs = append(allErrs, attributeString(*a.StringValue, fldPath.Child("string"))...)
	}
	if a.VersionValue != nil {
		allErrs = append(allErrs, attributeVersion(*a.VersionValue, fldPath.Child("version"))...)
	}
	// List values belong to DRAListTypeAttributes (off): the strategy drops
	// them before validation. Exactly one value is upstream's declarative
	// union check, which words the error itself.
	return append(allErrs, covered(validate.Union(context.Background(), operation.Operation{}, fldPath, &a, nil, attributeUnion,
		func(a *resourcev1.DeviceAttribute) bool { return a.IntValue != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.BoolValue != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.StringValue != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.VersionValue != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.IntValues != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.BoolValues != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.StringValues != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.VersionValues != nil },
	))...)
}

func attributeString(v string, fldPath *field.Path) field.ErrorList {
	if len(v) > resourcev1.DeviceAttributeMaxValueLength {
		return field.ErrorList{field.TooLong(fldPath, "", resourcev1.DeviceAttributeMaxValueLength)}
	}
	return nil
}

func attributeVersion(v string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if !semver.MatchString(v) {
		allErrs = append(allErrs, field.Invalid(fldPath, v, "must be a string compatible with semver.org spec 2.0.0"))
	}
	return append(allErrs, attributeString(v, fldPath)...)
}

// qualifiedAttributeName follows validateQualifiedName: a C identifier,
// optionally prefixed with a domain (a driver name) and a slash.
func qualifiedAttributeName(name resourcev1.QualifiedName, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	parts := strings.Split(string(name), "/")
	switch len(parts) {
	case 1:
		allErrs = append(allErrs, cIdentifier(parts[0], fldPath)...)
	case 2:
		if parts[0] == "" {
			allErrs = append(allErrs, field.Invalid(fldPath, "", "the domain must not be empty"))
		} else {
			allErrs = append(allErrs, driverName(parts[0], fldPath)...)
		}
		if parts[1] == "" {
			allErrs = append(allErrs, field.Invalid(fldPath, "", "the name must not be empty"))
		} else {
			allErrs = append(allErrs, cIdentifier(parts[1], fldPath)...)
		}
	}
	return allErrs
}

func fullyQualifiedName(name resourcev1.FullyQualifiedName, fldPath *field.Path) field.ErrorList {
	allErrs := qualifiedAttributeName(resourcev1.QualifiedName(name), fldPath)
	if !strings.Contains(string(name), "/") {
		allErrs = append(allErrs, field.Invalid(fldPath, name, "a fully qualified name must be a domain and a name separated by a slash"))
	}
	return allErrs
}

func cIdentifier(id string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(id) > resourcev1.DeviceMaxIDLength {
		allErrs = append(allErrs, field.TooLong(fldPath, "", resourcev1.DeviceMaxIDLength))
	}
	for _, msg := range content.IsCIdentifier(id) {
		allErrs = append(allErrs, field.Invalid(fldPath, id, msg))
	}
	return allErrs
}

// truncateKey shortens a map key in a field path in the middle, as upstream
// does for keys longer than max.
func truncateKey(s string, max int) string {
	if max < 16 {
		max = 16
	}
	if len(s) <= max {
		return s
	}
	rest := max - 3
	return s[:(rest+1)/2] + "..." + s[len(s)-rest/2:]
}

func sortedMapKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
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
