package framework

import (
	v1 "k8s.io/api/core/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
)

// Resource is an amount of each schedulable resource.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	// ScalarResources holds extended resources and hugepages.
	ScalarResources map[v1.ResourceName]int64
}

// NewResource converts a ResourceList.
func NewResource(rl v1.ResourceList) Resource {
	var r Resource
	r.Add(rl)
	return r
}

// Add adds rl to r.
func (r *Resource) Add(rl v1.ResourceList) {
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case v1.ResourceMemory:
			r.Memory += q.Value()
		case v1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case v1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if IsScalarResourceName(name) {
				r.SetScalar(name, r.ScalarResources[name]+q.Value())
			}
		}
	}
}

// SetScalar sets an extended resource's amount.
func (r *Resource) SetScalar(name v1.ResourceName, v int64) {
	if r.ScalarResources == nil {
		r.ScalarResources = map[v1.ResourceName]int64{}
	}
	r.ScalarResources[name] = v
}

// AddResource adds o to r (sign +1) or subtracts it (sign -1).
func (r *Resource) AddResource(o *Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	r.AllowedPodNumber += sign * o.AllowedPodNumber
	for n, v := range o.ScalarResources {
		r.SetScalar(n, r.ScalarResources[n]+sign*v)
	}
}

// Clone deep-copies r.
func (r Resource) Clone() Resource {
	c := r
	if r.ScalarResources != nil {
		c.ScalarResources = make(map[v1.ResourceName]int64, len(r.ScalarResources))
		for k, v := range r.ScalarResources {
			c.ScalarResources[k] = v
		}
	}
	return c
}

// IsScalarResourceName reports whether name is an extended resource, a hugepages size or an
// attachable-volumes count: the resources NodeResourcesFit counts besides the built-in ones.
func IsScalarResourceName(name v1.ResourceName) bool {
	s := string(name)
	if len(s) > len(v1.ResourceHugePagesPrefix) && s[:len(v1.ResourceHugePagesPrefix)] == v1.ResourceHugePagesPrefix {
		return true
	}
	if len(s) > len("attachable-volumes-") && s[:len("attachable-volumes-")] == "attachable-volumes-" {
		return true
	}
	return IsExtendedResourceName(name)
}

// IsExtendedResourceName reports a fully-qualified resource name outside kubernetes.io/
// (for example example.com/gpu), as upstream's helper does.
func IsExtendedResourceName(name v1.ResourceName) bool {
	s := string(name)
	slash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			slash = i
			break
		}
	}
	if slash < 0 {
		return false
	}
	domain := s[:slash]
	if domain == "kubernetes.io" || len(domain) > len(".kubernetes.io") && domain[len(domain)-len(".kubernetes.io"):] == ".kubernetes.io" {
		return false
	}
	return len(s) <= 63+1+253 && !hasPrefix(s, v1.DefaultResourceRequestsPrefix)
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func resourceQuantityMilli(m int64) *apiresource.Quantity {
	return apiresource.NewMilliQuantity(m, apiresource.DecimalSI)
}

func resourceQuantity(v int64) *apiresource.Quantity {
	return apiresource.NewQuantity(v, apiresource.BinarySI)
}
