package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Upstream's container waiting reasons and pod reasons.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonRunContainerError          = "RunContainerError"
	ReasonDeadlineExceeded           = "DeadlineExceeded"
	messageDeadlineExceeded          = "Pod was active on the node longer than the specified deadline"
	eventPulling                     = "Pulling"
	eventPulled                      = "Pulled"
	eventFailed                      = "Failed"
	eventCreated                     = "Created"
	eventStarted                     = "Started"
	eventKilling                     = "Killing"
	eventBackOff                     = "BackOff"
	eventUnhealthy                   = "Unhealthy"
	eventFailedCreatePodSandBox      = "FailedCreatePodSandBox"
	// minimumGracePeriod is upstream's floor on a container's stop grace period.
	minimumGracePeriod = 2 * time.Second
)

// podWorker is one pod's state machine. Its work item (syncPod) is the only writer of the fields
// below mu's; HandlePod and the status item share the ones guarded by mu.
type podWorker struct {
	uid types.UID

	mu     sync.Mutex
	pod    *corev1.Pod // latest from the source; never mutated
	gone   bool
	status *corev1.PodStatus // last computed
	// finished is true once the pod is terminal and its sandbox removed.
	finished bool
	// wakes are changes the runtime announced for later.
	wakes []time.Time
	// evictMessage is set by the eviction loop: the pod is to be evicted with that message.
	evictMessage string

	admitted     bool
	rejected     bool
	sandboxReady bool
	ips          []string
	startTime    *metav1.Time
	// terminating: the containers are being stopped (deletion, deadline, or a finished pod's
	// sidecars); grace is the stop grace period.
	terminating bool
	grace       time.Duration
	// failed forces phase Failed with reason and message (rejection, deadline).
	failed          bool
	reason, message string
	// evicted: the pod is being (or was) evicted for node pressure.
	evicted       bool
	terminalPhase corev1.PodPhase
	containers    map[string]*containerState
	// final is the last container list, kept once the sandbox is removed.
	final []Container
	// volumesReady: every volume was set up once; volumeRetry is the back-off of failed
	// set-ups; cleaned: the volumes are torn down and the pod's objects released.
	volumesReady bool
	volumeRetry  time.Duration
	cleaned      bool

	// Owned by the status item.
	sent *corev1.PodStatus
}

// containerState is what the kubelet tracks about one container beyond the runtime's view.
type containerState struct {
	id      string // the runtime container the fields below belong to
	started bool   // startup probe passed (or there is none)
	ready   bool
	probes  [3]probeState
	// stopGrace is the grace a stop of id was requested with (0: none requested).
	stopGrace time.Duration
	// backoffFor is the exited container a BackOff event was sent for.
	backoffFor                    string
	waitingReason, waitingMessage string
}

type probeState struct {
	next                time.Time
	successes, failures int32
}

// wakeup tracks the earliest time the worker must run again.
type wakeup struct{ t time.Time }

func (w *wakeup) at(t time.Time) {
	if w.t.IsZero() || t.Before(w.t) {
		w.t = t
	}
}

func (w *podWorker) state(name string) *containerState {
	cs := w.containers[name]
	if cs == nil {
		cs = &containerState{}
		w.containers[name] = cs
	}
	return cs
}

// syncPod is the pod work item.
func (kl *Kubelet) syncPod(ctx context.Context, uid types.UID) {
	w := kl.worker(uid)
	if w == nil {
		return
	}
	now := kl.clock.Now()
	var wake wakeup
	w.mu.Lock()
	pod, gone := w.pod, w.gone
	wakes := w.wakes[:0]
	for _, t := range w.wakes {
		if t.After(now) {
			wakes = append(wakes, t)
			wake.at(t)
		}
	}
	w.wakes = wakes
	w.mu.Unlock()
	if gone {
		kl.forget(ctx, w)
		return
	}
	ctrs := kl.runPod(ctx, w, pod, now, &wake)
	status := kl.generatePodStatus(w, pod, ctrs, now)
	w.mu.Lock()
	changed := w.status == nil || !podStatusEqual(w.status, status)
	w.status = status
	w.finished = w.terminalPhase != "" && !w.sandboxReady && w.cleaned
	w.mu.Unlock()
	if changed || (pod.DeletionTimestamp != nil && w.terminalPhase != "") {
		kl.sched.schedule(workKey{kl: kl, kind: workStatus, uid: uid}, now)
	}
	if !wake.t.IsZero() {
		kl.sched.schedule(workKey{kl: kl, kind: workPod, uid: uid}, wake.t)
	}
}

// endSandbox ends a finished pod's sandbox: stopped, keeping its exited containers and their
// logs until the pod is deleted, where the runtime can (SandboxStopper), else removed.
func (kl *Kubelet) endSandbox(ctx context.Context, uid types.UID) error {
	if stopper, ok := kl.runtime.(SandboxStopper); ok {
		return stopper.StopSandbox(ctx, uid)
	}
	return kl.runtime.RemoveSandbox(ctx, uid)
}

// forget removes a pod that left the API: its sandbox and everything known about it.
func (kl *Kubelet) forget(ctx context.Context, w *podWorker) {
	if err := kl.runtime.RemoveSandbox(ctx, w.uid); err != nil {
		kl.log.Warn("remove sandbox", "pod", w.uid, "err", err)
	}
	// Housekeeping retries what is left.
	kl.cleanupPod(w.uid)
	kl.mu.Lock()
	delete(kl.workers, w.uid)
	kl.mu.Unlock()
}

// admittedPods returns the pods admitted and not finished, but for except.
func (kl *Kubelet) admittedPods(except types.UID) []*corev1.Pod {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	var out []*corev1.Pod
	for uid, w := range kl.workers {
		if uid == except {
			continue
		}
		w.mu.Lock()
		if w.admitted && !w.rejected && !w.finished && w.pod != nil {
			out = append(out, w.pod)
		}
		w.mu.Unlock()
	}
	return out
}

// runPod moves the pod one step through its lifecycle and returns its containers.
func (kl *Kubelet) runPod(ctx context.Context, w *podWorker, pod *corev1.Pod, now time.Time, wake *wakeup) []Container {
	if !w.admitted {
		switch pod.Status.Phase {
		case corev1.PodSucceeded, corev1.PodFailed:
			// Finished before this kubelet saw it (a restart): nothing to run.
			w.terminalPhase, w.reason, w.message = pod.Status.Phase, pod.Status.Reason, pod.Status.Message
			w.failed = pod.Status.Phase == corev1.PodFailed
		default:
			if rej := kl.admit(pod); rej != nil {
				kl.recorder.Eventf(pod, corev1.EventTypeWarning, rej.Reason, "%s", rej.Message)
				w.rejected, w.failed, w.terminalPhase = true, true, corev1.PodFailed
				w.reason, w.message = rej.Reason, "Pod was rejected: "+rej.Message
			}
		}
		w.mu.Lock()
		w.admitted = true
		w.mu.Unlock()
	}
	if w.rejected || (w.terminalPhase != "" && !w.sandboxReady) {
		if !w.cleaned {
			if w.cleaned = kl.cleanupPod(pod.UID); !w.cleaned {
				wake.at(now.Add(time.Second))
			}
		}
		return w.final
	}
	if w.startTime == nil {
		if pod.Status.StartTime != nil {
			w.startTime = pod.Status.StartTime
		} else {
			t := metav1.NewTime(now.Truncate(time.Second))
			w.startTime = &t
		}
	}
	if w.terminalPhase == "" {
		kl.checkTermination(w, pod, now, wake)
	}
	ctrs := kl.listContainers(ctx, pod.UID)
	if w.terminating || w.terminalPhase != "" {
		if !kl.stopAll(ctx, w, pod, ctrs, now) {
			return ctrs
		}
		if w.terminalPhase == "" {
			initStatuses, appStatuses := kl.containerStatuses(w, pod, ctrs)
			w.terminalPhase = phaseOf(pod, append(initStatuses, appStatuses...), true)
			if w.failed {
				w.terminalPhase = corev1.PodFailed
			}
		}
		if w.sandboxReady {
			if err := kl.endSandbox(ctx, pod.UID); err != nil {
				kl.log.Warn("remove sandbox", "pod", pod.Name, "err", err)
				wake.at(now.Add(time.Second))
				return ctrs
			}
			w.sandboxReady = false
			w.final = ctrs
		}
		if !w.cleaned {
			if w.cleaned = kl.cleanupPod(pod.UID); !w.cleaned {
				wake.at(now.Add(time.Second))
			}
		}
		return ctrs
	}
	if !kl.prepareVolumes(ctx, w, pod, now, wake) {
		return ctrs
	}
	if !w.sandboxReady {
		kl.mu.Lock()
		cidrs := kl.podCIDRs
		kl.mu.Unlock()
		sb, err := kl.runtime.CreateSandbox(ctx, pod, cidrs)
		if err != nil {
			kl.recorder.Eventf(pod, corev1.EventTypeWarning, eventFailedCreatePodSandBox, "Failed to create pod sandbox: %v", err)
			wake.at(now.Add(InitialBackOff))
			return ctrs
		}
		w.sandboxReady, w.ips = true, sb.IPs
	}
	kl.runContainers(ctx, w, pod, ctrs, now, wake)
	ctrs = kl.listContainers(ctx, pod.UID)
	if w.terminating {
		// The regular containers are done (or an init container failed for good): stop the
		// sidecars now rather than on the next sync.
		if kl.stopAll(ctx, w, pod, ctrs, now) {
			wake.at(now)
		}
		ctrs = kl.listContainers(ctx, pod.UID)
	}
	return ctrs
}

// checkTermination starts terminating the pod on deletion or when its active deadline passed.
func (kl *Kubelet) checkTermination(w *podWorker, pod *corev1.Pod, now time.Time, wake *wakeup) {
	if pod.DeletionTimestamp != nil {
		grace := podGrace(pod)
		if pod.DeletionGracePeriodSeconds != nil {
			grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		}
		if !w.terminating || grace < w.grace {
			w.terminating, w.grace = true, grace
		}
		return
	}
	if w.checkEviction(); w.terminating {
		return
	}
	if ads := pod.Spec.ActiveDeadlineSeconds; ads != nil {
		deadline := w.startTime.Add(time.Duration(*ads) * time.Second)
		if now.Before(deadline) {
			wake.at(deadline)
			return
		}
		kl.recorder.Eventf(pod, corev1.EventTypeNormal, ReasonDeadlineExceeded, "%s", messageDeadlineExceeded)
		w.terminating, w.grace = true, podGrace(pod)
		w.failed, w.reason, w.message = true, ReasonDeadlineExceeded, messageDeadlineExceeded
	}
}

func podGrace(pod *corev1.Pod) time.Duration {
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return corev1.DefaultTerminationGracePeriodSeconds * time.Second
}

func (kl *Kubelet) listContainers(ctx context.Context, uid types.UID) []Container {
	ctrs, err := kl.runtime.ListContainers(ctx, uid)
	if err != nil {
		kl.log.Warn("list containers", "pod", uid, "err", err)
	}
	return ctrs
}

// latest returns the newest runtime container named name and the one before it.
func latest(ctrs []Container, name string) (cur, prev *Container) {
	for i := range ctrs {
		c := &ctrs[i]
		if c.Name != name {
			continue
		}
		if cur == nil || c.Attempt > cur.Attempt {
			cur, prev = c, cur
		} else if prev == nil || c.Attempt > prev.Attempt {
			prev = c
		}
	}
	return cur, prev
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// shouldRestart applies the pod's restart policy to a regular container that exited with code.
func shouldRestart(pod *corev1.Pod, c *corev1.Container, code int32) bool {
	policy := pod.Spec.RestartPolicy
	if c.RestartPolicy != nil {
		policy = corev1.RestartPolicy(*c.RestartPolicy)
	}
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return code != 0
	default:
		return true
	}
}

// runContainers starts what should run: init containers in order (sidecars stay running), then
// the app containers, restarting exited ones per the restart policy with CrashLoopBackOff.
func (kl *Kubelet) runContainers(ctx context.Context, w *podWorker, pod *corev1.Pod, ctrs []Container, now time.Time, wake *wakeup) {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur, _ := latest(ctrs, c.Name)
		if isSidecar(c) {
			switch {
			case cur == nil:
				kl.startContainer(ctx, w, pod, c, true, 0, now, wake)
				return
			case cur.State == ContainerExited:
				kl.restart(ctx, w, pod, c, true, cur, now, wake)
				return
			case cur.State == ContainerRunning:
				kl.runProbes(ctx, w, pod, c, cur, now, wake)
				if !w.state(c.Name).started {
					return
				}
			}
			continue
		}
		if cur == nil {
			kl.startContainer(ctx, w, pod, c, true, 0, now, wake)
			return
		}
		if cur.State != ContainerExited {
			return
		}
		if cur.ExitCode == 0 {
			continue
		}
		if !shouldRestart(pod, c, cur.ExitCode) {
			w.terminating, w.grace = true, podGrace(pod)
			return
		}
		kl.restart(ctx, w, pod, c, true, cur, now, wake)
		return
	}
	done := 0
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cur, _ := latest(ctrs, c.Name)
		switch {
		case cur == nil:
			kl.startContainer(ctx, w, pod, c, false, 0, now, wake)
		case cur.State == ContainerRunning:
			kl.runProbes(ctx, w, pod, c, cur, now, wake)
		case cur.State == ContainerExited:
			if shouldRestart(pod, c, cur.ExitCode) {
				kl.restart(ctx, w, pod, c, false, cur, now, wake)
			} else {
				done++
			}
		}
	}
	if done == len(pod.Spec.Containers) {
		w.terminating, w.grace = true, podGrace(pod)
	}
}

// restart starts an exited container again unless it is in CrashLoopBackOff (upstream's
// doBackOff: the back-off counts from the exit).
func (kl *Kubelet) restart(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container, init bool, cur *Container, now time.Time, wake *wakeup) {
	key := string(pod.UID) + "_" + c.Name
	cs := w.state(c.Name)
	if kl.backoff.IsInBackOffSince(key, cur.FinishedAt) {
		d := kl.backoff.Get(key)
		cs.waitingReason = ReasonCrashLoopBackOff
		cs.waitingMessage = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", d, c.Name, formatPod(pod))
		if cs.backoffFor != cur.ID {
			cs.backoffFor = cur.ID
			kl.recorder.Eventf(containerRef(pod, c, init), corev1.EventTypeWarning, eventBackOff, "Back-off restarting failed container %s in pod %s", c.Name, formatPod(pod))
		}
		wake.at(cur.FinishedAt.Add(d))
		return
	}
	kl.backoff.Next(key, cur.FinishedAt)
	kl.startContainer(ctx, w, pod, c, init, cur.Attempt+1, now, wake)
}

func formatPod(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// containerRef is the involvedObject of a container's events.
func containerRef(pod *corev1.Pod, c *corev1.Container, init bool) *corev1.ObjectReference {
	path := "spec.containers{" + c.Name + "}"
	if init {
		path = "spec.initContainers{" + c.Name + "}"
	}
	return &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: path}
}

// startContainer ensures the image, then creates and starts the container.
// The next sync follows at once (the next container may start), or after InitialBackOff on
// failure.
func (kl *Kubelet) startContainer(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container, init bool, attempt int32, now time.Time, wake *wakeup) {
	ref := containerRef(pod, c, init)
	cs := w.state(c.Name)
	wake.at(now.Add(InitialBackOff))
	if err := kl.ensureImage(ctx, pod, c, ref); err != nil {
		cs.waitingReason, cs.waitingMessage = ReasonErrImagePull, err.Error()
		return
	}
	spec, err := kl.containerSpec(ctx, w, pod, c)
	var id string
	if err == nil {
		id, err = kl.runtime.CreateContainer(ctx, pod, spec, init, attempt)
	}
	if err != nil {
		kl.recorder.Eventf(ref, corev1.EventTypeWarning, eventFailed, "Error: %v", err)
		cs.waitingReason, cs.waitingMessage = ReasonCreateContainerError, err.Error()
		if ce := (*ConfigError)(nil); errors.As(err, &ce) {
			cs.waitingReason = ReasonCreateContainerConfigError
		}
		return
	}
	kl.recorder.Eventf(ref, corev1.EventTypeNormal, eventCreated, "Container created")
	if err := kl.runtime.StartContainer(ctx, pod.UID, id); err != nil {
		kl.recorder.Eventf(ref, corev1.EventTypeWarning, eventFailed, "Error: %v", err)
		cs.waitingReason, cs.waitingMessage = ReasonRunContainerError, err.Error()
		return
	}
	kl.recorder.Eventf(ref, corev1.EventTypeNormal, eventStarted, "Container started")
	cs.waitingReason, cs.waitingMessage = "", ""
	wake.at(now)
	// Keep the previous attempt for lastState; older ones go.
	ctrs := kl.listContainers(ctx, pod.UID)
	for _, old := range ctrs {
		if old.Name == c.Name && old.Attempt < attempt-1 {
			if err := kl.runtime.RemoveContainer(ctx, pod.UID, old.ID); err != nil {
				kl.log.Warn("remove container", "pod", pod.Name, "container", old.ID, "err", err)
			}
		}
	}
}

func (kl *Kubelet) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container, ref *corev1.ObjectReference) error {
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
	}
	if policy != corev1.PullAlways {
		present, err := kl.runtime.ImagePresent(ctx, c.Image)
		if err != nil {
			return err
		}
		if present {
			kl.recorder.Eventf(ref, corev1.EventTypeNormal, eventPulled, "Container image %q already present on machine and can be accessed by the pod", c.Image)
			return nil
		}
		if policy == corev1.PullNever {
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
			kl.recorder.Eventf(ref, corev1.EventTypeWarning, "ErrImageNeverPull", "%s", msg)
			return fmt.Errorf("%s", msg)
		}
	}
	kl.recorder.Eventf(ref, corev1.EventTypeNormal, eventPulling, "Pulling image %q", c.Image)
	start := kl.clock.Now()
	size, err := kl.runtime.PullImage(ctx, c.Image, kl.pullSecrets(ctx, pod))
	if err != nil {
		kl.recorder.Eventf(ref, corev1.EventTypeWarning, eventFailed, "Failed to pull image %q: %v", c.Image, err)
		return err
	}
	d := kl.clock.Since(start)
	kl.recorder.Eventf(ref, corev1.EventTypeNormal, eventPulled, "Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.", c.Image, d, d, size)
	return nil
}

// stopAll stops the pod's running containers (regular ones first, then sidecars) with the
// worker's grace period and reports whether none is running any more.
func (kl *Kubelet) stopAll(ctx context.Context, w *podWorker, pod *corev1.Pod, ctrs []Container, now time.Time) bool {
	grace := max(w.grace, minimumGracePeriod)
	all := true
	stop := func(c *corev1.Container, init bool) {
		cur, _ := latest(ctrs, c.Name)
		if cur == nil || cur.State == ContainerExited {
			return
		}
		all = false
		cs := w.state(c.Name)
		if cs.id == cur.ID && cs.stopGrace != 0 && cs.stopGrace <= grace {
			return
		}
		cs.id, cs.stopGrace = cur.ID, grace
		kl.recorder.Eventf(containerRef(pod, c, init), corev1.EventTypeNormal, eventKilling, "Stopping container %s", c.Name)
		if err := kl.runtime.StopContainer(ctx, pod.UID, cur.ID, grace); err != nil {
			kl.log.Warn("stop container", "pod", pod.Name, "container", c.Name, "err", err)
		}
	}
	for i := range pod.Spec.Containers {
		stop(&pod.Spec.Containers[i], false)
	}
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		stop(&pod.Spec.InitContainers[i], true)
	}
	return all
}
