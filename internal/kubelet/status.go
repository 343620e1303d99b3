package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/kubelet/eviction"
)

// Upstream's pod condition reasons (pkg/kubelet/status).
const (
	ReasonPodCompleted             = "PodCompleted"
	ReasonPodFailed                = "PodFailed"
	ReasonContainersNotReady       = "ContainersNotReady"
	ReasonContainersNotInitialized = "ContainersNotInitialized"
	ReasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
	// statusRetry is how long a failed status update waits before it is tried again.
	statusRetry = time.Second
)

// kubeletConditions are the pod condition types the kubelet owns.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodScheduled: true, corev1.PodReady: true, corev1.PodInitialized: true,
	corev1.ContainersReady: true, corev1.PodReadyToStartContainers: true,
}

// generatePodStatus computes the pod's status from the worker and the runtime's containers, as
// upstream's generateAPIPodStatus does.
func (kl *Kubelet) generatePodStatus(w *podWorker, pod *corev1.Pod, ctrs []Container, now time.Time) *corev1.PodStatus {
	old := w.status
	if old == nil {
		old = &pod.Status
	}
	s := &corev1.PodStatus{QOSClass: pod.Status.QOSClass, ObservedGeneration: pod.Generation}
	if s.QOSClass == "" {
		s.QOSClass = qosClass(pod)
	}
	for _, c := range pod.Status.Conditions {
		if !kubeletConditions[c.Type] && !(w.evicted && c.Type == corev1.DisruptionTarget) {
			s.Conditions = append(s.Conditions, c)
		}
	}
	if w.evicted {
		s.Conditions = append(s.Conditions, disruptionTarget(w.message, old, now))
	}
	if w.rejected {
		s.Phase, s.Reason, s.Message = corev1.PodFailed, w.reason, w.message
		return s
	}
	s.HostIP, s.HostIPs = firstIP(kl.hostIPs), kl.hostIPs
	for _, ip := range w.ips {
		s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
	}
	if len(s.PodIPs) > 0 {
		s.PodIP = s.PodIPs[0].IP
	}
	s.StartTime = w.startTime
	s.InitContainerStatuses, s.ContainerStatuses = kl.containerStatuses(w, pod, ctrs)
	all := append(append([]corev1.ContainerStatus(nil), s.InitContainerStatuses...), s.ContainerStatuses...)
	s.Phase = w.terminalPhase
	if s.Phase == "" {
		s.Phase = phaseOf(pod, all, false)
	}
	if w.failed {
		s.Reason, s.Message = w.reason, w.message
	}
	ready := podReadyCondition(pod, s.Conditions, all, s.Phase)
	s.Conditions = append(s.Conditions,
		readyToStartCondition(w.sandboxReady),
		initializedCondition(pod, all, s.Phase),
		ready,
		containersReadyCondition(pod, all, s.Phase),
		corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	)
	t := metav1.NewTime(now.Truncate(time.Second))
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if !kubeletConditions[c.Type] {
			continue
		}
		c.ObservedGeneration = pod.Generation
		c.LastTransitionTime = t
		for _, o := range old.Conditions {
			if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return s
}

func firstIP(ips []corev1.HostIP) string {
	if len(ips) == 0 {
		return ""
	}
	return ips[0].IP
}

func readyToStartCondition(sandboxReady bool) corev1.PodCondition {
	if sandboxReady {
		return corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue}
	}
	return corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse}
}

// containerStatuses returns the init and app container statuses.
func (kl *Kubelet) containerStatuses(w *podWorker, pod *corev1.Pod, ctrs []Container) (init, app []corev1.ContainerStatus) {
	def := ReasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		def = ReasonPodInitializing
	}
	stopping := w.terminating || w.terminalPhase != ""
	for i := range pod.Spec.InitContainers {
		init = append(init, containerStatus(w, pod, &pod.Spec.InitContainers[i], true, ctrs, def, stopping))
	}
	for i := range pod.Spec.Containers {
		app = append(app, containerStatus(w, pod, &pod.Spec.Containers[i], false, ctrs, def, stopping))
	}
	return init, app
}

func terminated(c *Container) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode: c.ExitCode, Reason: c.Reason, ContainerID: c.ID,
		StartedAt:  metav1.NewTime(c.StartedAt.Truncate(time.Second)),
		FinishedAt: metav1.NewTime(c.FinishedAt.Truncate(time.Second)),
	}
}

func containerStatus(w *podWorker, pod *corev1.Pod, c *corev1.Container, init bool, ctrs []Container, def string, stopping bool) corev1.ContainerStatus {
	cur, prev := latest(ctrs, c.Name)
	s := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false)}
	cs := w.containers[c.Name]
	if cur == nil {
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: def}
		if cs != nil && cs.waitingReason != "" {
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: cs.waitingReason, Message: cs.waitingMessage}
		}
		return s
	}
	s.ContainerID, s.ImageID, s.RestartCount = cur.ID, cur.ImageID, cur.Attempt
	if prev != nil && cur.State != ContainerExited {
		s.LastTerminationState.Terminated = terminated(prev)
	}
	switch cur.State {
	case ContainerCreated:
		s.State.Waiting = &corev1.ContainerStateWaiting{Reason: ReasonContainerCreating}
	case ContainerRunning:
		s.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(cur.StartedAt.Truncate(time.Second))}
		started := c.StartupProbe == nil
		ready := false
		if cs != nil && cs.id == cur.ID {
			started, ready = cs.started, cs.ready
		} else if c.ReadinessProbe == nil && started {
			ready = true
		}
		if init && !isSidecar(c) {
			ready = false
		}
		s.Started, s.Ready = ptr.To(started), ready && !stopping
	case ContainerExited:
		if cs != nil && cs.waitingReason == ReasonCrashLoopBackOff && cs.backoffFor == cur.ID && !stopping {
			s.State.Waiting = &corev1.ContainerStateWaiting{Reason: cs.waitingReason, Message: cs.waitingMessage}
			s.LastTerminationState.Terminated = terminated(cur)
		} else {
			s.State.Terminated = terminated(cur)
			if prev != nil {
				s.LastTerminationState.Terminated = terminated(prev)
			}
			s.Ready = init && !isSidecar(c) && cur.ExitCode == 0
		}
	}
	return s
}

func findStatus(all []corev1.ContainerStatus, name string) (corev1.ContainerStatus, bool) {
	for _, s := range all {
		if s.Name == name {
			return s, true
		}
	}
	return corev1.ContainerStatus{}, false
}

// phaseOf is upstream's getPhase: the pod phase from its container statuses. terminal says
// that every container has stopped for good (the pod was deleted or finished).
func phaseOf(pod *corev1.Pod, all []corev1.ContainerStatus, terminal bool) corev1.PodPhase {
	pendingInit, failedInit, pendingSidecars := 0, 0, 0
	initialized := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s, ok := findStatus(all, c.Name)
		if isSidecar(c) {
			if !ok || s.State.Running == nil || s.Started == nil || !*s.Started {
				pendingSidecars++
			}
			continue
		}
		switch {
		case !ok, s.State.Running != nil:
			pendingInit++
		case s.State.Terminated != nil:
			if s.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case s.State.Waiting != nil && s.LastTerminationState.Terminated != nil:
			if s.LastTerminationState.Terminated.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
		if !ok || s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
			initialized = false
		}
	}
	running, waiting, stopped, succeeded, unknown := 0, 0, 0, 0, 0
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if s, ok := findStatus(all, c.Name); ok && isSidecar(c) && s.State.Running != nil {
			running++
		}
	}
	for i := range pod.Spec.Containers {
		s, ok := findStatus(all, pod.Spec.Containers[i].Name)
		switch {
		case !ok:
			unknown++
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.State.Waiting != nil && s.LastTerminationState.Terminated != nil:
			stopped++
		case s.State.Waiting != nil:
			waiting++
		default:
			unknown++
		}
	}
	if failedInit > 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	anyStarted := running > 0 || stopped > 0
	switch {
	case pendingInit > 0 || (pendingSidecars > 0 && !(initialized && anyStarted)) || waiting > 0:
		if terminal {
			return corev1.PodFailed
		}
		return corev1.PodPending
	case running > 0 && unknown == 0:
		if terminal {
			return corev1.PodFailed
		}
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if terminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodRunning
	default:
		if terminal {
			return corev1.PodFailed
		}
		return corev1.PodPending
	}
}

func initializedCondition(pod *corev1.Pod, all []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	var incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s, _ := findStatus(all, c.Name)
		if isSidecar(c) {
			if s.Started == nil || !*s.Started {
				incomplete = append(incomplete, c.Name)
			}
		} else if !s.Ready {
			incomplete = append(incomplete, c.Name)
		}
	}
	cond := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if phase == corev1.PodSucceeded {
		cond.Reason = ReasonPodCompleted
		return cond
	}
	for i := range pod.Spec.Containers {
		if s, ok := findStatus(all, pod.Spec.Containers[i].Name); ok && (s.State.Running != nil || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil) {
			return cond
		}
	}
	if len(incomplete) > 0 {
		cond.Status, cond.Reason = corev1.ConditionFalse, ReasonContainersNotInitialized
		cond.Message = fmt.Sprintf("containers with incomplete status: %s", fmt.Sprint(incomplete))
	}
	return cond
}

func containersReadyCondition(pod *corev1.Pod, all []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	switch phase {
	case corev1.PodSucceeded:
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: ReasonPodCompleted}
	case corev1.PodFailed:
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: ReasonPodFailed}
	}
	var unready []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if s, _ := findStatus(all, c.Name); isSidecar(c) && !s.Ready {
			unready = append(unready, c.Name)
		}
	}
	for i := range pod.Spec.Containers {
		if s, _ := findStatus(all, pod.Spec.Containers[i].Name); !s.Ready {
			unready = append(unready, pod.Spec.Containers[i].Name)
		}
	}
	if len(unready) > 0 {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: ReasonContainersNotReady,
			Message: fmt.Sprintf("containers with unready status: %s", fmt.Sprint(unready))}
	}
	return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
}

func podReadyCondition(pod *corev1.Pod, conds []corev1.PodCondition, all []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	cr := containersReadyCondition(pod, all, phase)
	if cr.Status != corev1.ConditionTrue {
		return corev1.PodCondition{Type: corev1.PodReady, Status: cr.Status, Reason: cr.Reason, Message: cr.Message}
	}
	var msgs []string
	for _, rg := range pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range conds {
			if conds[i].Type == rg.ConditionType {
				found = &conds[i]
			}
		}
		if found == nil {
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		} else if found.Status != corev1.ConditionTrue {
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), found.Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: ReasonReadinessGatesNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
}

// qosClass is the pod's quality of service class (upstream's GetPodQOS, without pod-level
// resources).
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		for name, q := range c.Resources.Requests {
			if (name == corev1.ResourceCPU || name == corev1.ResourceMemory) && !q.IsZero() {
				requests[name] = q
			}
		}
		n := 0
		for name, q := range c.Resources.Limits {
			if (name == corev1.ResourceCPU || name == corev1.ResourceMemory) && !q.IsZero() {
				limits[name] = q
				n++
			}
		}
		if n != 2 {
			guaranteed = false
		}
		for name, q := range c.Resources.Requests {
			if l, ok := c.Resources.Limits[name]; (name == corev1.ResourceCPU || name == corev1.ResourceMemory) && (!ok || l.Cmp(q) != 0) {
				guaranteed = false
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func podStatusEqual(a, b *corev1.PodStatus) bool { return equality.Semantic.DeepEqual(a, b) }

// disruptionTarget is the condition of an evicted pod, keeping the transition time it had.
func disruptionTarget(msg string, old *corev1.PodStatus, now time.Time) corev1.PodCondition {
	c := eviction.DisruptionTarget(msg)
	c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
	for _, o := range old.Conditions {
		if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
			c.LastTransitionTime = o.LastTransitionTime
		}
	}
	return c
}

// admit runs admission for pod against the pods already admitted: first the node's pressure
// (upstream's eviction admission handler), then Admit.
func (kl *Kubelet) admit(pod *corev1.Pod) *Rejection {
	qos := pod.Status.QOSClass
	if qos == "" {
		qos = qosClass(pod)
	}
	if ok, reason, msg := eviction.Admit(pod, qos, kl.underPressure()); !ok {
		return &Rejection{Reason: reason, Message: msg}
	}
	kl.mu.Lock()
	node := kl.node
	kl.mu.Unlock()
	if node == nil {
		node = kl.initialNode()
	}
	return Admit(pod, node, kl.admittedPods(pod.UID))
}

// syncStatus is the status work item: it sends the pod's status when it differs from what the
// API has, as a strategic merge patch of pods/status with the pod's UID as precondition, and
// deletes a pod being deleted once it has finished (grace period 0, UID precondition), as
// upstream's status manager does. Changes made while an update waits are sent together.
func (kl *Kubelet) syncStatus(ctx context.Context, uid types.UID) {
	w := kl.worker(uid)
	if w == nil {
		return
	}
	w.mu.Lock()
	status, pod, finished, base := w.status, w.pod, w.finished, w.sent
	w.mu.Unlock()
	if status == nil || pod == nil {
		return
	}
	self := workKey{kl: kl, kind: workStatus, uid: uid}
	if base == nil {
		base = &pod.Status
	}
	if !podStatusEqual(base, status) {
		patch, err := statusPatch(uid, base, status)
		if err != nil {
			kl.log.Error("status patch", "pod", pod.Name, "err", err)
			return
		}
		updated, err := kl.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return
			}
			kl.log.Warn("failed to update status for pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			kl.sched.schedule(self, kl.clock.Now().Add(statusRetry))
			return
		}
		// A copy: a pointer into updated would keep the whole returned pod (spec,
		// managedFields) alive next to the informer's, doubling a pod's memory.
		sent := updated.Status.DeepCopy()
		w.mu.Lock()
		w.sent = sent
		w.mu.Unlock()
	}
	if finished && pod.DeletionTimestamp != nil {
		err := kl.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			kl.log.Warn("failed to delete status for pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			kl.sched.schedule(self, kl.clock.Now().Add(statusRetry))
		}
	}
}

// statusPatch is upstream's status patch: a two-way strategic merge patch from the old status to
// the new one, carrying metadata.uid so that it fails on a different pod of the same name.
func statusPatch(uid types.UID, old, new *corev1.PodStatus) ([]byte, error) {
	oldData, err := json.Marshal(corev1.Pod{Status: *old})
	if err != nil {
		return nil, err
	}
	newData, err := json.Marshal(corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: uid}, Status: *new})
	if err != nil {
		return nil, err
	}
	return strategicpatch.CreateTwoWayMergePatch(oldData, newData, corev1.Pod{})
}
