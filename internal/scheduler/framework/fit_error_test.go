package framework

import "testing"

func TestFitErrorMessage(t *testing.T) {
	m := NodeToStatus{
		"a": NewStatus(Unschedulable, "Insufficient cpu"),
		"b": NewStatus(Unschedulable, "Insufficient cpu", "Insufficient memory"),
		"c": NewStatus(UnschedulableAndUnresolvable, "node(s) had untolerated taint {key: value}"),
	}
	fe := &FitError{NumAllNodes: 3, NodeToStatus: m, PostFilterMsg: "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."}
	want := "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {key: value}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	if got := fe.Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
