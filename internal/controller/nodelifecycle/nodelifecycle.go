// Package nodelifecycle watches node health and acts on it, as upstream's node lifecycle,
// taint eviction and pod GC controllers do.
//
//   - Every monitor period each node's heartbeats (its Lease's renewTime, its Ready condition's
//     lastHeartbeatTime) are compared with the last ones seen; a node silent for longer than
//     the grace period gets its conditions set to Unknown ("Kubelet stopped posting node
//     status.") and its pods marked not ready.
//   - Nodes whose Ready condition is Unknown get the node.kubernetes.io/unreachable taints
//     (NoSchedule and NoExecute), nodes reporting NotReady the not-ready ones; a node Ready
//     again loses them. NoExecute taints are added at most NodeEvictionRate nodes per second,
//     so that many nodes failing at once do not evict everything at once.
//   - Pods on a node with a NoExecute taint they do not tolerate are deleted at once; those
//     tolerating it for tolerationSeconds are deleted when that time has passed since the
//     taint's timeAdded (event TaintManagerEviction).
//   - Pods bound to nodes that no longer exist are deleted (pod GC).
package nodelifecycle

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Options configure the controller.
type Options struct {
	GracePeriod   time.Duration // node-monitor-grace-period
	MonitorPeriod time.Duration
	EvictionRate  float32 // nodes per second that may get NoExecute taints
	// PodGCPeriod is how often pods of vanished nodes are looked for (default 20 s).
	PodGCPeriod time.Duration
}

// Controller is the node lifecycle controller.
type Controller struct {
	opts     Options
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	leases   coordlisters.LeaseLister
	pods     corelisters.PodLister
	podIndex cache.Indexer
	evict    keyqueue.Queue // pods (namespace/name) to check for eviction
	limiter  flowcontrol.RateLimiter
	recorder record.EventRecorder
	clock    clock.Clock
	log      *slog.Logger
	synced   []cache.InformerSynced

	mu     sync.Mutex
	health map[string]Health
}

const nodeNameIndex = "spec.nodeName"

// New returns the controller on the shared informers f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger, opts Options) (*Controller, error) {
	if opts.PodGCPeriod == 0 {
		opts.PodGCPeriod = 20 * time.Second
	}
	nodeInf := f.Core().V1().Nodes().Informer()
	leaseInf := f.Coordination().V1().Leases().Informer()
	podInf := f.Core().V1().Pods().Informer()
	if _, ok := podInf.GetIndexer().GetIndexers()[nodeNameIndex]; !ok {
		if err := podInf.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				return []string{p.Spec.NodeName}, nil
			}
			return nil, nil
		}}); err != nil {
			return nil, err
		}
	}
	c := &Controller{
		opts: opts, client: client,
		nodes: f.Core().V1().Nodes().Lister(), leases: f.Coordination().V1().Leases().Lister(),
		pods: f.Core().V1().Pods().Lister(), podIndex: podInf.GetIndexer(),
		evict:    keyqueue.New("taint-eviction"),
		limiter:  flowcontrol.NewTokenBucketRateLimiter(opts.EvictionRate, 1),
		recorder: recorder, clock: clock.RealClock{}, log: log,
		synced: []cache.InformerSynced{nodeInf.HasSynced, leaseInf.HasSynced, podInf.HasSynced},
		health: map[string]Health{},
	}
	// A node's taints changing re-checks its pods; a pod bound or updated is checked.
	if _, err := nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.nodeTaintsChanged,
		UpdateFunc: func(_, obj any) { c.nodeTaintsChanged(obj) },
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(c.evict, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(c.evict, obj) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Controller) nodeTaintsChanged(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	pods, _ := c.podIndex.ByIndex(nodeNameIndex, node.Name)
	for _, p := range pods {
		keyqueue.Enqueue(c.evict, p)
	}
}

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		keyqueue.Run(ctx, "taint-eviction", c.evict, workers, c.log, c.syncPod, c.synced...)
	}()
	if cache.WaitForNamedCacheSync("node-lifecycle", ctx.Done(), c.synced...) {
		monitor := time.NewTicker(c.opts.MonitorPeriod)
		gc := time.NewTicker(c.opts.PodGCPeriod)
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-monitor.C:
				c.monitor(ctx)
			case <-gc.C:
				c.gcOrphans(ctx)
			}
		}
		monitor.Stop()
		gc.Stop()
	}
	wg.Wait()
}

func (c *Controller) heartbeat(node *corev1.Node) time.Time {
	var hb time.Time
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			hb = cond.LastHeartbeatTime.Time
		}
	}
	if lease, err := c.leases.Leases(corev1.NamespaceNodeLease).Get(node.Name); err == nil && lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(hb) {
		hb = lease.Spec.RenewTime.Time
	}
	return hb
}

// monitor checks every node's health, and its taints.
func (c *Controller) monitor(ctx context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	now := c.clock.Now()
	seen := map[string]bool{}
	for _, node := range nodes {
		seen[node.Name] = true
		c.mu.Lock()
		h := c.health[node.Name].Observe(c.heartbeat(node), now)
		c.health[node.Name] = h
		c.mu.Unlock()
		if h.Stale(now, c.opts.GracePeriod) && ReadyStatus(node) != corev1.ConditionUnknown {
			if err := c.markUnknown(ctx, node, now); err != nil {
				c.log.Debug("node lifecycle: marking node unknown", "node", node.Name, "err", err)
			}
			continue // the update brings the node back here with its new condition
		}
		if err := c.reconcileTaints(ctx, node, now); err != nil {
			c.log.Debug("node lifecycle: taints", "node", node.Name, "err", err)
		}
	}
	c.mu.Lock()
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
		}
	}
	c.mu.Unlock()
}

// markUnknown sets the node's conditions to Unknown and its pods not ready.
func (c *Controller) markUnknown(ctx context.Context, node *corev1.Node, now time.Time) error {
	n := node.DeepCopy()
	t := metav1.NewTime(now)
	for i := range n.Status.Conditions {
		cond := &n.Status.Conditions[i]
		switch cond.Type {
		case corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
			if cond.Status != corev1.ConditionUnknown {
				cond.Status = corev1.ConditionUnknown
				cond.Reason = "NodeStatusUnknown"
				cond.Message = "Kubelet stopped posting node status."
				cond.LastTransitionTime = t
			}
		}
	}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	c.recorder.Eventf(n, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", n.Name)
	pods, _ := c.podIndex.ByIndex(nodeNameIndex, node.Name)
	for _, o := range pods {
		p := o.(*corev1.Pod)
		if err := c.markPodNotReady(ctx, p, now); err != nil && !apierrors.IsNotFound(err) {
			c.log.Debug("node lifecycle: marking pod not ready", "pod", p.Namespace+"/"+p.Name, "err", err)
		}
	}
	return nil
}

func (c *Controller) markPodNotReady(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	p := pod.DeepCopy()
	changed := false
	for i := range p.Status.Conditions {
		cond := &p.Status.Conditions[i]
		if (cond.Type == corev1.PodReady || cond.Type == corev1.ContainersReady) && cond.Status != corev1.ConditionFalse {
			cond.Status = corev1.ConditionFalse
			cond.LastTransitionTime = metav1.NewTime(now)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	_, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

func (c *Controller) reconcileTaints(ctx context.Context, node *corev1.Node, now time.Time) error {
	wanted := WantedTaints(ReadyStatus(node))
	taints, changed := Reconcile(node.Spec.Taints, wanted, now)
	if !changed {
		return nil
	}
	adding := false
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute && managed(t) && t.TimeAdded != nil && t.TimeAdded.Time.Equal(metav1.NewTime(now).Time) {
			adding = true
		}
	}
	if adding && !c.limiter.TryAccept() {
		return nil // rate-limited: next monitor period
	}
	n := node.DeepCopy()
	n.Spec.Taints = taints
	_, err := c.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	return err
}

// syncPod evicts pod if a NoExecute taint of its node says so, now or later.
func (c *Controller) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
		return nil
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	if err != nil {
		return nil
	}
	delay := EvictionDelay(pod, node.Spec.Taints, c.clock.Now())
	switch {
	case delay < 0:
		return nil
	case delay > 0:
		c.evict.AddAfter(key, delay)
		return nil
	}
	c.recorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	err = c.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// gcOrphans deletes pods bound to nodes that do not exist (checked live before deleting).
func (c *Controller) gcOrphans(ctx context.Context) {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return
	}
	checked := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			continue
		}
		if _, err := c.nodes.Get(p.Spec.NodeName); err == nil {
			continue
		}
		gone, ok := checked[p.Spec.NodeName]
		if !ok {
			_, err := c.client.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
			gone = apierrors.IsNotFound(err)
			checked[p.Spec.NodeName] = gone
		}
		if !gone {
			continue
		}
		zero := int64(0)
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
			Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err == nil {
			c.log.Info("pod GC: deleted pod of a vanished node", "pod", p.Namespace+"/"+p.Name, "node", p.Spec.NodeName)
		}
	}
}
