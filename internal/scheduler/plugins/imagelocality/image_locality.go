// Package imagelocality prefers nodes that already hold the pod's container images, weighting
// each image by its size and by how widely it is spread (so that one node holding a popular
// image does not attract every pod).
package imagelocality

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "ImageLocality"

const mb int64 = 1024 * 1024

// Upstream's thresholds: below 23 MB the score is 0; the sum saturates at 1000 MB a container.
const (
	MinThreshold          = 23 * mb
	MaxContainerThreshold = 1000 * mb
)

const preScoreKey framework.StateKey = "PreScore" + Name

// ImageLocality is the score plugin.
type ImageLocality struct{}

var (
	_ framework.PreScorePlugin = ImageLocality{}
	_ framework.ScorePlugin    = ImageLocality{}
)

// Name returns Name.
func (ImageLocality) Name() string { return Name }

type image struct {
	name   string
	spread float64 // nodes holding it / all nodes
}

type preScoreState struct {
	images     []image
	containers int
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore resolves the pod's images and their spread over the cluster.
func (ImageLocality) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, snap *framework.Snapshot, _ []*framework.NodeInfo) *framework.Status {
	total := snap.NumNodes()
	s := &preScoreState{containers: len(pod.Spec.InitContainers) + len(pod.Spec.Containers)}
	add := func(cs []v1.Container) {
		for _, c := range cs {
			n := framework.NormalizedImageName(c.Image)
			spread := 0.0
			if total > 0 {
				spread = float64(snap.ImageNumNodes[n]) / float64(total)
			}
			s.images = append(s.images, image{n, spread})
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	state.Write(preScoreKey, s)
	return nil
}

// ScoreFor returns the score of a node holding images of the given sizes (0 when absent) and
// spreads, for a pod with containers containers.
func ScoreFor(sizes []int64, spreads []float64, containers int) int64 {
	var sum int64
	for i := range sizes {
		sum += int64(float64(sizes[i]) * spreads[i])
	}
	maxT := MaxContainerThreshold * int64(containers)
	if sum < MinThreshold {
		sum = MinThreshold
	} else if sum > maxT {
		sum = maxT
	}
	if maxT == MinThreshold {
		return 0
	}
	return framework.MaxNodeScore * (sum - MinThreshold) / (maxT - MinThreshold)
}

// Score scores a node by the images it already holds.
func (ImageLocality) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	s := d.(*preScoreState)
	var sum int64
	for _, img := range s.images {
		if size, ok := ni.ImageSizes[img.name]; ok {
			sum += int64(float64(size) * img.spread)
		}
	}
	maxT := MaxContainerThreshold * int64(s.containers)
	if sum < MinThreshold {
		sum = MinThreshold
	} else if sum > maxT {
		sum = maxT
	}
	return framework.MaxNodeScore * (sum - MinThreshold) / (maxT - MinThreshold), nil
}

// ScoreExtensions returns nil.
func (ImageLocality) ScoreExtensions() framework.ScoreExtensions { return nil }
