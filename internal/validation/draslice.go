package validation

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

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
