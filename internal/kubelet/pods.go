package kubelet

import corev1 "k8s.io/api/core/v1"

// GetPod returns the pod namespace/name bound to the node, as the kubelet last saw it, with the
// status the kubelet last computed for it. The node's streaming server looks pods up with it.
func (kl *Kubelet) GetPod(namespace, name string) (*corev1.Pod, bool) {
	for _, w := range kl.podWorkers() {
		if p := w.current(); p != nil && p.Namespace == namespace && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Pods returns the pods bound to the node that the kubelet knows, with the status it last
// computed for them.
func (kl *Kubelet) Pods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, w := range kl.podWorkers() {
		if p := w.current(); p != nil {
			out = append(out, p)
		}
	}
	return out
}

func (kl *Kubelet) podWorkers() []*podWorker {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	ws := make([]*podWorker, 0, len(kl.workers))
	for _, w := range kl.workers {
		ws = append(ws, w)
	}
	return ws
}

// current returns a copy of the worker's pod with its latest status, or nil once the pod is
// gone from the API.
func (w *podWorker) current() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pod == nil || w.gone {
		return nil
	}
	if w.status == nil {
		return w.pod
	}
	p := w.pod.DeepCopy()
	p.Status = *w.status.DeepCopy()
	return p
}
