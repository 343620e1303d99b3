package streaming

import (
	"encoding/json"
	"net/http"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiff-project/skiff/internal/kubelet"
)

// sortedPods returns the node's pods by namespace and name.
func (s *Server) sortedPods() []*corev1.Pod {
	pods := s.cfg.Pods.Pods()
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
	return pods
}

// servePods serves /pods: the node's pods as a v1 PodList.
func (s *Server) servePods(w http.ResponseWriter, r *http.Request) {
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for _, p := range s.sortedPods() {
		list.Items = append(list.Items, *p)
	}
	if list.Items == nil {
		list.Items = []corev1.Pod{}
	}
	writeJSON(w, list)
}

// serveSummary serves /stats/summary from the runtime's per-pod stats. The node's CPU and
// memory are the sums over its pods (the runtime measures no more than its containers).
func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	now := metav1.NewTime(s.cfg.Now())
	sum := statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{NodeName: s.cfg.NodeName, StartTime: metav1.NewTime(s.start)}}
	var nodeCPU, nodeCPUTotal, nodeMem uint64
	for _, pod := range s.sortedPods() {
		st, err := s.cfg.Runtime.Stats(r.Context(), pod.UID)
		if err != nil {
			continue // no sandbox yet, or gone
		}
		cs, _ := s.cfg.Runtime.ListContainers(r.Context(), pod.UID)
		ps := statsv1alpha1.PodStats{
			PodRef:    statsv1alpha1.PodReference{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID)},
			StartTime: pod.CreationTimestamp,
		}
		if pod.Status.StartTime != nil {
			ps.StartTime = *pod.Status.StartTime
		}
		t := metav1.NewTime(st.Time)
		var podCPU, podCPUTotal, podMem uint64
		for _, c := range st.Containers {
			cpu, total, mem := c.CPUUsageNanoCores, c.CPUUsageCoreNanoSec, c.MemoryWorkingSet
			ps.Containers = append(ps.Containers, statsv1alpha1.ContainerStats{
				Name:      c.Name,
				StartTime: containerStart(cs, c.Name),
				CPU:       &statsv1alpha1.CPUStats{Time: t, UsageNanoCores: &cpu, UsageCoreNanoSeconds: &total},
				Memory:    &statsv1alpha1.MemoryStats{Time: t, WorkingSetBytes: &mem},
			})
			podCPU, podCPUTotal, podMem = podCPU+cpu, podCPUTotal+total, podMem+mem
		}
		ps.CPU = &statsv1alpha1.CPUStats{Time: t, UsageNanoCores: &podCPU, UsageCoreNanoSeconds: &podCPUTotal}
		ps.Memory = &statsv1alpha1.MemoryStats{Time: t, WorkingSetBytes: &podMem}
		sum.Pods = append(sum.Pods, ps)
		nodeCPU, nodeCPUTotal, nodeMem = nodeCPU+podCPU, nodeCPUTotal+podCPUTotal, nodeMem+podMem
	}
	sum.Node.CPU = &statsv1alpha1.CPUStats{Time: now, UsageNanoCores: &nodeCPU, UsageCoreNanoSeconds: &nodeCPUTotal}
	sum.Node.Memory = &statsv1alpha1.MemoryStats{Time: now, WorkingSetBytes: &nodeMem}
	if sum.Pods == nil {
		sum.Pods = []statsv1alpha1.PodStats{}
	}
	writeJSON(w, sum)
}

// containerStart is when the running container named name started.
func containerStart(cs []kubelet.Container, name string) metav1.Time {
	c, _ := latest(cs, name)
	if c == nil {
		return metav1.Time{}
	}
	return metav1.NewTime(c.StartedAt)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
