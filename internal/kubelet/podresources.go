package kubelet

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Upstream's event reasons for volumes, environment and pull secrets.
const (
	eventFailedMount                     = "FailedMount"
	eventInvalidEnvironmentVariable      = "InvalidEnvironmentVariableNames"
	eventFailedToRetrieveImagePullSecret = "FailedToRetrieveImagePullSecret"
	// volumeRetryMin and volumeRetryMax bound the back-off between attempts to set up a pod's
	// volumes (the watches of its ConfigMaps and Secrets also wake it when they appear).
	volumeRetryMin = time.Second
	volumeRetryMax = 32 * time.Second
)

// payloadSources returns what the pod's volumes read.
func (kl *Kubelet) payloadSources(ctx context.Context) payloadSources {
	cm, sec := objectReaders(ctx, kl.objects)
	return payloadSources{
		configMap: cm,
		secret:    sec,
		token: func(pod *corev1.Pod, s *corev1.ServiceAccountTokenProjection) (string, time.Time, error) {
			return kl.tokens.token(ctx, pod, s)
		},
		allocatable: kl.allocatable(),
	}
}

func (kl *Kubelet) allocatable() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              kl.cfg.CPU,
		corev1.ResourceMemory:           kl.cfg.Memory,
		corev1.ResourceEphemeralStorage: kl.cfg.EphemeralStorage,
	}
}

// prepareVolumes registers what the pod refers to and sets up (or updates) its volumes. It
// reports false while the pod's volumes have never all been set up: its containers must
// wait. Failures are FailedMount events and a retry with back-off; a running pod whose
// volume can no longer be updated keeps running.
func (kl *Kubelet) prepareVolumes(ctx context.Context, w *podWorker, pod *corev1.Pod, now time.Time, wake *wakeup) bool {
	if kl.objects != nil {
		kl.objects.register(pod)
	}
	if kl.volumes == nil {
		return true
	}
	refresh, failed := kl.volumes.setUp(pod, kl.payloadSources(ctx), now)
	if !refresh.IsZero() {
		wake.at(refresh)
	}
	if needsResync(pod) {
		wake.at(now.Add(kl.cfg.VolumeResync))
	}
	if len(failed) == 0 {
		w.volumesReady, w.volumeRetry = true, 0
		return true
	}
	for _, f := range failed {
		kl.recorder.Eventf(pod, corev1.EventTypeWarning, eventFailedMount, "MountVolume.SetUp failed for volume %q : %v", f.volume, f.err)
	}
	w.volumeRetry = min(max(2*w.volumeRetry, volumeRetryMin), volumeRetryMax)
	wake.at(now.Add(w.volumeRetry))
	return w.volumesReady
}

// needsResync reports whether pod has volumes whose sources may change.
func needsResync(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil {
			return true
		}
	}
	return false
}

// cleanupPod tears down the volumes of a pod whose sandbox is gone and stops watching what it
// refers to. It reports whether everything is gone.
func (kl *Kubelet) cleanupPod(uid types.UID) bool {
	if kl.objects != nil {
		kl.objects.unregister(uid)
		kl.tokens.forget(uid)
	}
	if kl.volumes == nil {
		return true
	}
	if err := kl.volumes.tearDown(uid); err != nil {
		kl.log.Warn("tear down volumes", "pod", uid, "err", err)
		return false
	}
	return true
}

// containerSpec returns the container as the runtime gets it: with its environment resolved
// and its command and args expanded when the node resolves environments, else as it is.
func (kl *Kubelet) containerSpec(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container) (*corev1.Container, error) {
	if !kl.cfg.Environment {
		return c, nil
	}
	cm, sec := objectReaders(ctx, kl.objects)
	src := envSources{configMap: cm, secret: sec, podIPs: w.ips, allocatable: kl.allocatable(), servicesSynced: true}
	for _, ip := range kl.hostIPs {
		src.hostIPs = append(src.hostIPs, ip.IP)
	}
	if kl.services != nil {
		src.services, src.servicesSynced = kl.services()
	}
	out, res, err := resolveContainer(pod, c, src)
	for _, warning := range res.warnings {
		kl.recorder.Eventf(pod, corev1.EventTypeWarning, eventInvalidEnvironmentVariable, "%s", warning)
	}
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	return out, nil
}

// pullSecrets returns the pod's imagePullSecrets that exist, with an event naming those that
// could not be read.
func (kl *Kubelet) pullSecrets(ctx context.Context, pod *corev1.Pod) []corev1.Secret {
	if !kl.cfg.Environment || len(pod.Spec.ImagePullSecrets) == 0 {
		return nil
	}
	var out []corev1.Secret
	var missing []string
	for _, ref := range pod.Spec.ImagePullSecrets {
		if ref.Name == "" {
			continue
		}
		s, err := kl.objects.secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			missing = append(missing, ref.Name)
			continue
		}
		out = append(out, *s)
	}
	if len(missing) > 0 {
		kl.recorder.Eventf(pod, corev1.EventTypeWarning, eventFailedToRetrieveImagePullSecret,
			"Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", strings.Join(missing, ", "))
	}
	return out
}

// SandboxLister is implemented by runtimes that keep sandboxes across agent restarts; the
// kubelet's housekeeping removes those of pods it does not know.
type SandboxLister interface {
	ListSandboxes(ctx context.Context) ([]types.UID, error)
}

// housekeeping removes what belongs to pods the kubelet does not know (deleted while the agent
// was down) or that finished: their sandboxes and volume directories. It schedules itself.
func (kl *Kubelet) housekeeping(ctx context.Context) {
	defer kl.sched.schedule(workKey{kl: kl, kind: workHousekeeping}, kl.clock.Now().Add(housekeepingPeriod))
	keep := map[types.UID]bool{}  // sandboxes to keep
	known := map[types.UID]bool{} // pods whose volumes are the worker's to remove
	var resend []types.UID        // pods whose status the API does not have
	kl.mu.Lock()
	for uid, w := range kl.workers {
		known[uid] = true
		w.mu.Lock()
		if !w.finished {
			keep[uid] = true
		}
		if w.status != nil && w.pod != nil && statusDiverged(&w.pod.Status, w.status) {
			// Sent, but not what the API has (a lost or overwritten update): send it again,
			// from the API's status, as upstream's status manager reconciles.
			w.sent = nil
			resend = append(resend, uid)
		}
		w.mu.Unlock()
	}
	kl.mu.Unlock()
	now := kl.clock.Now()
	for _, uid := range resend {
		kl.sched.schedule(workKey{kl: kl, kind: workStatus, uid: uid}, now)
	}
	if lister, ok := kl.runtime.(SandboxLister); ok {
		uids, err := lister.ListSandboxes(ctx)
		if err != nil {
			kl.log.Warn("housekeeping: list sandboxes", "err", err)
		}
		stopper, canStop := kl.runtime.(SandboxStopper)
		for _, uid := range uids {
			if keep[uid] {
				continue
			}
			if known[uid] && canStop {
				// A finished pod keeps its exited containers and logs until it is deleted.
				if err := stopper.StopSandbox(ctx, uid); err != nil {
					kl.log.Warn("housekeeping: stop sandbox", "pod", uid, "err", err)
				}
				continue
			}
			kl.log.Info("removing the sandbox of a pod that is gone or finished", "pod", uid)
			if err := kl.runtime.RemoveSandbox(ctx, uid); err != nil {
				kl.log.Warn("housekeeping: remove sandbox", "pod", uid, "err", err)
			}
		}
	}
	if kl.volumes != nil {
		dirs, err := kl.volumes.podDirs()
		if err != nil {
			kl.log.Warn("housekeeping: list pod directories", "err", err)
		}
		for _, uid := range dirs {
			if known[uid] {
				continue
			}
			kl.log.Info("removing the volumes of a pod that is gone", "pod", uid)
			if err := kl.volumes.tearDown(uid); err != nil {
				kl.log.Warn("housekeeping: tear down volumes", "pod", uid, "err", err)
			}
		}
	}
}

// statusDiverged reports whether the API's status of a pod (api) lacks what the kubelet decided
// (want) in what users and controllers act on: the phase, the Ready and ContainersReady
// conditions, and each container's readiness, state and restart count. Other fields are not
// compared, so that the API's normalization of a status never makes the kubelet send it again
// and again.
func statusDiverged(api, want *corev1.PodStatus) bool {
	if api.Phase != want.Phase {
		return true
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		if conditionStatus(api.Conditions, t) != conditionStatus(want.Conditions, t) {
			return true
		}
	}
	return containersDiverged(api.ContainerStatuses, want.ContainerStatuses) ||
		containersDiverged(api.InitContainerStatuses, want.InitContainerStatuses)
}

func conditionStatus(conds []corev1.PodCondition, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range conds {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func containersDiverged(api, want []corev1.ContainerStatus) bool {
	if len(api) != len(want) {
		return true
	}
	state := func(s corev1.ContainerState) int {
		switch {
		case s.Running != nil:
			return 1
		case s.Terminated != nil:
			return 2
		}
		return 0
	}
	for i := range want {
		a, w := api[i], want[i]
		if a.Name != w.Name || a.Ready != w.Ready || a.RestartCount != w.RestartCount || state(a.State) != state(w.State) {
			return true
		}
	}
	return false
}

// startHousekeeping schedules the first housekeeping, once the pods that exist are known.
// Every node runs it, simulated ones included, for the status reconcile; sandboxes and volumes
// are collected only where something outlives the process.
func (kl *Kubelet) startHousekeeping() {
	kl.sched.schedule(workKey{kl: kl, kind: workHousekeeping}, kl.clock.Now())
}
