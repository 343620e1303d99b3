package validation

import (
	"encoding/json"
	"fmt"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ResourceClaim

func validateResourceClaim(c *resourcev1.ResourceClaim) field.ErrorList {
	return declarativeLast(validateResourceClaimSpec(&c.Spec, field.NewPath("spec")))
}

func validateResourceClaimUpdate(c, old *resourcev1.ResourceClaim) field.ErrorList {
	// The spec is immutable; nothing else in it is checked again. Upstream reports its
	// declarative check, which shows no value.
	if !apiequality.Semantic.DeepEqual(c.Spec, old.Spec) {
		return field.ErrorList{field.Invalid(field.NewPath("spec"), nil, fieldImmutableMsg)}
	}
	return nil
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

// emptyCELMsg is upstream's CEL compiler's error for an empty expression.
const emptyCELMsg = "compilation failed: ERROR: <input>:1:0: Syntax error: mismatched input '<EOF>' expecting " +
	"{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"

// celExpression checks what can be checked of a CEL selector without the
// DRA CEL environment: that it is not empty and not too long.
func celExpression(expr string, fldPath *field.Path) field.ErrorList {
	if len(expr) > resourcev1.CELSelectorExpressionMaxLength {
		return field.ErrorList{field.TooLong(fldPath, "", resourcev1.CELSelectorExpressionMaxLength)}
	}
	if expr == "" {
		// What upstream's CEL compiler says of an empty expression.
		return field.ErrorList{field.Invalid(fldPath, expr, emptyCELMsg)}
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
