// Package daemonset is the DaemonSet controller: one pod per eligible node, placed by a
// required node affinity on the node's metadata.name (upstream's way: the scheduler binds it),
// rolled from one ControllerRevision to the next with RollingUpdate (maxUnavailable or
// maxSurge) or OnDelete.
//
// sync(key) follows upstream's syncDaemonSet: find or create the ControllerRevision of the
// current template (named <daemonset>-<hash>, the pod-template-hash of the template and
// collision count, its data the patch `kubectl rollout undo` applies); claim the pods the
// selector matches; Manage creates and deletes pods so that each node that should run one
// (NodeShouldRun: nodeName, nodeSelector, required node affinity, NoSchedule and NoExecute
// taints against the pod's tolerations and the default daemon tolerations) has exactly one;
// once those writes are observed, RollingUpdate replaces old pods; old revisions beyond
// revisionHistoryLimit go; the status is written. Finished pods are deleted with a per-node
// exponential back-off, so that a node that rejects the pod is not hammered.
package daemonset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/controller/claim"
	"github.com/skiff-project/skiff/internal/controller/deployment"
	"github.com/skiff-project/skiff/internal/controller/expectations"
	"github.com/skiff-project/skiff/internal/controller/history"
	"github.com/skiff-project/skiff/internal/controller/keyqueue"
	"github.com/skiff-project/skiff/internal/controller/podstate"
	"github.com/skiff-project/skiff/internal/controller/replicaset"
)

// Name is the controller's name, as upstream's (its service account and event source).
const Name = "daemon-set-controller"

// Event reasons, as upstream's.
const (
	SuccessfulCreate   = "SuccessfulCreate"
	FailedCreate       = "FailedCreate"
	SuccessfulDelete   = "SuccessfulDelete"
	FailedDelete       = "FailedDelete"
	FailedDaemonPod    = "FailedDaemonPod"
	SelectingAllReason = "SelectingAll"
)

// BurstReplicas is the most pods one sync creates.
const BurstReplicas = 250

// Controller is the DaemonSet controller.
type Controller struct {
	client   kubernetes.Interface
	sets     appslisters.DaemonSetLister
	nodes    corelisters.NodeLister
	podIndex cache.Indexer
	revIndex cache.Indexer
	queue    keyqueue.Queue
	exp      *expectations.Expectations
	backoff  *flowcontrol.Backoff
	recorder record.EventRecorder
	clock    clock.Clock
	log      *slog.Logger
	synced   []cache.InformerSynced
}

// New returns the DaemonSet controller, registering its informers on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	dsInf := f.Apps().V1().DaemonSets().Informer()
	podInf := f.Core().V1().Pods().Informer()
	revInf := f.Apps().V1().ControllerRevisions().Informer()
	nodeInf := f.Core().V1().Nodes().Informer()
	for _, inf := range []cache.SharedIndexInformer{podInf, revInf} {
		if err := claim.AddControllerIndex(inf); err != nil {
			return nil, err
		}
	}
	clk := clock.RealClock{}
	c := &Controller{
		client:   client,
		sets:     f.Apps().V1().DaemonSets().Lister(),
		nodes:    f.Core().V1().Nodes().Lister(),
		podIndex: podInf.GetIndexer(),
		revIndex: revInf.GetIndexer(),
		queue:    keyqueue.New("daemonset"),
		exp:      expectations.New(nil),
		backoff:  flowcontrol.NewBackOffWithJitter(time.Second, 15*time.Minute, 0),
		recorder: recorder,
		clock:    clk,
		log:      log,
		synced:   []cache.InformerSynced{dsInf.HasSynced, podInf.HasSynced, revInf.HasSynced, nodeInf.HasSynced},
	}
	if _, err := dsInf.AddEventHandler(keyqueue.OwnerEvents(c.queue, c.exp.Delete)); err != nil {
		return nil, err
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, err
	}
	owned := func(obj any) {
		if o, ok := unwrap[metav1.Object](obj); ok {
			if ds := c.owner(o.GetNamespace(), metav1.GetControllerOfNoCopy(o)); ds != nil {
				keyqueue.Enqueue(c.queue, ds)
			}
		}
	}
	if _, err := revInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: owned, UpdateFunc: func(_, obj any) { owned(obj) }, DeleteFunc: owned,
	}); err != nil {
		return nil, err
	}
	if _, err := nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.enqueueAll() },
		UpdateFunc: c.updateNode,
		DeleteFunc: func(any) { c.enqueueAll() },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, "daemonset", c.queue, workers, c.log, c.sync, c.synced...)
}

func unwrap[T any](obj any) (T, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	t, ok := obj.(T)
	return t, ok
}

func (c *Controller) owner(ns string, ref *metav1.OwnerReference) *appsv1.DaemonSet {
	if ref == nil || ref.Kind != Kind.Kind || ref.APIVersion != Kind.GroupVersion().String() {
		return nil
	}
	ds, err := c.sets.DaemonSets(ns).Get(ref.Name)
	if err != nil || ds.UID != ref.UID {
		return nil
	}
	return ds
}

func (c *Controller) enqueueAll() {
	all, _ := c.sets.List(labels.Everything())
	for _, ds := range all {
		keyqueue.Enqueue(c.queue, ds)
	}
}

// updateNode enqueues the DaemonSets whose view of the node changed; heartbeats alone change
// nothing.
func (c *Controller) updateNode(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Node), newObj.(*corev1.Node)
	if apiequality.Semantic.DeepEqual(old.Labels, cur.Labels) && apiequality.Semantic.DeepEqual(old.Spec, cur.Spec) {
		return
	}
	all, _ := c.sets.List(labels.Everything())
	for _, ds := range all {
		r1, c1, _ := NodeShouldRun(old, ds)
		r2, c2, _ := NodeShouldRun(cur, ds)
		if r1 != r2 || c1 != c2 {
			keyqueue.Enqueue(c.queue, ds)
		}
	}
}

func (c *Controller) enqueueMatching(pod *corev1.Pod) {
	all, _ := c.sets.DaemonSets(pod.Namespace).List(labels.Everything())
	for _, ds := range all {
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			keyqueue.Enqueue(c.queue, ds)
		}
	}
}

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if ds := c.owner(pod.Namespace, ref); ds != nil {
			c.exp.CreationObserved(ds.Namespace + "/" + ds.Name)
			keyqueue.Enqueue(c.queue, ds)
		}
		return
	}
	c.enqueueMatching(pod)
}

func (c *Controller) updatePod(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil {
		c.deletePod(cur)
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
	if oldRef != nil && !apiequality.Semantic.DeepEqual(oldRef, curRef) {
		if ds := c.owner(old.Namespace, oldRef); ds != nil {
			keyqueue.Enqueue(c.queue, ds)
		}
	}
	if curRef == nil {
		c.enqueueMatching(cur)
		return
	}
	ds := c.owner(cur.Namespace, curRef)
	if ds == nil {
		return
	}
	keyqueue.Enqueue(c.queue, ds)
	if ds.Spec.MinReadySeconds > 0 && !podstate.IsReady(old) && podstate.IsReady(cur) {
		c.queue.AddAfter(ds.Namespace+"/"+ds.Name, time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := unwrap[*corev1.Pod](obj)
	if !ok {
		return
	}
	ds := c.owner(pod.Namespace, metav1.GetControllerOfNoCopy(pod))
	if ds == nil {
		return
	}
	key := ds.Namespace + "/" + ds.Name
	c.exp.DeletionObserved(key, pod.Namespace+"/"+pod.Name)
	c.queue.Add(key)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	ds, err := c.sets.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil
	}
	if sel.Empty() {
		c.recorder.Eventf(ds, corev1.EventTypeWarning, SelectingAllReason, "This daemon set is selecting all pods. A non-empty selector is required.")
		return nil
	}
	if ds.DeletionTimestamp != nil {
		// Its revisions and pods may be going: no reliable status either.
		return nil
	}
	cur, old, err := c.constructHistory(ctx, ds, sel)
	if err != nil {
		return err
	}
	hash := cur.Labels[history.HashLabel]
	pods, err := c.claimPods(ctx, ds, sel)
	if err != nil {
		return err
	}
	now := c.clock.Now()
	if !c.exp.Satisfied(key) {
		return c.writeStatus(ctx, ds, nodes, NodeToPods(pods, false), hash, false)
	}
	var errs []error
	nodeToPods := NodeToPods(pods, false)
	manageErr := c.syncNodes(ctx, key, ds, c.withBackoff(key, ds, Manage(ds, nodes, nodeToPods, hash, now)), hash)
	errs = append(errs, manageErr)
	if manageErr == nil && c.exp.Satisfied(key) && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		errs = append(errs, c.syncNodes(ctx, key, ds, RollingUpdate(ds, nodes, nodeToPods, hash, now), hash))
	}
	if manageErr == nil {
		for _, r := range HistoryToDelete(ds, old, pods) {
			if err := c.client.AppsV1().ControllerRevisions(ns).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("failed to clean up revisions of DaemonSet: %w", err))
				break
			}
		}
	}
	errs = append(errs, c.writeStatus(ctx, ds, nodes, nodeToPods, hash, true))
	return errors.Join(errs...)
}

// withBackoff moves the finished pods of p into its deletions, except on nodes whose back-off
// has not passed (the DaemonSet is looked at again when it has).
func (c *Controller) withBackoff(key string, ds *appsv1.DaemonSet, p Plan) Plan {
	now := c.backoff.Clock.Now()
	for _, pod := range p.Finished {
		node, _ := TargetNode(pod)
		id := string(ds.UID) + "/" + node
		if c.backoff.IsInBackOffSinceUpdate(id, now) {
			c.queue.AddAfter(key, c.backoff.Get(id))
			continue
		}
		c.backoff.Next(id, now)
		verb := "failed"
		if pod.Status.Phase == corev1.PodSucceeded {
			verb = "succeeded"
		}
		c.recorder.Eventf(ds, corev1.EventTypeWarning, FailedDaemonPod, "Found %s daemon pod %s/%s on node %s, will try to kill it", verb, pod.Namespace, pod.Name, node)
		p.Delete = append(p.Delete, pod)
	}
	p.Finished = nil
	return p
}

func (c *Controller) writeStatus(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, nodeToPods map[string][]*corev1.Pod, hash string, observed bool) error {
	st := Status(ds, nodes, nodeToPods, hash, c.clock.Now())
	if observed {
		st.ObservedGeneration = ds.Generation
	}
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady != st.NumberAvailable {
		c.queue.AddAfter(ds.Namespace+"/"+ds.Name, time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	if apiequality.Semantic.DeepEqual(st, ds.Status) {
		return nil
	}
	next := ds.DeepCopy()
	next.Status = st
	_, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	return err
}

func (c *Controller) claimPods(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) ([]*corev1.Pod, error) {
	candidates, err := claim.Candidates[*corev1.Pod](c.podIndex, ds)
	if err != nil {
		return nil, err
	}
	cl := &claim.Claimer{Owner: ds, OwnerGVK: Kind, Selector: sel, CanAdopt: c.canAdopt(ds),
		Patch: func(ctx context.Context, ns, name string, p []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
			return err
		}}
	return claim.Claim(ctx, cl, candidates)
}

func (c *Controller) canAdopt(ds *appsv1.DaemonSet) func(context.Context) error {
	return claim.OwnerCheck(ds, func(ctx context.Context) (metav1.Object, error) {
		return c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	})
}

// constructHistory returns the revision of ds's current template (created, or renumbered to
// the newest, as needed) and the other revisions.
func (c *Controller) constructHistory(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, error) {
	candidates, err := claim.Candidates[*appsv1.ControllerRevision](c.revIndex, ds)
	if err != nil {
		return nil, nil, err
	}
	cl := &claim.Claimer{Owner: ds, OwnerGVK: Kind, Selector: sel, CanAdopt: c.canAdopt(ds),
		Patch: func(ctx context.Context, ns, name string, p []byte) error {
			_, err := c.client.AppsV1().ControllerRevisions(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
			return err
		}}
	revs, err := claim.Claim(ctx, cl, candidates)
	if err != nil {
		return nil, nil, err
	}
	data, err := history.TemplatePatch(ds)
	if err != nil {
		return nil, nil, err
	}
	var matching, old []*appsv1.ControllerRevision
	for _, r := range revs {
		if r.Labels[history.HashLabel] == "" {
			// Revisions from before the hash label get their name as hash (upstream).
			next := r.DeepCopy()
			if next.Labels == nil {
				next.Labels = map[string]string{}
			}
			next.Labels[history.HashLabel] = next.Name
			if r, err = c.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
				return nil, nil, err
			}
		}
		if bytes.Equal(r.Data.Raw, data) {
			matching = append(matching, r)
		} else {
			old = append(old, r)
		}
	}
	next := history.MaxRevision(old) + 1
	if len(matching) == 0 {
		cur, err := c.snapshot(ctx, ds, data, next)
		return cur, old, err
	}
	history.Sort(matching)
	cur := matching[len(matching)-1]
	// Duplicates of the current revision (from races) go; pods labelled with their hash are
	// then seen as old and replaced (upstream relabels them instead).
	for _, dup := range matching[:len(matching)-1] {
		if err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Delete(ctx, dup.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, nil, err
		}
	}
	if cur.Revision < next {
		renumbered := cur.DeepCopy()
		renumbered.Revision = next
		if cur, err = c.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, renumbered, metav1.UpdateOptions{}); err != nil {
			return nil, nil, err
		}
	}
	return cur, old, nil
}

// snapshot creates the revision of ds's template: named <ds>-<pod-template-hash>. A name taken
// by another template bumps status.collisionCount, so that the next sync hashes differently.
func (c *Controller) snapshot(ctx context.Context, ds *appsv1.DaemonSet, data []byte, revision int64) (*appsv1.ControllerRevision, error) {
	hash := deployment.ComputeHash(&ds.Spec.Template, ds.Status.CollisionCount)
	rev := history.New(ds, Kind, ds.Spec.Template.Labels, data, revision, nil)
	rev.Name = ds.Name + "-" + hash
	rev.Labels[history.HashLabel] = hash
	revs := c.client.AppsV1().ControllerRevisions(ds.Namespace)
	created, err := revs.Create(ctx, rev, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return created, err
	}
	exists, getErr := revs.Get(ctx, rev.Name, metav1.GetOptions{})
	if getErr != nil {
		return nil, getErr
	}
	if bytes.Equal(exists.Data.Raw, data) {
		return exists, nil
	}
	fresh, getErr := c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	if getErr != nil {
		return nil, getErr
	}
	if !reflect.DeepEqual(fresh.Status.CollisionCount, ds.Status.CollisionCount) {
		return nil, fmt.Errorf("daemonset %s/%s: stale collision count, will retry", ds.Namespace, ds.Name)
	}
	if fresh.Status.CollisionCount == nil {
		fresh.Status.CollisionCount = new(int32)
	}
	*fresh.Status.CollisionCount++
	if _, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		return nil, err
	}
	return nil, err
}

// syncNodes creates a pod on each node of p.Create (at most BurstReplicas, in slow-start
// batches) and deletes p.Delete, with expectations for both.
func (c *Controller) syncNodes(ctx context.Context, key string, ds *appsv1.DaemonSet, p Plan, hash string) error {
	create := p.Create
	if len(create) > BurstReplicas {
		create = create[:BurstReplicas]
	}
	if len(create)+len(p.Delete) == 0 {
		return nil
	}
	delKeys := make([]string, len(p.Delete))
	for i, pod := range p.Delete {
		delKeys[i] = pod.Namespace + "/" + pod.Name
	}
	c.exp.Expect(key, len(create), delKeys)
	c.log.Debug("daemonset sync", "daemonset", key, "plan", p.String())
	var errs []error
	template := PodTemplate(ds, hash)
	var mu sync.Mutex
	next := 0
	n, err := replicaset.SlowStartBatch(len(create), replicaset.SlowStartInitialBatchSize, func() error {
		mu.Lock()
		node := create[next]
		next++
		mu.Unlock()
		pod := NewPod(ds, template, node)
		created, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			c.recorder.Eventf(ds, corev1.EventTypeWarning, FailedCreate, "Error creating: %v", err)
			return err
		}
		c.recorder.Eventf(ds, corev1.EventTypeNormal, SuccessfulCreate, "Created pod: %v", created.Name)
		return nil
	})
	for i := n; i < len(create); i++ {
		c.exp.CreationObserved(key)
	}
	errs = append(errs, err)
	for _, pod := range p.Delete {
		err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if err != nil {
			c.exp.DeletionObserved(key, pod.Namespace+"/"+pod.Name)
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				c.recorder.Eventf(ds, corev1.EventTypeWarning, FailedDelete, "Error deleting: %v", err)
				errs = append(errs, err)
			}
			continue
		}
		c.recorder.Eventf(ds, corev1.EventTypeNormal, SuccessfulDelete, "Deleted pod: %v", pod.Name)
	}
	return errors.Join(errs...)
}
