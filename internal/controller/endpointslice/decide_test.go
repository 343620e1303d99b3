package endpointslice

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func service(mod func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
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
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func zones(n string) string { return map[string]string{"n1": "zone-a"}[n] }

func TestEndpointConditions(t *testing.T) {
	now := metav1.NewTime(time.Unix(100, 0))
	deleting := func(p *corev1.Pod) { p.DeletionTimestamp = &now }
	tests := []struct {
		name                        string
		pod                         *corev1.Pod
		publishNotReady             bool
		ready, serving, terminating bool
	}{
		{"ready", pod("a", "10.0.0.1", true, nil), false, true, true, false},
		{"not ready", pod("a", "10.0.0.1", false, nil), false, false, false, false},
		{"not ready, publishNotReadyAddresses", pod("a", "10.0.0.1", false, nil), true, true, false, false},
		{"ready and terminating", pod("a", "10.0.0.1", true, deleting), false, false, true, true},
		{"terminating, publishNotReadyAddresses", pod("a", "10.0.0.1", false, deleting), true, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := service(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = tt.publishNotReady })
			ep := Endpoint(svc, tt.pod, "10.0.0.1", zones)
			c := ep.Conditions
			if *c.Ready != tt.ready || *c.Serving != tt.serving || *c.Terminating != tt.terminating {
				t.Errorf("conditions ready %v serving %v terminating %v, want %v %v %v", *c.Ready, *c.Serving, *c.Terminating, tt.ready, tt.serving, tt.terminating)
			}
			if ep.Zone == nil || *ep.Zone != "zone-a" || *ep.NodeName != "n1" || ep.TargetRef.Name != "a" || ep.TargetRef.Kind != "Pod" {
				t.Errorf("endpoint %+v", ep)
			}
		})
	}
}

func TestDesired(t *testing.T) {
	otherPort := func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }
	tests := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want map[string][]string // ports key -> endpoint pod names
	}{
		{"named port resolved per pod", service(nil),
			[]*corev1.Pod{pod("a", "10.0.0.1", true, nil), pod("b", "10.0.0.2", true, otherPort), pod("c", "10.0.0.3", false, nil)},
			map[string][]string{"http/TCP/8080/": {"a", "c"}, "http/TCP/9090/": {"b"}}},
		{"pod without the named port has no ports", service(nil),
			[]*corev1.Pod{pod("a", "10.0.0.1", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })},
			map[string][]string{"": {"a"}}},
		{"no IP, terminal, and other family left out", service(nil),
			[]*corev1.Pod{pod("a", "", true, nil), pod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
				pod("c", "fd00::1", true, nil)},
			map[string][]string{}},
		{"numeric target port", service(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(7000) }),
			[]*corev1.Pod{pod("a", "10.0.0.1", true, nil)}, map[string][]string{"http/TCP/7000/": {"a"}}},
		{"headless without ports", service(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone; s.Spec.Ports = nil }),
			[]*corev1.Pod{pod("a", "10.0.0.1", true, nil)}, map[string][]string{"": {"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Desired(tt.svc, tt.pods, discoveryv1.AddressTypeIPv4, zones)
			if len(got) != len(tt.want) {
				t.Fatalf("groups %v, want %v", keys(got), tt.want)
			}
			for k, names := range tt.want {
				g := got[k]
				if g == nil || len(g.Endpoints) != len(names) {
					t.Fatalf("group %q: %+v, want %v", k, g, names)
				}
				for i, n := range names {
					if g.Endpoints[i].TargetRef.Name != n {
						t.Errorf("group %q endpoint %d is %s, want %s", k, i, g.Endpoints[i].TargetRef.Name, n)
					}
				}
			}
		})
	}
}

func keys(m map[string]*Group) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func pods(n int) []*corev1.Pod {
	var out []*corev1.Pod
	for i := 0; i < n; i++ {
		out = append(out, pod(fmt.Sprintf("p%03d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), true, nil))
	}
	return out
}

// applied is what the slices would be after plan, with created slices named new-0, new-1, ...
func applied(existing []*discoveryv1.EndpointSlice, plan Plan) map[string]*discoveryv1.EndpointSlice {
	out := map[string]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		out[s.Name] = s
	}
	for _, s := range plan.Update {
		out[s.Name] = s
	}
	for _, s := range plan.Delete {
		delete(out, s.Name)
	}
	for i, s := range plan.Create {
		s = s.DeepCopy()
		s.Name = fmt.Sprintf("new-%d-%d", len(existing), i)
		out[s.Name] = s
	}
	return out
}

func TestReconcile(t *testing.T) {
	svc := service(nil)
	sync := func(existing []*discoveryv1.EndpointSlice, ps []*corev1.Pod) (Plan, []*discoveryv1.EndpointSlice) {
		plan := Reconcile(svc, discoveryv1.AddressTypeIPv4, Desired(svc, ps, discoveryv1.AddressTypeIPv4, zones), existing)
		var out []*discoveryv1.EndpointSlice
		for _, s := range applied(existing, plan) {
			out = append(out, s)
		}
		return plan, out
	}
	count := func(slices []*discoveryv1.EndpointSlice) (n int) {
		for _, s := range slices {
			if len(s.Endpoints) > MaxEndpoints {
				t.Errorf("slice %s has %d endpoints", s.Name, len(s.Endpoints))
			}
			n += len(s.Endpoints)
		}
		return n
	}

	t.Run("no pods: one placeholder", func(t *testing.T) {
		plan, slices := sync(nil, nil)
		if len(plan.Create) != 1 || len(slices) != 1 || len(slices[0].Endpoints) != 0 {
			t.Fatalf("plan %+v", plan)
		}
		s := slices[0]
		if s.GenerateName != "web-" || s.Labels[serviceNameLabel] != "web" || s.Labels[managedByLabel] != ManagedBy || s.Labels["team"] != "a" ||
			s.OwnerReferences[0].UID != "svc-uid" || !*s.OwnerReferences[0].Controller {
			t.Errorf("placeholder %+v", s.ObjectMeta)
		}
		if plan, _ := sync(slices, nil); !plan.Empty() {
			t.Errorf("second sync %+v, want nothing", plan)
		}
	})
	t.Run("250 pods: three slices; then steady; then scale to 120 deletes none needlessly", func(t *testing.T) {
		_, slices := sync(nil, nil)
		plan, slices := sync(slices, pods(250))
		if len(slices) != 3 || count(slices) != 250 {
			t.Fatalf("%d slices, %d endpoints (plan %d/%d/%d)", len(slices), count(slices), len(plan.Create), len(plan.Update), len(plan.Delete))
		}
		if plan, _ := sync(slices, pods(250)); !plan.Empty() {
			t.Errorf("steady state wrote %d/%d/%d", len(plan.Create), len(plan.Update), len(plan.Delete))
		}
		plan, slices = sync(slices, pods(120))
		if count(slices) != 120 || len(plan.Create) != 0 || len(slices) != 2 {
			t.Errorf("scaled down: %d slices, %d endpoints, plan %d/%d/%d", len(slices), count(slices), len(plan.Create), len(plan.Update), len(plan.Delete))
		}
		plan, slices = sync(slices, nil)
		if count(slices) != 0 || len(slices) != 1 || len(plan.Create) != 0 {
			t.Errorf("scaled to zero: %d slices, plan %d/%d/%d", len(slices), len(plan.Create), len(plan.Update), len(plan.Delete))
		}
	})
	t.Run("a pod turning ready updates only its slice", func(t *testing.T) {
		ps := pods(150)
		_, slices := sync(nil, ps)
		ps[140] = pod(ps[140].Name, ps[140].Status.PodIP, false, nil)
		plan, slices := sync(slices, ps)
		if len(plan.Update) != 1 || len(plan.Create)+len(plan.Delete) != 0 || count(slices) != 150 {
			t.Fatalf("plan %d/%d/%d", len(plan.Create), len(plan.Update), len(plan.Delete))
		}
	})
	t.Run("other address type deleted", func(t *testing.T) {
		v6 := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-v6"}, AddressType: discoveryv1.AddressTypeIPv6}
		plan, _ := sync([]*discoveryv1.EndpointSlice{v6}, pods(1))
		if len(plan.Delete) != 1 || plan.Delete[0].Name != "web-v6" || len(plan.Create) != 1 {
			t.Errorf("plan %+v", plan)
		}
	})
}
