package podstate

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name),
		CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}}
	p.Spec.NodeName = "n1"
	p.Status.Phase = corev1.PodRunning
	for _, o := range opts {
		o(p)
	}
	return p
}

func node(n string) podOpt            { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(now.Add(-d)) }
}
func cost(c string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{DeletionCostAnnotation: c} }
}
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: n}} }
}
func readySince(d time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{Condition(corev1.PodReady, corev1.ConditionTrue, now.Add(-d))}
	}
}

func TestRankForDeletion(t *testing.T) {
	cases := []struct {
		name    string
		pods    []*corev1.Pod
		related []*corev1.Pod
		want    string // the first pod to delete
	}{
		{"unassigned before assigned", []*corev1.Pod{pod("a", readySince(time.Hour)), pod("b", node(""), phase(corev1.PodPending))}, nil, "b"},
		{"pending before running", []*corev1.Pod{pod("a"), pod("b", phase(corev1.PodPending))}, nil, "b"},
		{"unknown before running", []*corev1.Pod{pod("a"), pod("b", phase(corev1.PodUnknown))}, nil, "b"},
		{"not ready before ready", []*corev1.Pod{pod("a", readySince(time.Minute)), pod("b")}, nil, "b"},
		{"lower deletion cost first", []*corev1.Pod{pod("a", cost("-5")), pod("b", cost("10"))}, nil, "a"},
		{"doubled up first", []*corev1.Pod{pod("a", node("n1"), readySince(time.Hour)), pod("b", node("n2"), readySince(time.Hour))},
			[]*corev1.Pod{pod("x", node("n2"), readySince(time.Hour)), pod("y", node("n2"), readySince(time.Hour))}, "b"},
		{"ready more recently first", []*corev1.Pod{pod("a", readySince(10*time.Hour)), pod("b", readySince(time.Minute))}, nil, "b"},
		{"same power of two ready time: by uid", []*corev1.Pod{pod("b", readySince(70*time.Minute)), pod("a", readySince(65*time.Minute))}, nil, "a"},
		{"more restarts first", []*corev1.Pod{pod("a", restarts(1)), pod("b", restarts(5))}, nil, "b"},
		{"newer first", []*corev1.Pod{pod("a", created(100*time.Hour)), pod("b", created(time.Minute))}, nil, "b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := RankForDeletion(c.pods, c.related, 1, now)
			if got[0].Name != c.want {
				t.Errorf("first to delete = %s, want %s", got[0].Name, c.want)
			}
		})
	}
}

func TestIsAvailable(t *testing.T) {
	cases := []struct {
		name string
		pod  *corev1.Pod
		min  int32
		want bool
	}{
		{"not ready", pod("a"), 0, false},
		{"ready, no minReadySeconds", pod("a", readySince(0)), 0, true},
		{"ready too briefly", pod("a", readySince(5*time.Second)), 10, false},
		{"ready long enough", pod("a", readySince(10*time.Second)), 10, true},
	}
	for _, c := range cases {
		if got := IsAvailable(c.pod, c.min, now); got != c.want {
			t.Errorf("%s: IsAvailable = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFindPort(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "a", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}},
		{Name: "b", Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}},
	}}}
	tests := []struct {
		name    string
		sp      corev1.ServicePort
		want    int32
		wantErr bool
	}{
		{"named", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}, 8080, false},
		{"named in a second container", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}, 53, false},
		{"named, other protocol", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("http")}, 0, true},
		{"missing name", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")}, 0, true},
		{"number", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9000)}, 9000, false},
		{"unset: the service port", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}, 80, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindPort(pod, &tt.sp)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("FindPort = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
