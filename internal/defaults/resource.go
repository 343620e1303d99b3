package defaults

import (
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file follows upstream's pkg/apis/resource/v1/defaults.go and the generated traversal
// in its zz_generated.defaults.go (which adds the +default="Equal" of toleration operators).
// DeviceClass has no scheme defaults. A taint's timeAdded defaults to the time of defaulting,
// truncated to seconds as upstream does; now is that clock.

// defaultExactDeviceRequest follows SetDefaults_ExactDeviceRequest.
func defaultExactDeviceRequest(r *resourcev1.ExactDeviceRequest) {
	if r.AllocationMode == "" {
		r.AllocationMode = resourcev1.DeviceAllocationModeExactCount
	}
	if r.AllocationMode == resourcev1.DeviceAllocationModeExactCount && r.Count == 0 {
		r.Count = 1
	}
	defaultDeviceTolerations(r.Tolerations)
}

// defaultDeviceSubRequest follows SetDefaults_DeviceSubRequest.
func defaultDeviceSubRequest(r *resourcev1.DeviceSubRequest) {
	if r.AllocationMode == "" {
		r.AllocationMode = resourcev1.DeviceAllocationModeExactCount
	}
	if r.AllocationMode == resourcev1.DeviceAllocationModeExactCount && r.Count == 0 {
		r.Count = 1
	}
	defaultDeviceTolerations(r.Tolerations)
}

// defaultDeviceTolerations applies the operator's +default="Equal".
func defaultDeviceTolerations(ts []resourcev1.DeviceToleration) {
	for i := range ts {
		if ts[i].Operator == "" {
			ts[i].Operator = resourcev1.DeviceTolerationOpEqual
		}
	}
}

// defaultResourceClaimSpec defaults every request of a claim's (or a template's) spec.
func defaultResourceClaimSpec(spec *resourcev1.ResourceClaimSpec) {
	for i := range spec.Devices.Requests {
		r := &spec.Devices.Requests[i]
		if r.Exactly != nil {
			defaultExactDeviceRequest(r.Exactly)
		}
		for j := range r.FirstAvailable {
			defaultDeviceSubRequest(&r.FirstAvailable[j])
		}
	}
}

// defaultResourceClaim follows SetObjectDefaults_ResourceClaim.
func defaultResourceClaim(c *resourcev1.ResourceClaim) {
	defaultResourceClaimSpec(&c.Spec)
	if a := c.Status.Allocation; a != nil {
		for i := range a.Devices.Results {
			defaultDeviceTolerations(a.Devices.Results[i].Tolerations)
		}
	}
}

// defaultResourceClaimTemplate follows SetObjectDefaults_ResourceClaimTemplate.
func defaultResourceClaimTemplate(t *resourcev1.ResourceClaimTemplate) {
	defaultResourceClaimSpec(&t.Spec.Spec)
}

// deviceTaintDefaulter returns SetDefaults_DeviceTaint with the given clock.
func deviceTaintDefaulter(now func() time.Time) func(*resourcev1.DeviceTaint) {
	return func(t *resourcev1.DeviceTaint) {
		if t.TimeAdded == nil {
			t.TimeAdded = &metav1.Time{Time: now().Truncate(time.Second)}
		}
	}
}

// resourceSliceDefaulter returns SetObjectDefaults_ResourceSlice: every device taint gets
// its timeAdded.
func resourceSliceDefaulter(now func() time.Time) func(*resourcev1.ResourceSlice) {
	taint := deviceTaintDefaulter(now)
	return func(s *resourcev1.ResourceSlice) {
		for i := range s.Spec.Devices {
			for j := range s.Spec.Devices[i].Taints {
				taint(&s.Spec.Devices[i].Taints[j])
			}
		}
	}
}

// deviceTaintRuleDefaulter returns SetObjectDefaults_DeviceTaintRule.
func deviceTaintRuleDefaulter(now func() time.Time) func(*resourcev1.DeviceTaintRule) {
	taint := deviceTaintDefaulter(now)
	return func(r *resourcev1.DeviceTaintRule) { taint(&r.Spec.Taint) }
}
