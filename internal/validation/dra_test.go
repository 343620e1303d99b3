package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// exact is a valid exact request of one device of class gpu.example.com, as defaulted.
func exact(name string) resourcev1.DeviceRequest {
	return resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{
		DeviceClassName: "gpu.example.com", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1,
	}}
}

func claim(requests ...resourcev1.DeviceRequest) *resourcev1.ResourceClaim {
	return &resourcev1.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"},
		Spec:       resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: requests}},
	}
}

func slice(mutate func(*resourcev1.ResourceSliceSpec)) *resourcev1.ResourceSlice {
	s := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.example.com", NodeName: ptr("node-1"),
		Pool:    resourcev1.ResourcePool{Name: "node-1", ResourceSliceCount: 1},
		Devices: []resourcev1.Device{{Name: "gpu-0", Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{"model": {StringValue: ptr("a100")}}}},
	}}
	if mutate != nil {
		mutate(&s.Spec)
	}
	return s
}

const (
	dns1123SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
	oneOfRequestMsg     = "exactly one of `exactly` or `firstAvailable` is required"
	requestRefErr       = "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"
)

func TestValidateResourceKinds(t *testing.T) {
	cases := []struct {
		name string
		obj  runtime.Object
		want []want
	}{
		{"valid claim", claim(exact("gpu"), resourcev1.DeviceRequest{Name: "either", FirstAvailable: []resourcev1.DeviceSubRequest{
			{Name: "big", DeviceClassName: "big.example.com", AllocationMode: resourcev1.DeviceAllocationModeAll},
			{Name: "small", DeviceClassName: "small.example.com", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 2},
		}}), nil},
		{"request without a kind", claim(resourcev1.DeviceRequest{Name: "gpu"}), []want{
			required("spec.devices.requests[0]", "spec.devices.requests[0]: Required value: "+oneOfRequestMsg),
		}},
		{"request with both kinds", claim(resourcev1.DeviceRequest{Name: "gpu", Exactly: exact("x").Exactly,
			FirstAvailable: []resourcev1.DeviceSubRequest{{Name: "a", DeviceClassName: "a", AllocationMode: resourcev1.DeviceAllocationModeAll}}}), []want{
			invalid("spec.devices.requests[0]", "spec.devices.requests[0]: Invalid value: null: "+oneOfRequestMsg+", but multiple fields are set"),
		}},
		{"declarative errors come last", func() runtime.Object {
			bad := exact("Bad_Name")
			bad.Exactly.AllocationMode = "Some"
			negative := exact("negative")
			negative.Exactly.Count = -1
			negative.Exactly.Tolerations = []resourcev1.DeviceToleration{{Operator: "Sometimes"}}
			return claim(bad, negative)
		}(), []want{
			invalid("spec.devices.requests[0].name", `spec.devices.requests[0].name: Invalid value: "Bad_Name": `+dns1123LabelMsg),
			invalid("spec.devices.requests[1].exactly.count", "spec.devices.requests[1].exactly.count: Invalid value: -1: must be greater than zero"),
			unsupported("spec.devices.requests[0].exactly.allocationMode", `spec.devices.requests[0].exactly.allocationMode: Unsupported value: "Some": supported values: "All", "ExactCount"`),
			unsupported("spec.devices.requests[1].exactly.tolerations[0].operator", `spec.devices.requests[1].exactly.tolerations[0].operator: Unsupported value: "Sometimes": supported values: "Equal", "Exists"`),
		}},
		{"count with All", func() runtime.Object {
			r := exact("all")
			r.Exactly.AllocationMode, r.Exactly.Count = resourcev1.DeviceAllocationModeAll, 2
			return claim(r)
		}(), []want{
			invalid("spec.devices.requests[0].exactly.count", "spec.devices.requests[0].exactly.count: Invalid value: 2: must not be specified when allocationMode is 'All'"),
		}},
		{"duplicate request names show the request", func() runtime.Object {
			r := exact("gpu")
			r.Exactly.DeviceClassName = ""
			return claim(exact("gpu"), r)
		}(), []want{
			required("spec.devices.requests[1].exactly.deviceClassName", "spec.devices.requests[1].exactly.deviceClassName: Required value"),
			duplicate("spec.devices.requests[1]", `spec.devices.requests[1]: Duplicate value: {"name":"gpu","exactly":{"deviceClassName":"","allocationMode":"ExactCount","count":1}}`),
		}},
		{"constraint and config references", func() runtime.Object {
			c := claim(exact("gpu"))
			c.Spec.Devices.Constraints = []resourcev1.DeviceConstraint{{Requests: []string{"missing"}, MatchAttribute: ptr(resourcev1.FullyQualifiedName("numa"))}, {}}
			c.Spec.Devices.Config = []resourcev1.DeviceClaimConfiguration{
				{Requests: []string{"gpu", "gpu"}, DeviceConfiguration: resourcev1.DeviceConfiguration{Opaque: &resourcev1.OpaqueDeviceConfiguration{
					Driver: "gpu.example.com", Parameters: runtime.RawExtension{Raw: []byte(`[1]`)}}}},
				{},
			}
			return c
		}(), []want{
			invalid("spec.devices.constraints[0].requests[0]", `spec.devices.constraints[0].requests[0]: Invalid value: "missing": `+requestRefErr),
			required("spec.devices.constraints[1]", `spec.devices.constraints[1]: Required value: exactly one of "matchAttribute" or "distinctAttribute" is required, but multiple fields are set`),
			invalid("spec.devices.config[0].opaque.parameters", `spec.devices.config[0].opaque.parameters: Invalid value: "<value omitted>": must be a valid JSON object`),
			required("spec.devices.config[1].opaque", "spec.devices.config[1].opaque: Required value"),
			invalid("spec.devices.constraints[0].matchAttribute", `spec.devices.constraints[0].matchAttribute: Invalid value: "numa": a fully qualified name must be a domain and a name separated by a slash`),
			duplicate("spec.devices.config[0].requests[1]", `spec.devices.config[0].requests[1]: Duplicate value: "gpu"`),
		}},
		{"too many requests", claim(func() []resourcev1.DeviceRequest {
			rs := make([]resourcev1.DeviceRequest, 33)
			for i := range rs {
				rs[i] = exact("")
			}
			return rs
		}()...), []want{
			{typ: field.ErrorTypeTooMany, field: "spec.devices.requests", msg: "spec.devices.requests: Too many: 33: must have at most 32 items"},
		}},
		{"selector without CEL", claim(func() resourcev1.DeviceRequest {
			r := exact("gpu")
			r.Exactly.Selectors = []resourcev1.DeviceSelector{{}, {CEL: &resourcev1.CELDeviceSelector{Expression: strings.Repeat("x", 10*1024+1)}},
				{CEL: &resourcev1.CELDeviceSelector{}}}
			return r
		}()), []want{
			required("spec.devices.requests[0].exactly.selectors[0].cel", "spec.devices.requests[0].exactly.selectors[0].cel: Required value"),
			tooLong("spec.devices.requests[0].exactly.selectors[1].cel.expression", "spec.devices.requests[0].exactly.selectors[1].cel.expression: Too long: may not be more than 10240 bytes"),
			invalid("spec.devices.requests[0].exactly.selectors[2].cel.expression", `spec.devices.requests[0].exactly.selectors[2].cel.expression: Invalid value: "": `+emptyCELMsg),
		}},

		{"valid class", &resourcev1.DeviceClass{Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: ptr("example.com/gpu")}}, nil},
		{"class extended resource name", &resourcev1.DeviceClass{Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: ptr("cpu"),
			Selectors: []resourcev1.DeviceSelector{{}}}}, []want{
			required("spec.selectors[0].cel", "spec.selectors[0].cel: Required value"),
			invalid("spec.extendedResourceName", `spec.extendedResourceName: Invalid value: "cpu": a name must be a domain-prefixed path, such as 'example.com/my-prop'`),
		}},

		{"template metadata", &resourcev1.ResourceClaimTemplate{Spec: resourcev1.ResourceClaimTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: claim(exact("gpu")).Spec}}, []want{
			forbidden("spec.metadata.name", "spec.metadata.name: Forbidden: cannot be set"),
		}},

		{"valid slice", slice(nil), nil},
		{"slice placement, pool and devices", slice(func(s *resourcev1.ResourceSliceSpec) {
			s.Driver, s.NodeName, s.Pool = "Gpu_Example", nil, resourcev1.ResourcePool{}
			s.Devices = append(s.Devices,
				resourcev1.Device{Name: "gpu-1", Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
					"model": {}, "version": {VersionValue: ptr("1.2")}}},
				resourcev1.Device{Name: "gpu-0"})
		}), []want{
			invalid("spec.driver", `spec.driver: Invalid value: "Gpu_Example": `+dns1123SubdomainMsg),
			required("spec.pool.name", "spec.pool.name: Required value"),
			invalid("spec.pool.resourceSliceCount", "spec.pool.resourceSliceCount: Invalid value: 0: must be greater than zero"),
			required("spec", "spec: Required value: exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required"),
			invalid("spec.devices[1].attributes[version].version", `spec.devices[1].attributes[version].version: Invalid value: "1.2": must be a string compatible with semver.org spec 2.0.0`),
			duplicate("spec.devices[2]", `spec.devices[2]: Duplicate value: "gpu-0"`),
			invalid("spec.devices[1].attributes[model]", "spec.devices[1].attributes[model]: Invalid value: \"\": must specify one of: `int`, `bool`, `string`, `version`, `ints`, `bools`, `strings`, `versions`"),
		}},
		{"slice with two placements", slice(func(s *resourcev1.ResourceSliceSpec) { s.AllNodes = ptr(true) }), []want{
			invalid("spec", "spec: Invalid value: \"{`nodeName`, `allNodes`}\": exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required, but multiple fields are set"),
		}},
		{"device placement needs perDeviceNodeSelection", slice(func(s *resourcev1.ResourceSliceSpec) { s.Devices[0].AllNodes = ptr(true) }), []want{
			invalid("spec.devices[0]", "spec.devices[0]: Invalid value: null: `nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec"),
		}},
		{"counters and devices together", slice(func(s *resourcev1.ResourceSliceSpec) {
			s.SharedCounters = []resourcev1.CounterSet{{Name: "gpu-0-counters", Counters: map[string]resourcev1.Counter{"memory": {Value: resource.MustParse("80Gi")}}}}
		}), []want{
			invalid("spec", `spec: Invalid value: "": only one of `+"`sharedCounters` or `devices`"+` is allowed`),
		}},
		{"request policy without multiple allocations", slice(func(s *resourcev1.ResourceSliceSpec) {
			s.Devices[0].Capacity = map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{"memory": {Value: resource.MustParse("1Gi"), RequestPolicy: &resourcev1.CapacityRequestPolicy{}}}
		}), []want{
			forbidden("spec.devices[0].capacity[memory].requestPolicy", "spec.devices[0].capacity[memory].requestPolicy: Forbidden: allowMultipleAllocations must be true"),
		}},

		{"request policies", slice(func(s *resourcev1.ResourceSliceSpec) {
			q := resource.MustParse
			s.Devices[0].AllowMultipleAllocations = ptr(true)
			s.Devices[0].Capacity = map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{
				"bandwidth": {Value: q("10G"), RequestPolicy: &resourcev1.CapacityRequestPolicy{Default: ptr(q("3G")),
					ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: ptr(q("1G")), Max: ptr(q("12G")), Step: ptr(q("4G"))}}},
				"memory": {Value: q("8Gi"), RequestPolicy: &resourcev1.CapacityRequestPolicy{Default: ptr(q("3Gi")),
					ValidValues: []resource.Quantity{q("2Gi"), q("1Gi"), q("16Gi"), q("2Gi")}}},
				"slots": {Value: q("4"), RequestPolicy: &resourcev1.CapacityRequestPolicy{ValidValues: []resource.Quantity{q("1")},
					ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: ptr(q("1"))}}},
			}
		}), []want{
			invalid("spec.devices[0].capacity[bandwidth].requestPolicy.validRange.max", `spec.devices[0].capacity[bandwidth].requestPolicy.validRange.max: Invalid value: "12G": max is larger than capacity value: 10G`),
			invalid("spec.devices[0].capacity[bandwidth].requestPolicy.validRange.step", `spec.devices[0].capacity[bandwidth].requestPolicy.validRange.step: Invalid value: "3G": value is not a multiple of a given step (4G) from (1G)`),
			invalid("spec.devices[0].capacity[bandwidth].requestPolicy.validRange.step", `spec.devices[0].capacity[bandwidth].requestPolicy.validRange.step: Invalid value: "12G": value is not a multiple of a given step (4G) from (1G)`),
			invalid("spec.devices[0].capacity[memory].requestPolicy.validValues[1]", `spec.devices[0].capacity[memory].requestPolicy.validValues[1]: Invalid value: "1Gi": values must be sorted in ascending order`),
			invalid("spec.devices[0].capacity[memory].requestPolicy.validValues[3]", `spec.devices[0].capacity[memory].requestPolicy.validValues[3]: Invalid value: "2Gi": values must be sorted in ascending order`),
			invalid("spec.devices[0].capacity[memory].requestPolicy.validValues[2]", `spec.devices[0].capacity[memory].requestPolicy.validValues[2]: Invalid value: "16Gi": option is larger than capacity value: 8Gi`),
			duplicate("spec.devices[0].capacity[memory].requestPolicy.validValues[3]", `spec.devices[0].capacity[memory].requestPolicy.validValues[3]: Duplicate value: "2147483648"`),
			invalid("spec.devices[0].capacity[memory].requestPolicy.validValues", `spec.devices[0].capacity[memory].requestPolicy.validValues: Invalid value: "3Gi": default value is not valid according to the requestPolicy`),
			forbidden("spec.devices[0].capacity[slots].requestPolicy", `spec.devices[0].capacity[slots].requestPolicy: Forbidden: exactly one policy can be specified, cannot specify "validValues" and "validRange" at the same time`),
		}},
		{"valid taint rule", &resourcev1.DeviceTaintRule{Spec: resourcev1.DeviceTaintRuleSpec{
			Taint: resourcev1.DeviceTaint{Key: "example.com/drain", Effect: resourcev1.DeviceTaintEffectNoExecute}}}, nil},
		{"taint rule selector and effect", &resourcev1.DeviceTaintRule{Spec: resourcev1.DeviceTaintRuleSpec{
			DeviceSelector: &resourcev1.DeviceTaintSelector{Device: ptr("Bad.Device"), Pool: ptr("")},
			Taint:          resourcev1.DeviceTaint{Effect: "Evict"}}}, []want{
			required("spec.deviceSelector.pool", "spec.deviceSelector.pool: Required value"),
			invalid("spec.deviceSelector.device", `spec.deviceSelector.device: Invalid value: "Bad.Device": `+dns1123LabelMsg),
			invalid("spec.taint.key", `spec.taint.key: Invalid value: "": name part must be non-empty`),
			invalid("spec.taint.key", `spec.taint.key: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`),
			unsupported("spec.taint.effect", `spec.taint.effect: Unsupported value: "Evict": supported values: "NoExecute", "NoSchedule", "None"`),
		}},

		{"valid storage capacity", &storagev1.CSIStorageCapacity{StorageClassName: "local", Capacity: ptr(resource.MustParse("1Gi"))}, nil},
		{"storage capacity", &storagev1.CSIStorageCapacity{StorageClassName: "Local_Storage", Capacity: ptr(resource.MustParse("-1Gi")),
			NodeTopology: &metav1.LabelSelector{MatchLabels: map[string]string{"bad key": "v"}}}, []want{
			invalid("nodeTopology.matchLabels", `nodeTopology.matchLabels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`),
			invalid("storageClassName", `storageClassName: Invalid value: "Local_Storage": `+dns1123SubdomainMsg),
			invalid("capacity", `capacity: Invalid value: "-1Gi": must be greater than or equal to 0`),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want)
		})
	}
}

func TestValidateResourceUpdates(t *testing.T) {
	changedClaim := claim(exact("gpu"), exact("more"))
	changedSlice := slice(func(s *resourcev1.ResourceSliceSpec) { s.Driver, s.NodeName = "net.example.com", ptr("node-2") })
	changedCapacity := &storagev1.CSIStorageCapacity{StorageClassName: "other"}
	cases := []struct {
		name     string
		obj, old runtime.Object
		want     []want
	}{
		{"claim spec is immutable", changedClaim, claim(exact("gpu")), []want{
			invalid("spec", "spec: Invalid value: null: field is immutable"),
		}},
		{"template spec is immutable", &resourcev1.ResourceClaimTemplate{Spec: resourcev1.ResourceClaimTemplateSpec{Spec: changedClaim.Spec}},
			&resourcev1.ResourceClaimTemplate{}, []want{{typ: field.ErrorTypeInvalid, field: "spec", msg: "spec: Invalid value: ", prefix: true}}},
		{"slice driver and node are immutable", changedSlice, slice(nil), []want{
			invalid("spec.driver", `spec.driver: Invalid value: "net.example.com": field is immutable`),
			invalid("spec.nodeName", `spec.nodeName: Invalid value: "node-2": field is immutable`),
		}},
		{"slice devices may change", slice(func(s *resourcev1.ResourceSliceSpec) { s.Devices = nil }), slice(nil), nil},
		{"storage capacity class is immutable", changedCapacity, &storagev1.CSIStorageCapacity{StorageClassName: "local"}, []want{
			invalid("storageClassName", `storageClassName: Invalid value: "other": field is immutable`),
		}},
		{"an unchanged invalid taint effect is not checked again",
			&resourcev1.DeviceTaintRule{Spec: resourcev1.DeviceTaintRuleSpec{Taint: resourcev1.DeviceTaint{Key: "k", Effect: "Old"}}},
			&resourcev1.DeviceTaintRule{Spec: resourcev1.DeviceTaintRuleSpec{Taint: resourcev1.DeviceTaint{Key: "k", Effect: "Old"}}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.want)
		})
	}
}

func TestValidateResourceClaimStatus(t *testing.T) {
	allocated := func(mutate func(*resourcev1.ResourceClaimStatus)) *resourcev1.ResourceClaim {
		c := claim(exact("gpu"))
		c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{
			Results: []resourcev1.DeviceRequestAllocationResult{{Request: "gpu", Driver: "gpu.example.com", Pool: "node-1", Device: "gpu-0"}},
		}}
		if mutate != nil {
			mutate(&c.Status)
		}
		return c
	}
	pod := resourcev1.ResourceClaimConsumerReference{Resource: "pods", Name: "p", UID: "6d1e2a3c-0000-4000-8000-000000000001"}
	cases := []struct {
		name     string
		obj, old *resourcev1.ResourceClaim
		want     []want
	}{
		{"allocate and reserve", allocated(func(s *resourcev1.ResourceClaimStatus) {
			s.ReservedFor = []resourcev1.ResourceClaimConsumerReference{pod}
		}), claim(exact("gpu")), nil},
		{"reserve without allocation", func() *resourcev1.ResourceClaim {
			c := claim(exact("gpu"))
			c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{pod, {}}
			return c
		}(), claim(exact("gpu")), []want{
			required("status.reservedFor[1].resource", "status.reservedFor[1].resource: Required value"),
			required("status.reservedFor[1].name", "status.reservedFor[1].name: Required value"),
			required("status.reservedFor[1].uid", "status.reservedFor[1].uid: Required value"),
			forbidden("status.reservedFor", "status.reservedFor: Forbidden: may not be specified when `allocated` is not set"),
		}},
		{"allocation for an unknown request", func() *resourcev1.ResourceClaim {
			c := allocated(nil)
			c.Status.Allocation.Devices.Results[0].Request = "other"
			c.Status.Allocation.NodeSelector = &corev1.NodeSelector{}
			return c
		}(), claim(exact("gpu")), []want{
			invalid("status.allocation.devices.results[0].request", `status.allocation.devices.results[0].request: Invalid value: "other": `+requestRefErr),
			required("status.allocation.nodeSelector.nodeSelectorTerms", "status.allocation.nodeSelector.nodeSelectorTerms: Required value: must have at least one node selector term"),
		}},
		{"allocation is immutable", func() *resourcev1.ResourceClaim {
			c := allocated(nil)
			c.Status.Allocation.Devices.Results[0].Device = "gpu-1"
			return c
		}(), allocated(nil), []want{{typ: field.ErrorTypeInvalid, field: "status.allocation", msg: "status.allocation: Invalid value: ", prefix: true}}},
		{"device status for a device not allocated", allocated(func(s *resourcev1.ResourceClaimStatus) {
			s.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: "gpu.example.com", Pool: "node-1", Device: "gpu-9"}}
		}), allocated(nil), []want{
			invalid("status.devices[0]", `status.devices[0]: Invalid value: {"Driver":"gpu.example.com","Pool":"node-1","Device":"gpu-9","ShareID":""}: must be an allocated device in the claim`),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateStatusUpdate(tc.obj, tc.old), tc.want)
		})
	}
}
