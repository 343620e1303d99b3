package nodeports

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

func portPod(ports ...v1.ContainerPort) *v1.Pod {
	return &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Ports: ports}}}}
}

func TestFilter(t *testing.T) {
	p := func(ip string, proto v1.Protocol, port int32) v1.ContainerPort {
		return v1.ContainerPort{HostIP: ip, Protocol: proto, HostPort: port, ContainerPort: port}
	}
	conflict := framework.NewStatus(framework.Unschedulable, ErrReason)
	for _, tc := range []struct {
		name     string
		pod      *v1.Pod
		existing []*v1.Pod
		want     *framework.Status
	}{
		{"no ports on node", portPod(p("", "TCP", 8080)), nil, nil},
		{"same port, other protocol", portPod(p("", "UDP", 8080)), []*v1.Pod{portPod(p("", "TCP", 8080))}, nil},
		{"same port and protocol", portPod(p("", "TCP", 8080)), []*v1.Pod{portPod(p("", "TCP", 8080))}, conflict},
		{"different host IPs", portPod(p("127.0.0.1", "TCP", 8080)), []*v1.Pod{portPod(p("127.0.0.2", "TCP", 8080))}, nil},
		{"wildcard conflicts with a specific IP", portPod(p("0.0.0.0", "TCP", 8001)), []*v1.Pod{portPod(p("127.0.0.1", "TCP", 8001))}, conflict},
		{"specific IP conflicts with wildcard", portPod(p("127.0.0.1", "TCP", 8001)), []*v1.Pod{portPod(p("", "TCP", 8001))}, conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ni := framework.NewNodeInfo(tc.existing...)
			ni.SetNode(&v1.Node{})
			state := framework.NewCycleState()
			pl := NodePorts{}
			if s := pl.PreFilter(context.Background(), state, tc.pod, nil); !s.IsSuccess() {
				t.Fatal(s)
			}
			if got := pl.Filter(context.Background(), state, tc.pod, ni); !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if s := (NodePorts{}).PreFilter(context.Background(), framework.NewCycleState(), portPod(), nil); !s.IsSkip() {
		t.Errorf("pod without host ports: PreFilter %v, want Skip", s)
	}
}
