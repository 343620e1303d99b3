package defaults

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestPrepareForCreateResourceClaim(t *testing.T) {
	c := &resourcev1.ResourceClaim{
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{
			{Name: "a", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "c",
				DerivedAttributes: []resourcev1.DeviceDerivedAttribute{{Name: "x.example.com/y", Expression: "1"}}}},
			{Name: "b", FirstAvailable: []resourcev1.DeviceSubRequest{{Name: "s", DeviceClassName: "c",
				DerivedAttributes: []resourcev1.DeviceDerivedAttribute{{Name: "x.example.com/y", Expression: "1"}}}}},
		}}},
		Status: resourcev1.ResourceClaimStatus{ReservedFor: []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "u"}}},
	}
	PrepareForCreateResourceClaim(c)
	if !reflect.DeepEqual(c.Status, resourcev1.ResourceClaimStatus{}) {
		t.Errorf("status kept on create: %+v", c.Status)
	}
	if c.Spec.Devices.Requests[0].Exactly.DerivedAttributes != nil || c.Spec.Devices.Requests[1].FirstAvailable[0].DerivedAttributes != nil {
		t.Error("derivedAttributes (DRADerivedAttributes is off) were kept")
	}

	// An update keeps a field of a disabled gate that the stored claim already uses.
	old := &resourcev1.ResourceClaim{Spec: *c.Spec.DeepCopy()}
	old.Spec.Devices.Requests[0].Exactly.DerivedAttributes = []resourcev1.DeviceDerivedAttribute{{Name: "x.example.com/y"}}
	next := old.DeepCopy()
	PrepareForUpdateResourceClaim(next, old)
	if next.Spec.Devices.Requests[0].Exactly.DerivedAttributes == nil {
		t.Error("derivedAttributes in use were dropped on update")
	}
}

func TestPrepareForStatusUpdateResourceClaim(t *testing.T) {
	result := func(device string, share *types.UID) resourcev1.DeviceRequestAllocationResult {
		return resourcev1.DeviceRequestAllocationResult{Request: "r", Driver: "d.example.com", Pool: "p", Device: device, ShareID: share,
			SkipNodeOperations: []resourcev1.SkipNodeOperation{"NodePrepareResources"}}
	}
	status := func(device string, share *string) resourcev1.AllocatedDeviceStatus {
		return resourcev1.AllocatedDeviceStatus{Driver: "d.example.com", Pool: "p", Device: device, ShareID: share}
	}
	share := types.UID("6d1e2a3c-0000-4000-8000-000000000001")
	old := &resourcev1.ResourceClaim{Status: resourcev1.ResourceClaimStatus{
		Allocation: &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{
			result("dev-0", nil), result("dev-1", &share),
		}}},
	}}
	old.Status.Allocation.Devices.Results[0].SkipNodeOperations = nil
	old.Status.Allocation.Devices.Results[1].SkipNodeOperations = nil

	// Deallocating dev-1 drops its status; dev-2 was never allocated, so it stays for validation to refuse.
	next := old.DeepCopy()
	next.Status.Allocation.Devices.Results = next.Status.Allocation.Devices.Results[:1]
	next.Status.Allocation.Devices.Results[0].SkipNodeOperations = []resourcev1.SkipNodeOperation{"NodePrepareResources"}
	next.Status.Devices = []resourcev1.AllocatedDeviceStatus{status("dev-0", nil), status("dev-1", ptr.To(string(share))), status("dev-2", nil)}
	PrepareForStatusUpdateResourceClaim(next, old)
	if want := []resourcev1.AllocatedDeviceStatus{status("dev-0", nil), status("dev-2", nil)}; !reflect.DeepEqual(next.Status.Devices, want) {
		t.Errorf("devices = %+v, want %+v", next.Status.Devices, want)
	}
	if next.Status.Allocation.Devices.Results[0].SkipNodeOperations != nil {
		t.Error("skipNodeOperations (DRAOptionalNodeOperations is off) were kept")
	}

	// Deallocating everything drops every device status.
	next = old.DeepCopy()
	next.Status.Allocation = nil
	next.Status.Devices = []resourcev1.AllocatedDeviceStatus{status("dev-0", nil)}
	PrepareForStatusUpdateResourceClaim(next, old)
	if next.Status.Devices != nil {
		t.Errorf("devices = %+v, want none", next.Status.Devices)
	}
}

func TestPrepareForCreateResourceSlice(t *testing.T) {
	s := &resourcev1.ResourceSlice{Spec: resourcev1.ResourceSliceSpec{
		PartitionTypeAttribute: ptr.To(resourcev1.FullyQualifiedName("x.example.com/type")),
		SkipNodeOperations:     []resourcev1.SkipNodeOperation{"NodePrepareResources"},
		Devices: []resourcev1.Device{{
			Name: "d",
			Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
				"list":   {IntValues: []int64{1}},
				"scalar": {IntValue: ptr.To(int64(1))},
			},
			ConsumesCounters: []resourcev1.DeviceCounterConsumption{{CounterSet: "c", CompatibilityGroups: []string{"g"}}},
			NodeAllocatableResources: map[corev1.ResourceName]resourcev1.NodeAllocatableResource{
				"cpu": {},
			},
			Taints: []resourcev1.DeviceTaint{{Key: "k", Effect: resourcev1.DeviceTaintEffectNoSchedule}},
		}},
	}}
	PrepareForCreateResourceSlice(s)
	d := s.Spec.Devices[0]
	switch {
	case s.Spec.PartitionTypeAttribute != nil, s.Spec.SkipNodeOperations != nil:
		t.Error("slice fields of disabled gates were kept")
	case d.Attributes["list"].IntValues != nil, d.ConsumesCounters[0].CompatibilityGroups != nil, d.NodeAllocatableResources != nil:
		t.Error("device fields of disabled gates were kept")
	case d.Attributes["scalar"].IntValue == nil, len(d.Taints) != 1:
		t.Error("fields of enabled gates were dropped")
	}
}

func TestPrepareForUpdateDeviceTaintRule(t *testing.T) {
	added := metav1.NewTime(time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC))
	other := metav1.NewTime(time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC))
	now := time.Date(2026, 1, 1, 12, 0, 0, 500, time.UTC)
	rule := func(effect resourcev1.DeviceTaintEffect, at metav1.Time) *resourcev1.DeviceTaintRule {
		return &resourcev1.DeviceTaintRule{Spec: resourcev1.DeviceTaintRuleSpec{Taint: resourcev1.DeviceTaint{Key: "k", Effect: effect, TimeAdded: &at}}}
	}
	for name, tc := range map[string]struct {
		next *resourcev1.DeviceTaintRule
		want time.Time
	}{
		"effect changed, time kept":  {rule(resourcev1.DeviceTaintEffectNoExecute, added), now.Truncate(time.Second)},
		"effect changed, time given": {rule(resourcev1.DeviceTaintEffectNoExecute, other), other.Time},
		"effect unchanged":           {rule(resourcev1.DeviceTaintEffectNoSchedule, added), added.Time},
		"value changed, effect equal": {func() *resourcev1.DeviceTaintRule {
			r := rule(resourcev1.DeviceTaintEffectNoSchedule, added)
			r.Spec.Taint.Value = "v"
			return r
		}(), added.Time},
	} {
		t.Run(name, func(t *testing.T) {
			PrepareForUpdateDeviceTaintRule(tc.next, rule(resourcev1.DeviceTaintEffectNoSchedule, added), now)
			if got := tc.next.Spec.Taint.TimeAdded.Time; !got.Equal(tc.want) {
				t.Errorf("timeAdded = %v, want %v", got, tc.want)
			}
		})
	}
	r := rule(resourcev1.DeviceTaintEffectNoSchedule, added)
	r.Status.Conditions = []metav1.Condition{{Type: "EvictionInProgress"}}
	PrepareForCreateDeviceTaintRule(r)
	if r.Status.Conditions != nil {
		t.Error("status kept on create")
	}
}
