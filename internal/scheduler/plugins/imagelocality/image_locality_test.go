package imagelocality

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

func TestScore(t *testing.T) {
	node := func(name string, images ...v1.ContainerImage) *v1.Node {
		return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{Images: images}}
	}
	big := v1.ContainerImage{Names: []string{"gcr.io/250:latest"}, SizeBytes: 250 * mb}
	small := v1.ContainerImage{Names: []string{"gcr.io/10"}, SizeBytes: 10 * mb}
	for _, tc := range []struct {
		name   string
		images []string
		nodes  []*v1.Node
		want   map[string]int64
	}{
		// One 250 MB image on one of two nodes: spread 1/2 -> 125 MB;
		// 100 * (125 - 23) / (1000 - 23) = 10.
		{"image on one of two nodes", []string{"gcr.io/250"}, []*v1.Node{node("has", big), node("hasnot")},
			map[string]int64{"has": 10, "hasnot": 0}},
		{"below the 23 MB threshold scores 0", []string{"gcr.io/10:latest"}, []*v1.Node{node("has", small), node("hasnot")},
			map[string]int64{"has": 0, "hasnot": 0}},
		// On both nodes: spread 1 -> 250 MB; 100 * 227 / 977 = 23.
		{"image everywhere", []string{"gcr.io/250:latest"}, []*v1.Node{node("a", big), node("b", big)},
			map[string]int64{"a": 23, "b": 23}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cs []v1.Container
			for _, img := range tc.images {
				cs = append(cs, v1.Container{Name: "c", Image: img})
			}
			pod := &v1.Pod{Spec: v1.PodSpec{Containers: cs}}
			snap := framework.NewSnapshot(nil, tc.nodes)
			pl := ImageLocality{}
			state := framework.NewCycleState()
			pl.PreScore(context.Background(), state, pod, snap, nil)
			for name, want := range tc.want {
				if got, _ := pl.Score(context.Background(), state, pod, snap.Get(name)); got != want {
					t.Errorf("%s: %d, want %d", name, got, want)
				}
			}
		})
	}
}
