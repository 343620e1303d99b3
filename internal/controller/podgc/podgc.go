// Package podgc is the pod garbage collector, as upstream's: every GCPeriod it
//   - deletes terminated pods (Succeeded or Failed) beyond TerminatedThreshold, oldest first;
//   - fails and force-deletes pods bound to a node that no longer exists (checked twice, a
//     quarantine apart, so that a node being registered is not mistaken for a missing one),
//     with the DisruptionTarget condition, reason DeletionByPodGC;
//   - force-deletes terminating pods that were never scheduled;
//   - force-deletes terminating pods on nodes tainted node.kubernetes.io/out-of-service.
package podgc

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// Name is the controller's name, as upstream's.
const Name = "pod-garbage-collector"

// Upstream's defaults.
const (
	GCPeriod             = 20 * time.Second
	TerminatedThreshold  = 12500
	Quarantine           = 40 * time.Second
	outOfServiceTaintKey = "node.kubernetes.io/out-of-service"
)

// Decisions lists what one pass does.
type Decisions struct {
	// Terminated are terminated pods to delete (over the threshold).
	Terminated []*corev1.Pod
	// Orphaned are pods whose node is gone for good.
	Orphaned []*corev1.Pod
	// Unscheduled are terminating pods that were never bound.
	Unscheduled []*corev1.Pod
	// OutOfService are terminating pods on out-of-service nodes.
	OutOfService []*corev1.Pod
}

// Decide computes one pass over pods and nodes. missingBefore holds the nodes found missing at
// the previous pass at least Quarantine ago; the returned map is the missing nodes to
// remember for the next pass, with when they were first seen missing.
func Decide(pods []*corev1.Pod, nodes map[string]*corev1.Node, missingSince map[string]time.Time, now time.Time, threshold int) (Decisions, map[string]time.Time) {
	var d Decisions
	var terminated []*corev1.Pod
	missing := map[string]time.Time{}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			terminated = append(terminated, p)
		}
		if p.Spec.NodeName == "" {
			if p.DeletionTimestamp != nil {
				d.Unscheduled = append(d.Unscheduled, p)
			}
			continue
		}
		node, ok := nodes[p.Spec.NodeName]
		if !ok {
			since, seen := missingSince[p.Spec.NodeName]
			if !seen {
				since = now
			}
			missing[p.Spec.NodeName] = since
			if now.Sub(since) >= Quarantine {
				d.Orphaned = append(d.Orphaned, p)
			}
			continue
		}
		if p.DeletionTimestamp != nil && outOfService(node) {
			d.OutOfService = append(d.OutOfService, p)
		}
	}
	if n := len(terminated) - threshold; threshold > 0 && n > 0 {
		sort.Slice(terminated, func(i, j int) bool {
			return terminated[i].CreationTimestamp.Before(&terminated[j].CreationTimestamp)
		})
		d.Terminated = terminated[:n]
	}
	return d, missing
}

func outOfService(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == outOfServiceTaintKey && t.Effect == corev1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}

// Controller is the pod garbage collector.
type Controller struct {
	client    kubernetes.Interface
	pods      corelisters.PodLister
	nodes     corelisters.NodeLister
	synced    []cache.InformerSynced
	log       *slog.Logger
	threshold int
	missing   map[string]time.Time
}

// New returns the controller, registering its informers on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, log *slog.Logger) *Controller {
	pods, nodes := f.Core().V1().Pods(), f.Core().V1().Nodes()
	return &Controller{client: client, pods: pods.Lister(), nodes: nodes.Lister(), log: log, threshold: TerminatedThreshold,
		synced: []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced}, missing: map[string]time.Time{}}
}

// Run collects every GCPeriod until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForNamedCacheSync(Name, ctx.Done(), c.synced...) {
		return
	}
	t := time.NewTicker(GCPeriod)
	defer t.Stop()
	for {
		c.gc(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Controller) gc(ctx context.Context, now time.Time) {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return
	}
	nodeList, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	nodes := make(map[string]*corev1.Node, len(nodeList))
	for _, n := range nodeList {
		nodes[n.Name] = n
	}
	d, missing := Decide(pods, nodes, c.missing, now, c.threshold)
	// A node the informer misses may just be new: confirm with the API before failing its pods.
	for name := range missing {
		if _, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			delete(missing, name)
		}
	}
	c.missing = missing
	for _, p := range d.Terminated {
		c.delete(ctx, p, nil)
	}
	for _, p := range d.Orphaned {
		if _, gone := missing[p.Spec.NodeName]; !gone {
			continue
		}
		c.failOrphan(ctx, p)
		c.delete(ctx, p, ptr.To[int64](0))
	}
	for _, p := range append(d.Unscheduled, d.OutOfService...) {
		c.delete(ctx, p, ptr.To[int64](0))
	}
}

// failOrphan marks a pod whose node is gone Failed, with the DisruptionTarget condition.
func (c *Controller) failOrphan(ctx context.Context, p *corev1.Pod) {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{
		"phase": corev1.PodFailed,
		"conditions": []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
			Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists", LastTransitionTime: metav1.Now()}},
	}})
	// A patch: the controller's upstream role may patch, not update, pod status.
	if _, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil && !apierrors.IsNotFound(err) {
		c.log.Info("pod gc: failing orphan", "pod", p.Namespace+"/"+p.Name, "err", err)
	}
}

func (c *Controller) delete(ctx context.Context, p *corev1.Pod, grace *int64) {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: grace,
		Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		c.log.Info("pod gc: delete", "pod", p.Namespace+"/"+p.Name, "err", err)
		return
	}
	c.log.Info("pod gc: deleted", "pod", p.Namespace+"/"+p.Name)
}
