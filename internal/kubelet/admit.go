package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// Upstream's admission failure reasons (pkg/kubelet/lifecycle) and predicate descriptions
// (the scheduler plugins').
const (
	ReasonOutOfCPU              = "OutOfcpu"
	ReasonOutOfMemory           = "OutOfmemory"
	ReasonOutOfEphemeralStorage = "OutOfephemeral-storage"
	ReasonOutOfPods             = "OutOfpods"
	ReasonNodeAffinity          = "NodeAffinity"
	ReasonNodePorts             = "NodePorts"
	ReasonTaintToleration       = "TaintToleration"

	descNodeAffinity    = "node(s) didn't match Pod's node affinity/selector"
	descNodePorts       = "node(s) didn't have free ports for the requested pod ports"
	descTaintToleration = "node(s) had taints that the pod didn't tolerate"
)

// Rejection says why a pod was not admitted.
type Rejection struct {
	Reason, Message string
}

// Admit decides whether pod may run on node beside the admitted pods, as upstream's kubelet
// does: resources (requests against allocatable, and the pods count), the required node
// affinity and node selector, free host ports, then the NoExecute taints the pod doesn't
// tolerate (the kubelet, like upstream's, ignores NoSchedule: a pod bound by hand bypasses
// scheduling on purpose). The first failure is returned; nil means admitted.
func Admit(pod *corev1.Pod, node *corev1.Node, admitted []*corev1.Pod) *Rejection {
	alloc := node.Status.Allocatable
	if maxPods, ok := alloc[corev1.ResourcePods]; ok && int64(len(admitted))+1 > maxPods.Value() {
		return insufficient(corev1.ResourcePods, 1, int64(len(admitted)), maxPods.Value())
	}
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	used := corev1.ResourceList{}
	for _, p := range admitted {
		for name, q := range resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{}) {
			u := used[name]
			u.Add(q)
			used[name] = u
		}
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		r, ok := req[name]
		if !ok || r.IsZero() {
			continue
		}
		capacity, u := alloc[name], used[name]
		value := func(q interface{ MilliValue() int64 }) int64 { return q.MilliValue() }
		if name != corev1.ResourceCPU {
			value = func(q interface{ MilliValue() int64 }) int64 { return q.MilliValue() / 1000 }
		}
		if value(&r) > value(&capacity)-value(&u) {
			return insufficient(name, value(&r), value(&u), value(&capacity))
		}
	}
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		return predicateFailure(ReasonNodeAffinity, descNodeAffinity)
	}
	if hostPortsConflict(pod, admitted) {
		return predicateFailure(ReasonNodePorts, descNodePorts)
	}
	if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	}, false); untolerated {
		return predicateFailure(ReasonTaintToleration, descTaintToleration)
	}
	return nil
}

func insufficient(name corev1.ResourceName, requested, used, capacity int64) *Rejection {
	reason := "OutOf" + string(name)
	return &Rejection{Reason: reason, Message: fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, requested, used, capacity)}
}

func predicateFailure(name, desc string) *Rejection {
	return &Rejection{Reason: name, Message: fmt.Sprintf("Predicate %s failed: %s", name, desc)}
}

type hostPort struct {
	ip       string
	protocol corev1.Protocol
	port     int32
}

func hostPorts(pod *corev1.Pod) []hostPort {
	var out []hostPort
	add := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				ip := p.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				out = append(out, hostPort{ip, proto, p.HostPort})
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

func hostPortsConflict(pod *corev1.Pod, admitted []*corev1.Pod) bool {
	want := hostPorts(pod)
	if len(want) == 0 {
		return false
	}
	for _, p := range admitted {
		for _, have := range hostPorts(p) {
			for _, w := range want {
				if w.port == have.port && w.protocol == have.protocol &&
					(w.ip == have.ip || w.ip == "0.0.0.0" || have.ip == "0.0.0.0") {
					return true
				}
			}
		}
	}
	return false
}
