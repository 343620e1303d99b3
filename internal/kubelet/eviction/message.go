package eviction

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
)

// Upstream's words (pkg/kubelet/eviction).
const (
	// Reason is the evicted pod's status.reason, the reason of its Warning event, and the
	// reason of a pod refused at admission under pressure.
	Reason = "Evicted"
	// EventThresholdMet is the node's Warning event when the kubelet starts reclaiming.
	EventThresholdMet = "EvictionThresholdMet"

	nodeLowMessageFmt       = "The node was low on resource: %v. "
	thresholdMetMessageFmt  = "Threshold quantity: %v, available: %v. "
	containerMessageFmt     = "Container %s was using %s, request is %s, has larger consumption of %v. "
	nodeConditionMessageFmt = "The node had condition: %v. "

	// SystemCriticalPriority is the priority from which a pod is critical
	// (system-cluster-critical and system-node-critical are above it).
	SystemCriticalPriority = 2_000_000_000
	// annotations of static and mirror pods.
	annotationConfigSource = "kubernetes.io/config.source"
	annotationConfigMirror = "kubernetes.io/config.mirror"
)

// IsCritical reports whether the pod is critical, as upstream's kubelet sees it: a static or
// mirror pod, or one with a priority of at least SystemCriticalPriority. Critical pods are
// neither evicted nor refused under pressure.
func IsCritical(pod *corev1.Pod) bool {
	if src, ok := pod.Annotations[annotationConfigSource]; ok && src != "api" {
		return true
	}
	if _, ok := pod.Annotations[annotationConfigMirror]; ok {
		return true
	}
	return pod.Spec.Priority != nil && *pod.Spec.Priority >= SystemCriticalPriority
}

// Message is the evicted pod's status message and event, in upstream's words: the resource
// the node was low on, the threshold and what was available, then each container that used
// more than it requested:
//
//	The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi.
//	Container x was using 70Mi, request is 0, has larger consumption of memory.
//
// (one line, each sentence ending with ". "). t is the threshold being reclaimed.
func Message(t Threshold, pod *corev1.Pod, stats PodStats, haveStats bool, obs Observations) string {
	res := t.Signal.Resource()
	var b strings.Builder
	fmt.Fprintf(&b, nodeLowMessageFmt, res)
	if o, ok := obs[t.Signal]; ok {
		fmt.Fprintf(&b, thresholdMetMessageFmt, quantity(t.Value(o.Capacity), res), quantity(o.Available, res))
	}
	if !haveStats || (res != corev1.ResourceMemory && res != corev1.ResourceEphemeralStorage) {
		return b.String()
	}
	specs := append(append([]corev1.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...)
	for _, cs := range stats.Containers {
		for _, c := range specs {
			if c.Name != cs.Name {
				continue
			}
			usage := cs.Memory
			if res == corev1.ResourceEphemeralStorage {
				usage = cs.EphemeralStorage
			}
			req := c.Resources.Requests[res]
			if usage > req.Value() {
				fmt.Fprintf(&b, containerMessageFmt, c.Name, quantity(usage, res), req.String(), res)
			}
			break
		}
	}
	return b.String()
}

// DisruptionTarget is the condition upstream's kubelet adds to a pod it evicts.
func DisruptionTarget(message string) corev1.PodCondition {
	return corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: corev1.PodReasonTerminationByKubelet, Message: message}
}

// Admit decides whether a pod of the QoS class qos may start on a node with the pressure
// conditions, as upstream's eviction admission handler does: any pod without pressure;
// critical pods always; under MemoryPressure alone, pods that are not BestEffort and
// BestEffort pods tolerating the node.kubernetes.io/memory-pressure taint; under any other
// pressure, no pod. A refusal has reason Evicted and names the conditions
// ("The node had condition: [MemoryPressure]. ").
func Admit(pod *corev1.Pod, qos corev1.PodQOSClass, conditions []corev1.NodeConditionType) (ok bool, reason, message string) {
	if len(conditions) == 0 || IsCritical(pod) {
		return true, "", ""
	}
	if len(conditions) == 1 && conditions[0] == corev1.NodeMemoryPressure {
		if qos != corev1.PodQOSBestEffort {
			return true, "", ""
		}
		taint := &corev1.Taint{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule}
		if corev1helpers.TolerationsTolerateTaint(klog.Background(), pod.Spec.Tolerations, taint, false) {
			return true, "", ""
		}
	}
	return false, Reason, fmt.Sprintf(nodeConditionMessageFmt, conditions)
}
