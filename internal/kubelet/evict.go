package kubelet

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet/eviction"
)

// StatsProvider measures a node and its pods for node-pressure eviction. Config.Stats sets it,
// or the Runtime may implement it; a node without one (a simulated node) reports no pressure
// and evicts nothing.
type StatsProvider interface {
	// NodeStats returns the eviction signals the node can measure (eviction.Observations);
	// thresholds of signals missing from it are never met.
	NodeStats(ctx context.Context) (eviction.Observations, error)
	// PodStats returns the pod's usage: memory working set and processes always, ephemeral
	// storage and inodes when disk is true (a walk of the pod's files, which the kubelet asks
	// for only under disk pressure).
	PodStats(ctx context.Context, pod *corev1.Pod, disk bool) (eviction.PodStats, error)
}

// Upstream's node condition reasons and messages under pressure, and the events of the
// conditions' transitions (pkg/kubelet/nodestatus).
var pressureWords = map[corev1.NodeConditionType]struct {
	reason, message, eventTrue, eventFalse string
}{
	corev1.NodeMemoryPressure: {"KubeletHasInsufficientMemory", "kubelet has insufficient memory available", "NodeHasInsufficientMemory", "NodeHasSufficientMemory"},
	corev1.NodeDiskPressure:   {"KubeletHasDiskPressure", "kubelet has disk pressure", "NodeHasDiskPressure", "NodeHasNoDiskPressure"},
	corev1.NodePIDPressure:    {"KubeletHasInsufficientPID", "kubelet has insufficient PID available", "NodeHasInsufficientPID", "NodeHasSufficientPID"},
}

// startEviction schedules the first eviction round, one MonitoringInterval after start (by
// then the pods that exist are admitted), on nodes that measure themselves.
func (kl *Kubelet) startEviction() {
	if kl.stats == nil || len(kl.thresholds) == 0 {
		return
	}
	kl.log.Info("eviction manager started", "eviction-hard", eviction.FormatThresholds(kl.thresholds),
		"pressure-transition-period", kl.cfg.EvictionPressureTransitionPeriod)
	kl.sched.schedule(workKey{kl: kl, kind: workEviction}, kl.clock.Now().Add(eviction.MonitoringInterval))
}

// underPressure returns the node's pressure conditions that are True.
func (kl *Kubelet) underPressure() []corev1.NodeConditionType {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	return kl.pressureConds
}

// syncEviction is the eviction work item, upstream's eviction manager's synchronize: it
// measures the node, sets the pressure conditions, and when a threshold is met reclaims what
// it can at node level, then evicts at most one pod. It schedules itself every
// MonitoringInterval.
func (kl *Kubelet) syncEviction(ctx context.Context) {
	now := kl.clock.Now()
	defer kl.sched.schedule(workKey{kl: kl, kind: workEviction}, now.Add(eviction.MonitoringInterval))
	obs, err := kl.stats.NodeStats(ctx)
	if err != nil {
		kl.log.Warn("eviction manager: failed to get node stats", "err", err)
		return
	}
	met := eviction.ThresholdsMet(kl.thresholds, obs)
	conds := kl.pressure.Observe(met, now, kl.cfg.EvictionPressureTransitionPeriod)
	kl.mu.Lock()
	changed := !slices.Equal(conds, kl.pressureConds)
	kl.pressureConds = conds
	kl.mu.Unlock()
	if changed {
		kl.log.Info("eviction manager: node conditions changed", "conditions", conds)
		kl.UpdateNodeStatus()
	}
	t, ok := eviction.ToReclaim(met)
	if !ok {
		return
	}
	res := t.Signal.Resource()
	kl.log.Info("eviction manager: attempting to reclaim", "resource", res, "threshold", t.String(), "available", obs[t.Signal].Available)
	kl.recorder.Eventf(nodeRef(kl.cfg.NodeName, ""), corev1.EventTypeWarning, eviction.EventThresholdMet, "Attempting to reclaim %s", res)
	if kl.reclaimNodeLevel(ctx, t) {
		kl.log.Info("eviction manager: able to reduce resource pressure without evicting pods", "resource", res)
		return
	}
	candidates := kl.evictionCandidates()
	if len(candidates) == 0 {
		kl.log.Warn("eviction manager: eviction thresholds have been met, but no pods are active to evict")
		return
	}
	pods := make([]*corev1.Pod, 0, len(candidates))
	workers := map[types.UID]*podWorker{}
	for _, w := range candidates {
		pods = append(pods, w.pod)
		workers[w.pod.UID] = w
	}
	stats := kl.podStats(ctx, pods, t.Signal.IsDisk())
	eviction.Rank(t.Signal, pods, stats)
	for _, pod := range pods {
		if eviction.IsCritical(pod) {
			kl.log.Warn("eviction manager: cannot evict a critical pod", "pod", pod.Namespace+"/"+pod.Name)
			continue
		}
		st, ok := stats(pod)
		kl.evict(workers[pod.UID], pod, eviction.Message(t, pod, st, ok, obs))
		return
	}
	kl.log.Warn("eviction manager: unable to evict any pods from the node")
}

// reclaimNodeLevel frees what the node holds for no pod before pods are evicted: unused
// images under disk pressure. It reports whether no threshold is met any more.
func (kl *Kubelet) reclaimNodeLevel(ctx context.Context, t eviction.Threshold) bool {
	if !t.Signal.IsDisk() || kl.cfg.ReclaimImages == nil {
		return false
	}
	if err := kl.cfg.ReclaimImages(ctx); err != nil {
		kl.log.Warn("eviction manager: unexpected error when attempting to reduce resource pressure", "resource", t.Signal.Resource(), "err", err)
	}
	obs, err := kl.stats.NodeStats(ctx)
	if err != nil {
		kl.log.Warn("eviction manager: failed to get node stats after resource reclaim", "err", err)
		return false
	}
	return len(eviction.ThresholdsMet(kl.thresholds, obs)) == 0
}

// evictionCandidates returns the workers of the pods that run or are about to: admitted, not
// finished, not being stopped or deleted.
func (kl *Kubelet) evictionCandidates() []*podWorker {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	var out []*podWorker
	for _, w := range kl.workers {
		w.mu.Lock()
		if w.admitted && !w.rejected && !w.gone && w.pod != nil && w.pod.DeletionTimestamp == nil &&
			w.evictMessage == "" && w.status != nil && w.status.Phase != corev1.PodSucceeded && w.status.Phase != corev1.PodFailed {
			out = append(out, w)
		}
		w.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b *podWorker) int {
		if a.pod.Namespace != b.pod.Namespace {
			if a.pod.Namespace < b.pod.Namespace {
				return -1
			}
			return 1
		}
		if a.pod.Name < b.pod.Name {
			return -1
		}
		if a.pod.Name > b.pod.Name {
			return 1
		}
		return 0
	})
	return out
}

// podStats measures each pod once and returns the stats function the ranking uses.
func (kl *Kubelet) podStats(ctx context.Context, pods []*corev1.Pod, disk bool) eviction.StatsFunc {
	stats := map[types.UID]eviction.PodStats{}
	for _, p := range pods {
		st, err := kl.stats.PodStats(ctx, p, disk)
		if err != nil {
			kl.log.Info("eviction manager: no stats for pod", "pod", p.Namespace+"/"+p.Name, "err", err)
			continue
		}
		stats[p.UID] = st
	}
	return func(p *corev1.Pod) (eviction.PodStats, bool) {
		st, ok := stats[p.UID]
		return st, ok
	}
}

// evict has the pod's worker kill it as upstream's eviction manager does: no grace period
// (the runtime's minimum of 2 s still applies), then phase Failed with reason Evicted, the
// message, and a DisruptionTarget condition.
func (kl *Kubelet) evict(w *podWorker, pod *corev1.Pod, msg string) {
	kl.log.Info("eviction manager: evicting pod", "pod", pod.Namespace+"/"+pod.Name, "message", msg)
	kl.recorder.Eventf(pod, corev1.EventTypeWarning, eviction.Reason, "%s", msg)
	w.mu.Lock()
	w.evictMessage = msg
	w.mu.Unlock()
	kl.sched.schedule(workKey{kl: kl, kind: workPod, uid: pod.UID}, kl.clock.Now())
}

// checkEviction starts terminating the pod once the eviction loop asked for it (the pod
// worker owns the fields it sets).
func (w *podWorker) checkEviction() {
	w.mu.Lock()
	msg := w.evictMessage
	w.mu.Unlock()
	if msg == "" || w.evicted || w.terminating {
		return
	}
	w.evicted = true
	w.terminating, w.grace = true, 0
	w.failed, w.reason, w.message = true, eviction.Reason, msg
}

// pressureCondition returns the node condition typ: True with upstream's words when the node
// is under that pressure.
func pressureCondition(typ corev1.NodeConditionType, conds []corev1.NodeConditionType) (corev1.ConditionStatus, string, string) {
	words := pressureWords[typ]
	if slices.Contains(conds, typ) {
		return corev1.ConditionTrue, words.reason, words.message
	}
	switch typ {
	case corev1.NodeMemoryPressure:
		return corev1.ConditionFalse, reasonSufficientMemory, messageSufficientMemory
	case corev1.NodeDiskPressure:
		return corev1.ConditionFalse, reasonNoDiskPressure, messageNoDiskPressure
	default:
		return corev1.ConditionFalse, reasonSufficientPID, messageSufficientPID
	}
}

// recordPressureEvents records upstream's node events for the pressure conditions whose
// status changed from old to new.
func (kl *Kubelet) recordPressureEvents(old, new *corev1.NodeStatus) {
	if old == nil {
		return
	}
	for _, c := range new.Conditions {
		words, ok := pressureWords[c.Type]
		if !ok {
			continue
		}
		for _, o := range old.Conditions {
			if o.Type != c.Type || o.Status == c.Status {
				continue
			}
			reason := words.eventFalse
			if c.Status == corev1.ConditionTrue {
				reason = words.eventTrue
			}
			kl.recorder.Eventf(nodeRef(kl.cfg.NodeName, ""), corev1.EventTypeNormal, reason, "Node %s status is now: %s", kl.cfg.NodeName, reason)
		}
	}
}

// evictionPeriod returns the pressure transition period with its default.
func evictionPeriod(d time.Duration) time.Duration {
	if d <= 0 {
		return eviction.DefaultPressureTransitionPeriod
	}
	return d
}
