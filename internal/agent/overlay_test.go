package agent

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/network/podnet"
)

func node(name string, podCIDRs []string, podCIDR string, ann map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: corev1.NodeSpec{PodCIDRs: podCIDRs, PodCIDR: podCIDR}}
}

func TestPeersFromNodes(t *testing.T) {
	ann := map[string]string{podnet.AnnotationBackend: "vxlan"}
	got := peersFromNodes([]*corev1.Node{
		node("b", []string{"10.42.1.0/24", "fd00::/64"}, "10.42.1.0/24", ann),
		node("a", nil, "10.42.0.0/24", nil),
		node("c", nil, "", nil),
	})
	want := []podnet.Peer{
		{Name: "a", PodCIDRs: []string{"10.42.0.0/24"}},
		{Name: "b", PodCIDRs: []string{"10.42.1.0/24", "fd00::/64"}, Annotations: ann},
		{Name: "c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("peersFromNodes = %+v, want %+v", got, want)
	}
}

func TestOverlayRelevantChange(t *testing.T) {
	base := func() *corev1.Node {
		return node("a", []string{"10.42.0.0/24"}, "", map[string]string{podnet.AnnotationPublicIP: "192.0.2.1", "other": "1"})
	}
	tests := []struct {
		name string
		edit func(*corev1.Node)
		want bool
	}{
		{"status heartbeat", func(n *corev1.Node) { n.Status.Conditions = []corev1.NodeCondition{{Type: "Ready"}} }, false},
		{"another annotation", func(n *corev1.Node) { n.Annotations["other"] = "2" }, false},
		{"podCIDRs", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.42.9.0/24"} }, true},
		{"public IP", func(n *corev1.Node) { n.Annotations[podnet.AnnotationPublicIP] = "192.0.2.9" }, true},
		{"VTEP MAC appears", func(n *corev1.Node) { n.Annotations[podnet.AnnotationVTEPMAC] = "02:00:00:00:00:01" }, true},
		{"backend", func(n *corev1.Node) { n.Annotations[podnet.AnnotationBackend] = "host-gw" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := base()
			tt.edit(cur)
			if got := overlayRelevantChange(base(), cur); got != tt.want {
				t.Errorf("overlayRelevantChange = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnnotationsMissing(t *testing.T) {
	want := map[string]string{"a": "1", "b": "2"}
	for _, tt := range []struct {
		have    map[string]string
		missing bool
	}{
		{nil, true},
		{map[string]string{"a": "1"}, true},
		{map[string]string{"a": "1", "b": "3"}, true},
		{map[string]string{"a": "1", "b": "2", "c": "x"}, false},
	} {
		if got := annotationsMissing(tt.have, want); got != tt.missing {
			t.Errorf("annotationsMissing(%v) = %v, want %v", tt.have, got, tt.missing)
		}
	}
}
