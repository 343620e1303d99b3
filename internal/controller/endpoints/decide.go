package endpoints

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/controller/podstate"
)

// Annotations the controller sets, as upstream's.
const (
	LastChangeTriggerTime = corev1.EndpointsLastChangeTriggerTime // endpoints.kubernetes.io/last-change-trigger-time
	OverCapacity          = corev1.EndpointsOverCapacity          // endpoints.kubernetes.io/over-capacity
	Truncated             = "truncated"
	// MaxCapacity is how many addresses an Endpoints object holds at most.
	MaxCapacity = 1000
)

// Subsets computes svc's subsets from pods as upstream: a pod with an IP (and, unless the
// Service publishes not-ready addresses, not being deleted) is an address when it is ready or
// the Service publishes not-ready addresses, and a not-ready address otherwise; each Service
// port resolves per pod (a pod without a named port is left out of that port's subset); a
// headless Service without ports gets port-less subsets. Subsets are packed by port set and
// sorted, so equal inputs give equal outputs.
func Subsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	tolerate := svc.Spec.PublishNotReadyAddresses
	type entry struct {
		addr  corev1.EndpointAddress
		ready bool
		port  *corev1.EndpointPort
	}
	var entries []entry
	for _, pod := range pods {
		if !podstate.InEndpoints(pod, tolerate) {
			continue
		}
		ip := pod.Status.PodIP
		if ip == "" {
			ip = pod.Status.PodIPs[0].IP
		}
		addr := corev1.EndpointAddress{IP: ip,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}}
		if pod.Spec.NodeName != "" {
			n := pod.Spec.NodeName
			addr.NodeName = &n
		}
		if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
			addr.Hostname = pod.Spec.Hostname
		}
		ready := tolerate || podstate.IsReady(pod)
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				entries = append(entries, entry{addr, ready, nil})
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			n, err := podstate.FindPort(pod, sp)
			if err != nil {
				continue
			}
			entries = append(entries, entry{addr, ready, &corev1.EndpointPort{Name: sp.Name, Port: n, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol}})
		}
	}
	// Repack: an address goes in the subset of its full set of ports.
	type addrState struct {
		addr  corev1.EndpointAddress
		ready bool
		ports []corev1.EndpointPort
	}
	byAddr := map[string]*addrState{}
	var order []string
	for _, e := range entries {
		id := e.addr.IP + "/" + string(e.addr.TargetRef.UID)
		st := byAddr[id]
		if st == nil {
			st = &addrState{addr: e.addr, ready: e.ready}
			byAddr[id] = st
			order = append(order, id)
		}
		if e.port != nil {
			st.ports = append(st.ports, *e.port)
		}
	}
	subsets := map[string]*corev1.EndpointSubset{}
	var keys []string
	for _, id := range order {
		st := byAddr[id]
		sort.Slice(st.ports, func(i, j int) bool { return portKey(st.ports[i]) < portKey(st.ports[j]) })
		var ks []string
		for _, p := range st.ports {
			ks = append(ks, portKey(p))
		}
		k := strings.Join(ks, ",")
		ss := subsets[k]
		if ss == nil {
			ss = &corev1.EndpointSubset{Ports: st.ports}
			subsets[k] = ss
			keys = append(keys, k)
		}
		if st.ready {
			ss.Addresses = append(ss.Addresses, st.addr)
		} else {
			ss.NotReadyAddresses = append(ss.NotReadyAddresses, st.addr)
		}
	}
	sort.Strings(keys)
	out := []corev1.EndpointSubset{}
	for _, k := range keys {
		ss := subsets[k]
		sortAddresses(ss.Addresses)
		sortAddresses(ss.NotReadyAddresses)
		out = append(out, *ss)
	}
	return out
}

func portKey(p corev1.EndpointPort) string {
	ap := ""
	if p.AppProtocol != nil {
		ap = *p.AppProtocol
	}
	return fmt.Sprintf("%s/%d/%s/%s", p.Name, p.Port, p.Protocol, ap)
}

func sortAddresses(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].IP != a[j].IP {
			return a[i].IP < a[j].IP
		}
		return a[i].TargetRef.UID < a[j].TargetRef.UID
	})
}

// Truncate cuts subsets down to MaxCapacity addresses as upstream: not-ready addresses go
// first; if the ready ones alone are too many, all not-ready addresses go and the ready ones
// are cut in proportion to each subset's share. It reports whether it cut anything.
func Truncate(subsets []corev1.EndpointSubset) bool {
	ready, notReady := 0, 0
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready+notReady <= MaxCapacity {
		return false
	}
	truncateReady := ready > MaxCapacity
	limit, total := MaxCapacity-ready, notReady
	if truncateReady {
		limit, total = MaxCapacity, ready
	}
	left := limit
	for i := range subsets {
		s := &subsets[i]
		n := len(s.NotReadyAddresses)
		if truncateReady {
			n = len(s.Addresses)
		}
		take := min(int(math.Ceil(float64(n)/float64(total)*float64(limit))), left)
		if truncateReady {
			s.Addresses = s.Addresses[:min(take, len(s.Addresses))]
			s.NotReadyAddresses = nil
			left -= len(s.Addresses)
		} else {
			s.NotReadyAddresses = s.NotReadyAddresses[:min(take, len(s.NotReadyAddresses))]
			left -= len(s.NotReadyAddresses)
		}
	}
	return true
}

// TriggerTime is when pod last changed in a way that matters to endpoints, as upstream: the
// last transition of its Ready condition, or its creation.
func TriggerTime(pod *corev1.Pod) time.Time {
	if c := podstate.ReadyCondition(pod); c != nil && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	return pod.CreationTimestamp.Time
}

// LastChange is the earliest trigger time not yet reflected in the Endpoints, as upstream's
// TriggerTimeTracker: of the pods whose trigger time differs from the one last seen (seen,
// by pod UID), and of the Service if it changed since it was last seen. It returns the zero
// time when nothing changed.
func LastChange(pods []*corev1.Pod, seen map[string]time.Time, svcChanged bool, svcTime time.Time) time.Time {
	var earliest time.Time
	note := func(t time.Time) {
		if !t.IsZero() && (earliest.IsZero() || t.Before(earliest)) {
			earliest = t
		}
	}
	for _, p := range pods {
		t := TriggerTime(p)
		if last, ok := seen[string(p.UID)]; !ok || !last.Equal(t) {
			note(t)
		}
	}
	if svcChanged {
		note(svcTime)
	}
	return earliest
}
