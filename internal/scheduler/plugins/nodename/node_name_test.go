package nodename

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFits(t *testing.T) {
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo"}}
	for _, tc := range []struct {
		name, nodeName string
		want           bool
	}{{"no node name", "", true}, {"same node", "foo", true}, {"other node", "bar", false}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Fits(&v1.Pod{Spec: v1.PodSpec{NodeName: tc.nodeName}}, node); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
