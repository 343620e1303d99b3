package eviction

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// PodStats is one pod's usage of what the signals measure.
type PodStats struct {
	// Memory is the working set of the pod's containers, in bytes.
	Memory int64
	// EphemeralStorage and Inodes are what the pod holds on the node's disk: its
	// containers' writable layers and logs and its emptyDir volumes (measured only under
	// disk pressure).
	EphemeralStorage, Inodes int64
	// Processes is the number of tasks in the pod's cgroup.
	Processes int64
	// Containers break Memory and EphemeralStorage down by container, for the eviction
	// message.
	Containers []ContainerStats
}

// ContainerStats is one container's part of PodStats.
type ContainerStats struct {
	Name string
	// Memory is the container's working set; EphemeralStorage its writable layer and logs.
	Memory, EphemeralStorage int64
}

// StatsFunc returns a pod's stats, or false when they could not be measured.
type StatsFunc func(pod *corev1.Pod) (PodStats, bool)

// cmpFunc orders two pods for eviction: negative puts a before b.
type cmpFunc func(a, b *corev1.Pod) int

// Rank orders pods for eviction under the signal's pressure, the first to go first, as
// upstream's kubelet does:
//
//   - memory.available: pods whose working set exceeds their memory requests, then lower
//     priority, then larger usage above requests;
//   - the disk signals: the same over ephemeral-storage (bytes or inodes);
//   - pid.available: lower priority, then more processes.
//
// Pods whose stats are missing go first. The sort is stable.
func Rank(signal Signal, pods []*corev1.Pod, stats StatsFunc) {
	var cmps []cmpFunc
	switch res := signal.Resource(); res {
	case corev1.ResourceMemory:
		cmps = []cmpFunc{exceedsRequests(stats, res, memoryUsage), byPriority, aboveRequests(stats, res, memoryUsage)}
	case corev1.ResourceEphemeralStorage:
		cmps = []cmpFunc{exceedsRequests(stats, res, diskUsage), byPriority, aboveRequests(stats, res, diskUsage)}
	case ResourceInodes:
		cmps = []cmpFunc{exceedsRequests(stats, res, inodeUsage), byPriority, aboveRequests(stats, res, inodeUsage)}
	case ResourcePIDs:
		cmps = []cmpFunc{byPriority, byProcesses(stats)}
	default:
		return
	}
	sort.SliceStable(pods, func(i, j int) bool {
		for _, c := range cmps {
			if r := c(pods[i], pods[j]); r != 0 {
				return r < 0
			}
		}
		return false
	})
}

func memoryUsage(s PodStats) int64 { return s.Memory }
func diskUsage(s PodStats) int64   { return s.EphemeralStorage }
func inodeUsage(s PodStats) int64  { return s.Inodes }

// request returns the pod's request of res (init containers and overhead counted as the
// scheduler does); 0 for inodes and PIDs, which cannot be requested.
func request(pod *corev1.Pod, res corev1.ResourceName) int64 {
	q, ok := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})[res]
	if !ok {
		return 0
	}
	return q.Value()
}

// cmpBool puts true before false.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	default:
		return 1
	}
}

// withStats compares pods that both have stats with cmp; a pod without stats goes first.
func withStats(stats StatsFunc, cmp func(a, b PodStats, pa, pb *corev1.Pod) int) cmpFunc {
	return func(pa, pb *corev1.Pod) int {
		a, okA := stats(pa)
		b, okB := stats(pb)
		if !okA || !okB {
			return cmpBool(!okA, !okB)
		}
		return cmp(a, b, pa, pb)
	}
}

func exceedsRequests(stats StatsFunc, res corev1.ResourceName, usage func(PodStats) int64) cmpFunc {
	return withStats(stats, func(a, b PodStats, pa, pb *corev1.Pod) int {
		return cmpBool(usage(a) > request(pa, res), usage(b) > request(pb, res))
	})
}

func aboveRequests(stats StatsFunc, res corev1.ResourceName, usage func(PodStats) int64) cmpFunc {
	return withStats(stats, func(a, b PodStats, pa, pb *corev1.Pod) int {
		return cmpInt64(usage(b)-request(pb, res), usage(a)-request(pa, res))
	})
}

func byProcesses(stats StatsFunc) cmpFunc {
	return withStats(stats, func(a, b PodStats, _, _ *corev1.Pod) int {
		return cmpInt64(b.Processes, a.Processes)
	})
}

// byPriority puts lower priority first.
func byPriority(a, b *corev1.Pod) int {
	return cmpInt64(int64(corev1helpers.PodPriority(a)), int64(corev1helpers.PodPriority(b)))
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// quantity formats v as upstream's messages do: binary suffixes for bytes, decimal for counts.
func quantity(v int64, res corev1.ResourceName) string {
	format := resource.BinarySI
	if res == ResourceInodes || res == ResourcePIDs {
		format = resource.DecimalSI
	}
	return resource.NewQuantity(v, format).String()
}
