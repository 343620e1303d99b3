package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// This file follows upstream's pkg/apis/core/helper/qos.ComputePodQOS, which the Pod
// registry strategy uses to fill status.qosClass on create.

// podQOSClass computes the QoS class from CPU and memory requests and limits: pod-level
// resources when set (PodLevelResources is on by default), otherwise every init and regular
// container. Ephemeral containers cannot declare resources and do not count.
func podQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	guaranteed := true
	accumulate := func(res corev1.ResourceRequirements) {
		for name, q := range res.Requests {
			if isQOSComputeResource(name) && q.Sign() > 0 {
				addQuantity(requests, name, q)
			}
		}
		found := map[corev1.ResourceName]bool{}
		for name, q := range res.Limits {
			if isQOSComputeResource(name) && q.Sign() > 0 {
				found[name] = true
				addQuantity(limits, name, q)
			}
		}
		if !found[corev1.ResourceCPU] || !found[corev1.ResourceMemory] {
			guaranteed = false
		}
	}
	if resourcehelper.IsPodLevelResourcesSet(pod) {
		// Upstream only checks the limits for completeness when pod-level limits are given.
		res := *pod.Spec.Resources
		if len(res.Limits) == 0 {
			for name, q := range res.Requests {
				if isQOSComputeResource(name) && q.Sign() > 0 {
					addQuantity(requests, name, q)
				}
			}
		} else {
			accumulate(res)
		}
	} else {
		for _, c := range pod.Spec.Containers {
			accumulate(c.Resources)
		}
		for _, c := range pod.Spec.InitContainers {
			accumulate(c.Resources)
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func isQOSComputeResource(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory
}

func addQuantity(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	sum := q.DeepCopy()
	if prev, ok := list[name]; ok {
		sum.Add(prev)
	}
	list[name] = sum
}
