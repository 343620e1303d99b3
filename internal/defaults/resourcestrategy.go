package defaults

import (
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file holds the registry strategies of resource.k8s.io/v1 (upstream's
// pkg/registry/resource/*/strategy.go and pkg/api/resourceclaimspec). With every feature gate
// at its v1.37 default, the fields they drop are those of the alpha gates that are off:
// DRADerivedAttributes (a request's derivedAttributes), DRAOptionalNodeOperations
// (skipNodeOperations of slices and allocation results), DRADeviceCompatibilityGroups,
// DRANodeAllocatableResources, DRAListTypeAttributes and DRAPartitionableDevicesType. As
// upstream, a field already in use in the stored object is kept.

// PrepareForCreateResourceClaim follows the ResourceClaim strategy: no status on create, and
// the fields of disabled gates dropped.
func PrepareForCreateResourceClaim(c *resourcev1.ResourceClaim) {
	c.Status = resourcev1.ResourceClaimStatus{}
	dropDisabledClaimSpecFields(&c.Spec, nil)
}

// PrepareForUpdateResourceClaim drops the fields of disabled gates not in use in old.
func PrepareForUpdateResourceClaim(c, old *resourcev1.ResourceClaim) {
	dropDisabledClaimSpecFields(&c.Spec, &old.Spec)
}

// PrepareForStatusUpdateResourceClaim follows the ResourceClaim status strategy: the fields of
// disabled gates are dropped from the allocation, and status.devices loses the entries of
// devices the claim no longer has allocated (stale entries after deallocation).
func PrepareForStatusUpdateResourceClaim(c, old *resourcev1.ResourceClaim) {
	if !skipNodeOperationsInUse(old) && c.Status.Allocation != nil {
		for i := range c.Status.Allocation.Devices.Results {
			c.Status.Allocation.Devices.Results[i].SkipNodeOperations = nil
		}
	}
	dropDeallocatedStatusDevices(c, old)
}

func skipNodeOperationsInUse(c *resourcev1.ResourceClaim) bool {
	if c.Status.Allocation == nil {
		return false
	}
	for _, r := range c.Status.Allocation.Devices.Results {
		if len(r.SkipNodeOperations) > 0 {
			return true
		}
	}
	return false
}

// allocatedDevice identifies an allocated device, shared or not, as upstream's
// structured.SharedDeviceID does.
type allocatedDevice struct {
	driver, pool, device, shareID string
}

func dropDeallocatedStatusDevices(c, old *resourcev1.ResourceClaim) {
	gone := map[allocatedDevice]bool{}
	if old.Status.Allocation != nil {
		for _, r := range old.Status.Allocation.Devices.Results {
			gone[allocatedDevice{r.Driver, r.Pool, r.Device, uidString(r.ShareID)}] = true
		}
	}
	if c.Status.Allocation != nil {
		for _, r := range c.Status.Allocation.Devices.Results {
			delete(gone, allocatedDevice{r.Driver, r.Pool, r.Device, uidString(r.ShareID)})
		}
	}
	kept := c.Status.Devices[:0]
	for _, d := range c.Status.Devices {
		share := ""
		if d.ShareID != nil {
			share = *d.ShareID
		}
		if !gone[allocatedDevice{d.Driver, d.Pool, d.Device, share}] {
			kept = append(kept, d)
		}
	}
	c.Status.Devices = kept
	if len(c.Status.Devices) == 0 {
		c.Status.Devices = nil
	}
}

func uidString[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// PrepareForCreateResourceClaimTemplate drops the fields of disabled gates.
func PrepareForCreateResourceClaimTemplate(t *resourcev1.ResourceClaimTemplate) {
	dropDisabledClaimSpecFields(&t.Spec.Spec, nil)
}

// PrepareForUpdateResourceClaimTemplate drops the fields of disabled gates not in use in old.
func PrepareForUpdateResourceClaimTemplate(t, old *resourcev1.ResourceClaimTemplate) {
	dropDisabledClaimSpecFields(&t.Spec.Spec, &old.Spec.Spec)
}

// dropDisabledClaimSpecFields drops derivedAttributes (DRADerivedAttributes is alpha and off)
// unless old uses them.
func dropDisabledClaimSpecFields(spec, old *resourcev1.ResourceClaimSpec) {
	if old != nil && derivedAttributesInUse(old) {
		return
	}
	for i := range spec.Devices.Requests {
		r := &spec.Devices.Requests[i]
		if r.Exactly != nil {
			r.Exactly.DerivedAttributes = nil
		}
		for j := range r.FirstAvailable {
			r.FirstAvailable[j].DerivedAttributes = nil
		}
	}
}

func derivedAttributesInUse(spec *resourcev1.ResourceClaimSpec) bool {
	for _, r := range spec.Devices.Requests {
		if r.Exactly != nil && len(r.Exactly.DerivedAttributes) > 0 {
			return true
		}
		for _, s := range r.FirstAvailable {
			if len(s.DerivedAttributes) > 0 {
				return true
			}
		}
	}
	return false
}

// PrepareForCreateResourceSlice drops the fields of disabled gates.
func PrepareForCreateResourceSlice(s *resourcev1.ResourceSlice) {
	dropDisabledSliceFields(s, nil)
}

// PrepareForUpdateResourceSlice drops the fields of disabled gates not in use in old.
func PrepareForUpdateResourceSlice(s, old *resourcev1.ResourceSlice) {
	dropDisabledSliceFields(s, old)
}

func dropDisabledSliceFields(s, old *resourcev1.ResourceSlice) {
	inUse := func(f func(*resourcev1.ResourceSlice) bool) bool { return old != nil && f(old) }
	if !inUse(func(o *resourcev1.ResourceSlice) bool { return o.Spec.PartitionTypeAttribute != nil }) {
		s.Spec.PartitionTypeAttribute = nil
	}
	if !inUse(func(o *resourcev1.ResourceSlice) bool { return len(o.Spec.SkipNodeOperations) > 0 }) {
		s.Spec.SkipNodeOperations = nil
	}
	keepGroups := inUse(anyDevice(func(d *resourcev1.Device) bool {
		for _, c := range d.ConsumesCounters {
			if len(c.CompatibilityGroups) > 0 {
				return true
			}
		}
		return false
	}))
	keepAllocatable := inUse(anyDevice(func(d *resourcev1.Device) bool { return len(d.NodeAllocatableResources) > 0 }))
	keepLists := inUse(anyDevice(func(d *resourcev1.Device) bool {
		for _, a := range d.Attributes {
			if a.BoolValues != nil || a.IntValues != nil || a.StringValues != nil || a.VersionValues != nil {
				return true
			}
		}
		return false
	}))
	for i := range s.Spec.Devices {
		d := &s.Spec.Devices[i]
		if !keepGroups {
			for j := range d.ConsumesCounters {
				d.ConsumesCounters[j].CompatibilityGroups = nil
			}
		}
		if !keepAllocatable {
			d.NodeAllocatableResources = nil
		}
		if !keepLists {
			for k, a := range d.Attributes {
				if a.BoolValues != nil || a.IntValues != nil || a.StringValues != nil || a.VersionValues != nil {
					a.BoolValues, a.IntValues, a.StringValues, a.VersionValues = nil, nil, nil, nil
					d.Attributes[k] = a
				}
			}
		}
	}
}

func anyDevice(f func(*resourcev1.Device) bool) func(*resourcev1.ResourceSlice) bool {
	return func(s *resourcev1.ResourceSlice) bool {
		for i := range s.Spec.Devices {
			if f(&s.Spec.Devices[i]) {
				return true
			}
		}
		return false
	}
}

// PrepareForCreateDeviceTaintRule follows the DeviceTaintRule strategy: no status on create.
func PrepareForCreateDeviceTaintRule(r *resourcev1.DeviceTaintRule) {
	r.Status = resourcev1.DeviceTaintRuleStatus{}
}

// PrepareForUpdateDeviceTaintRule follows the DeviceTaintRule strategy: when the taint's
// effect changes and the client left timeAdded as it was, timeAdded becomes now (truncated to
// seconds), so that it tells when the effect was added.
func PrepareForUpdateDeviceTaintRule(r, old *resourcev1.DeviceTaintRule, now time.Time) {
	if r.Spec.Taint.Effect != old.Spec.Taint.Effect && r.Spec.Taint.TimeAdded.Equal(old.Spec.Taint.TimeAdded) {
		r.Spec.Taint.TimeAdded = &metav1.Time{Time: now.Truncate(time.Second)}
	}
}
