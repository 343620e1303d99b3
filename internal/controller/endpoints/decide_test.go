package endpoints

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func service(mod func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}}},
	}
	if mod != nil {
		mod(s)
	}
	return s
}

func pod(name, ip string, ready bool, mod func(*corev1.Pod)) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

// summary renders subsets as "ports: ready | notready" lines.
func summary(subsets []corev1.EndpointSubset) []string {
	var out []string
	for _, s := range subsets {
		line := ""
		for _, p := range s.Ports {
			line += fmt.Sprintf("%s:%d ", p.Name, p.Port)
		}
		line += "|"
		for _, a := range s.Addresses {
			line += " " + a.TargetRef.Name
		}
		line += " |"
		for _, a := range s.NotReadyAddresses {
			line += " " + a.TargetRef.Name
		}
		out = append(out, line)
	}
	return out
}

func TestSubsets(t *testing.T) {
	now := metav1.NewTime(time.Unix(100, 0))
	tests := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want []string
	}{
		{"ready and not ready", service(nil),
			[]*corev1.Pod{pod("b", "10.0.0.2", false, nil), pod("a", "10.0.0.1", true, nil)},
			[]string{"http:8080 | a | b"}},
		{"publishNotReadyAddresses makes all ready, terminating included", service(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			[]*corev1.Pod{pod("a", "10.0.0.1", false, func(p *corev1.Pod) { p.DeletionTimestamp = &now })},
			[]string{"http:8080 | a |"}},
		{"terminating pod left out", service(nil),
			[]*corev1.Pod{pod("a", "10.0.0.1", true, func(p *corev1.Pod) { p.DeletionTimestamp = &now })}, []string{}},
		{"no IP or terminal left out", service(nil),
			[]*corev1.Pod{pod("a", "", true, nil), pod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })}, []string{}},
		{"named port resolved per pod", service(nil),
			[]*corev1.Pod{pod("a", "10.0.0.1", true, nil), pod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }),
				pod("c", "10.0.0.3", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })},
			[]string{"http:8080 | a |", "http:9090 | b |"}},
		{"headless without ports", service(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone; s.Spec.Ports = nil }),
			[]*corev1.Pod{pod("a", "10.0.0.1", true, nil)}, []string{"| a |"}},
		{"not headless without ports", service(func(s *corev1.Service) { s.Spec.Ports = nil }),
			[]*corev1.Pod{pod("a", "10.0.0.1", true, nil)}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summary(Subsets(tt.svc, tt.pods))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func addrs(n int) []corev1.EndpointAddress {
	out := make([]corev1.EndpointAddress, n)
	for i := range out {
		out[i].IP = fmt.Sprintf("10.0.%d.%d", i/250, i%250)
	}
	return out
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name      string
		in        [][2]int // ready, not ready per subset
		truncated bool
		want      [][2]int
	}{
		{"under capacity", [][2]int{{500, 500}}, false, [][2]int{{500, 500}}},
		{"not ready cut first", [][2]int{{600, 300}, {200, 100}}, true, [][2]int{{600, 150}, {200, 50}}},
		{"ready cut in proportion, not ready dropped", [][2]int{{1500, 10}, {500, 10}}, true, [][2]int{{750, 0}, {250, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var subsets []corev1.EndpointSubset
			for _, n := range tt.in {
				subsets = append(subsets, corev1.EndpointSubset{Addresses: addrs(n[0]), NotReadyAddresses: addrs(n[1])})
			}
			if got := Truncate(subsets); got != tt.truncated {
				t.Errorf("truncated %v, want %v", got, tt.truncated)
			}
			for i, s := range subsets {
				if got := [2]int{len(s.Addresses), len(s.NotReadyAddresses)}; got != tt.want[i] {
					t.Errorf("subset %d: %v, want %v", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestLastChange(t *testing.T) {
	t1, t2, t3 := time.Unix(100, 0), time.Unix(200, 0), time.Unix(300, 0)
	readyAt := func(name string, at time.Time) *corev1.Pod {
		return pod(name, "10.0.0.1", true, func(p *corev1.Pod) { p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(at) })
	}
	tests := []struct {
		name       string
		pods       []*corev1.Pod
		seen       map[string]time.Time
		svcChanged bool
		want       time.Time
	}{
		{"new service: its creation if earliest", []*corev1.Pod{readyAt("a", t2)}, nil, true, t1},
		{"nothing changed", []*corev1.Pod{readyAt("a", t2)}, map[string]time.Time{"a": t2}, false, time.Time{}},
		{"earliest changed pod", []*corev1.Pod{readyAt("a", t3), readyAt("b", t2), readyAt("c", t1)},
			map[string]time.Time{"c": t1}, false, t2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LastChange(tt.pods, tt.seen, tt.svcChanged, t1); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
