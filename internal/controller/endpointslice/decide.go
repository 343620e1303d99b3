package endpointslice

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/controller/podstate"
)

// Labels and values the controller sets on its slices, as upstream's.
const (
	ManagedBy        = "endpointslice-controller.k8s.io"
	HeadlessLabel    = corev1.IsHeadlessService // service.kubernetes.io/headless
	MaxEndpoints     = 100                      // per slice, upstream's --max-endpoints-per-slice default
	serviceNameLabel = discoveryv1.LabelServiceName
	managedByLabel   = discoveryv1.LabelManagedBy
)

// Group is the endpoints that share one set of resolved ports: upstream puts each group in
// slices of its own, since a slice has one ports list.
type Group struct {
	Ports     []discoveryv1.EndpointPort
	Endpoints []discoveryv1.Endpoint
}

// AddressTypes are the address types of svc's slices: one per IP family (IPv4 if none).
func AddressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		if f == corev1.IPv6Protocol {
			out = append(out, discoveryv1.AddressTypeIPv6)
		} else {
			out = append(out, discoveryv1.AddressTypeIPv4)
		}
	}
	if len(out) == 0 {
		out = append(out, discoveryv1.AddressTypeIPv4)
	}
	return out
}

// Desired groups the endpoints of svc's pods of addressType by their resolved ports, keyed by
// PortsKey. zone returns a node's topology.kubernetes.io/zone label ("" if unknown). Pods
// without an IP of the type, terminal pods, and ports a pod cannot resolve are left out, as
// upstream does.
func Desired(svc *corev1.Service, pods []*corev1.Pod, addressType discoveryv1.AddressType, zone func(node string) string) map[string]*Group {
	out := map[string]*Group{}
	for _, pod := range pods {
		if !podstate.InEndpoints(pod, true) {
			continue
		}
		ip := podIP(pod, addressType)
		if ip == "" {
			continue
		}
		ports := Ports(svc, pod)
		k := PortsKey(ports)
		g := out[k]
		if g == nil {
			g = &Group{Ports: ports}
			out[k] = g
		}
		g.Endpoints = append(g.Endpoints, Endpoint(svc, pod, ip, zone))
	}
	for _, g := range out {
		sort.Slice(g.Endpoints, func(i, j int) bool { return endpointID(g.Endpoints[i]) < endpointID(g.Endpoints[j]) })
	}
	return out
}

// Ports resolves svc's ports on pod (named targetPorts from the pod's container ports); a port
// the pod does not have is left out.
func Ports(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, err := podstate.FindPort(pod, sp)
		if err != nil {
			continue
		}
		name, proto := sp.Name, sp.Protocol
		out = append(out, discoveryv1.EndpointPort{Name: &name, Port: &n, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

// PortsKey identifies a ports list regardless of order.
func PortsKey(ports []discoveryv1.EndpointPort) string {
	keys := make([]string, len(ports))
	for i, p := range ports {
		keys[i] = fmt.Sprintf("%s/%s/%d/%s", deref(p.Name), deref(p.Protocol), deref(p.Port), deref(p.AppProtocol))
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Endpoint is pod's endpoint in a slice of svc, with upstream's conditions: serving is the
// pod's readiness, terminating its deletion, and ready is serving and not terminating (or
// always, with publishNotReadyAddresses).
func Endpoint(svc *corev1.Service, pod *corev1.Pod, ip string, zone func(string) string) discoveryv1.Endpoint {
	serving := podstate.IsReady(pod)
	terminating := pod.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		node := pod.Spec.NodeName
		ep.NodeName = &node
		if z := zone(node); z != "" {
			ep.Zone = &z
		}
	}
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		h := pod.Spec.Hostname
		ep.Hostname = &h
	}
	return ep
}

// podIP is pod's IP of addressType, or "".
func podIP(pod *corev1.Pod, addressType discoveryv1.AddressType) string {
	ips := []string{pod.Status.PodIP}
	for _, p := range pod.Status.PodIPs {
		ips = append(ips, p.IP)
	}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		if (ip.To4() != nil) == (addressType == discoveryv1.AddressTypeIPv4) {
			return s
		}
	}
	return ""
}

// endpointID identifies an endpoint across syncs: its pod's UID, or its address.
func endpointID(ep discoveryv1.Endpoint) string {
	if ep.TargetRef != nil && ep.TargetRef.UID != "" {
		return string(ep.TargetRef.UID)
	}
	if len(ep.Addresses) > 0 {
		return ep.Addresses[0]
	}
	return ""
}

// Labels are the labels of svc's slices: the Service's own, the service-name and managed-by
// labels, and service.kubernetes.io/headless for a headless Service.
func Labels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		if k == serviceNameLabel || k == managedByLabel || k == HeadlessLabel {
			continue
		}
		out[k] = v
	}
	out[serviceNameLabel] = svc.Name
	out[managedByLabel] = ManagedBy
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[HeadlessLabel] = ""
	}
	return out
}

// Plan is what Reconcile decided: slices to create (by generateName), update and delete.
type Plan struct {
	Create, Update, Delete []*discoveryv1.EndpointSlice
}

// Empty reports whether the plan writes nothing.
func (p Plan) Empty() bool { return len(p.Create)+len(p.Update)+len(p.Delete) == 0 }

// Reconcile turns svc's existing slices of addressType into the desired groups with few
// writes: an endpoint stays in the slice that holds it, new endpoints fill slices with room
// before new slices are made, a slice left empty is deleted, and a Service without endpoints
// keeps one empty placeholder slice (as upstream). existing are never modified.
func Reconcile(svc *corev1.Service, addressType discoveryv1.AddressType, desired map[string]*Group, existing []*discoveryv1.EndpointSlice) Plan {
	var plan Plan
	labels := Labels(svc)
	wanted := map[string]map[string]discoveryv1.Endpoint{} // ports key -> endpoint id -> endpoint
	total := 0
	for k, g := range desired {
		m := map[string]discoveryv1.Endpoint{}
		for _, ep := range g.Endpoints {
			m[endpointID(ep)] = ep
		}
		wanted[k] = m
		total += len(g.Endpoints)
	}
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })
	var kept []*discoveryv1.EndpointSlice // slices that stay, possibly updated
	changed := map[*discoveryv1.EndpointSlice]bool{}
	var spare []*discoveryv1.EndpointSlice // slices that would be deleted
	for _, s := range existing {
		if s.AddressType != addressType {
			plan.Delete = append(plan.Delete, s)
			continue
		}
		k := PortsKey(s.Ports)
		m := wanted[k]
		var eps []discoveryv1.Endpoint
		for _, old := range s.Endpoints {
			id := endpointID(old)
			if ep, ok := m[id]; ok {
				eps = append(eps, ep)
				delete(m, id)
			}
		}
		if len(eps) == 0 {
			spare = append(spare, s)
			continue
		}
		n := s.DeepCopy()
		n.Endpoints = eps
		n.Labels = mergeLabels(s.Labels, labels)
		n.OwnerReferences = ownerRefs(svc)
		changed[n] = !apiequality.Semantic.DeepEqual(s.Endpoints, n.Endpoints) || !apiequality.Semantic.DeepEqual(s.Labels, n.Labels) ||
			!apiequality.Semantic.DeepEqual(s.OwnerReferences, n.OwnerReferences)
		kept = append(kept, n)
	}
	keys := make([]string, 0, len(desired))
	for k := range desired {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var rest []discoveryv1.Endpoint
		for _, ep := range desired[k].Endpoints { // sorted, so the result is stable
			if _, ok := wanted[k][endpointID(ep)]; ok {
				rest = append(rest, ep)
			}
		}
		for _, s := range kept {
			if len(rest) == 0 {
				break
			}
			if PortsKey(s.Ports) != k || len(s.Endpoints) >= MaxEndpoints {
				continue
			}
			n := min(MaxEndpoints-len(s.Endpoints), len(rest))
			s.Endpoints = append(s.Endpoints, rest[:n]...)
			rest = rest[n:]
			changed[s] = true
		}
		for len(rest) > 0 {
			n := min(MaxEndpoints, len(rest))
			s := newSlice(svc, addressType, labels, desired[k].Ports, rest[:n])
			if len(spare) > 0 { // reuse a slice that would be deleted rather than create one
				s = reuse(spare[0], s)
				spare = spare[1:]
				plan.Update = append(plan.Update, s)
			} else {
				plan.Create = append(plan.Create, s)
			}
			rest = rest[n:]
		}
	}
	for _, s := range kept {
		if changed[s] {
			plan.Update = append(plan.Update, s)
		}
	}
	if total == 0 {
		placeholder := newSlice(svc, addressType, labels, []discoveryv1.EndpointPort{}, []discoveryv1.Endpoint{})
		if len(spare) > 0 {
			s := spare[0]
			spare = spare[1:]
			if len(s.Endpoints) != 0 || len(s.Ports) != 0 || !apiequality.Semantic.DeepEqual(s.Labels, mergeLabels(s.Labels, labels)) ||
				!apiequality.Semantic.DeepEqual(s.OwnerReferences, ownerRefs(svc)) {
				plan.Update = append(plan.Update, reuse(s, placeholder))
			}
		} else {
			plan.Create = append(plan.Create, placeholder)
		}
	}
	plan.Delete = append(plan.Delete, spare...)
	return plan
}

// reuse returns want under old's name and resource version.
func reuse(old, want *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	n := old.DeepCopy()
	n.Labels = mergeLabels(old.Labels, want.Labels)
	n.OwnerReferences = want.OwnerReferences
	n.Ports = want.Ports
	n.Endpoints = want.Endpoints
	return n
}

// mergeLabels is have with want's labels set (labels others added stay).
func mergeLabels(have, want map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range have {
		out[k] = v
	}
	if _, ok := want[HeadlessLabel]; !ok {
		delete(out, HeadlessLabel)
	}
	for k, v := range want {
		out[k] = v
	}
	return out
}

func ownerRefs(svc *corev1.Service) []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))}
}

func newSlice(svc *corev1.Service, addressType discoveryv1.AddressType, labels map[string]string, ports []discoveryv1.EndpointPort, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	l := map[string]string{}
	for k, v := range labels {
		l[k] = v
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{GenerateName: svc.Name + "-", Namespace: svc.Namespace, Labels: l,
			OwnerReferences: ownerRefs(svc)},
		AddressType: addressType,
		Ports:       ports,
		Endpoints:   append([]discoveryv1.Endpoint(nil), eps...),
	}
}
