// Package replicaset is the ReplicaSet controller, and the ReplicationController controller
// (the same logic on the older type, as upstream converts one to the other).
//
// sync(key) claims the pods the ReplicaSet's selector matches (adopting orphans, releasing pods
// it no longer matches), creates or deletes pods to reach spec.replicas, and writes status.
// Creates and deletes are recorded in expectations before they are sent, and a ReplicaSet whose
// expectations are not yet met by its pod informer does not create or delete again, so a slow
// watch never leads to extra pods. Creates go in slow-start batches (1, 2, 4, ...) and stop at
// the first error; deletes take the least valuable pods first (see podstate.Ranked).
package replicaset

import (
	"context"
	"errors"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/controller/claim"
	"github.com/skiff-project/skiff/internal/controller/expectations"
	"github.com/skiff-project/skiff/internal/controller/keyqueue"
	"github.com/skiff-project/skiff/internal/controller/podstate"
)

// Event reasons, as upstream's.
const (
	SuccessfulCreate = "SuccessfulCreate"
	FailedCreate     = "FailedCreate"
	SuccessfulDelete = "SuccessfulDelete"
	FailedDelete     = "FailedDelete"
)

// Controller is a ReplicaSet (or ReplicationController) controller.
type Controller struct {
	kind     kind
	client   kubernetes.Interface
	pods     corelisters.PodLister
	podIndex cache.Indexer
	queue    keyqueue.Queue
	exp      *expectations.Expectations
	recorder record.EventRecorder
	clock    clock.Clock
	log      *slog.Logger
	synced   []cache.InformerSynced
}

// NewReplicaSets returns the ReplicaSet controller.
func NewReplicaSets(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	k := replicaSetKind(client, f.Apps().V1().ReplicaSets().Lister())
	return newController(k, f.Apps().V1().ReplicaSets().Informer(), client, f, recorder, log)
}

// NewReplicationControllers returns the ReplicationController controller.
func NewReplicationControllers(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	k := rcKind(client, f.Core().V1().ReplicationControllers().Lister())
	return newController(k, f.Core().V1().ReplicationControllers().Informer(), client, f, recorder, log)
}

func newController(k kind, owners cache.SharedIndexInformer, client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	podInformer := f.Core().V1().Pods().Informer()
	if err := claim.AddControllerIndex(podInformer); err != nil {
		return nil, err
	}
	c := &Controller{
		kind:     k,
		client:   client,
		pods:     f.Core().V1().Pods().Lister(),
		podIndex: podInformer.GetIndexer(),
		queue:    keyqueue.New(k.name),
		exp:      expectations.New(nil),
		recorder: recorder,
		clock:    clock.RealClock{},
		log:      log,
		synced:   []cache.InformerSynced{owners.HasSynced, podInformer.HasSynced},
	}
	if _, err := owners.AddEventHandler(keyqueue.OwnerEvents(c.queue, c.exp.Delete)); err != nil {
		return nil, err
	}
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, c.kind.name, c.queue, workers, c.log, c.sync, c.synced...)
}

// owner returns the ReplicaSet that ref names in namespace, if it is one of ours.
func (c *Controller) owner(namespace string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	if ref == nil || ref.Kind != c.kind.gvk.Kind || ref.APIVersion != c.kind.gvk.GroupVersion().String() {
		return nil
	}
	rs, err := c.kind.get(namespace, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// matching returns the ReplicaSets of pod's namespace whose selector matches it.
func (c *Controller) matching(pod *corev1.Pod) []*appsv1.ReplicaSet {
	all, err := c.kind.list(pod.Namespace)
	if err != nil {
		return nil
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range all {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, rs)
	}
	return out
}

func (c *Controller) enqueue(rs *appsv1.ReplicaSet) { c.queue.Add(rs.Namespace + "/" + rs.Name) }

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if rs := c.owner(pod.Namespace, ref); rs != nil {
			c.exp.CreationObserved(rs.Namespace + "/" + rs.Name)
			c.enqueue(rs)
		}
		return
	}
	for _, rs := range c.matching(pod) {
		c.enqueue(rs)
	}
}

func (c *Controller) updatePod(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	labelsChanged := !apiequality.Semantic.DeepEqual(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		// A pod given a deletionTimestamp is as good as deleted for expectations; the real
		// delete event follows and is ignored by them.
		c.deletePod(cur)
		if labelsChanged {
			c.deletePod(old)
		}
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
	refChanged := !apiequality.Semantic.DeepEqual(oldRef, curRef)
	if refChanged && oldRef != nil {
		if rs := c.owner(old.Namespace, oldRef); rs != nil {
			c.enqueue(rs)
		}
	}
	if curRef != nil {
		if rs := c.owner(cur.Namespace, curRef); rs != nil {
			c.enqueue(rs)
			if !podstate.IsReady(old) && podstate.IsReady(cur) && rs.Spec.MinReadySeconds > 0 {
				c.queue.AddAfter(rs.Namespace+"/"+rs.Name, time.Duration(rs.Spec.MinReadySeconds)*time.Second)
			}
		}
		return
	}
	if labelsChanged || refChanged {
		for _, rs := range c.matching(cur) {
			c.enqueue(rs)
		}
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	rs := c.owner(pod.Namespace, metav1.GetControllerOfNoCopy(pod))
	if rs == nil {
		return
	}
	key := rs.Namespace + "/" + rs.Name
	c.exp.DeletionObserved(key, pod.Namespace+"/"+pod.Name)
	c.queue.Add(key)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, err := c.kind.get(ns, name)
	if apierrors.IsNotFound(err) {
		c.exp.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	needsSync := c.exp.Satisfied(key)
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		c.log.Warn("invalid selector", "kind", c.kind.gvk.Kind, "key", key, "err", err)
		return nil
	}
	candidates, err := claim.Candidates[*corev1.Pod](c.podIndex, rs)
	if err != nil {
		return err
	}
	claimer := &claim.Claimer{
		Owner: rs, OwnerGVK: c.kind.gvk, Selector: sel,
		CanAdopt: claim.OwnerCheck(rs, func(ctx context.Context) (metav1.Object, error) { return c.kind.fresh(ctx, ns, name) }),
		Patch: func(ctx context.Context, ns, name string, p []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
			return err
		},
	}
	active, err := claim.Claim(ctx, claimer, podstate.Active(candidates))
	if err != nil {
		return err
	}
	var terminating []*corev1.Pod
	for _, p := range candidates {
		if podstate.IsTerminating(p) && claim.Decide(rs, sel, p) == claim.Keep {
			terminating = append(terminating, p)
		}
	}
	var manageErr error
	if needsSync && rs.DeletionTimestamp == nil {
		manageErr = c.manage(ctx, key, rs, active)
	}
	now := c.clock.Now()
	status := CalculateStatus(rs, active, terminating, manageErr, now)
	if !c.kind.hasTerminating {
		status.TerminatingReplicas = nil
	}
	updated := rs
	if !apiequality.Semantic.DeepEqual(status, rs.Status) {
		updated, err = c.kind.updateStatus(ctx, rs, status)
		if err != nil {
			return err
		}
	}
	if manageErr != nil {
		return manageErr
	}
	if updated.Spec.MinReadySeconds > 0 && updated.Status.ReadyReplicas != updated.Status.AvailableReplicas {
		c.queue.AddAfter(key, time.Duration(updated.Spec.MinReadySeconds)*time.Second)
	}
	return nil
}

// related returns the pods of every ReplicaSet that has rs's controller (rs's own if none).
func (c *Controller) related(rs *appsv1.ReplicaSet) []*corev1.Pod {
	ref := metav1.GetControllerOfNoCopy(rs)
	owners := []*appsv1.ReplicaSet{rs}
	if ref != nil {
		owners = nil
		all, _ := c.kind.list(rs.Namespace)
		for _, o := range all {
			if r := metav1.GetControllerOfNoCopy(o); r != nil && r.UID == ref.UID {
				owners = append(owners, o)
			}
		}
	}
	var out []*corev1.Pod
	for _, o := range owners {
		objs, _ := c.podIndex.ByIndex(claim.ControllerIndex, string(o.UID))
		for _, p := range objs {
			out = append(out, p.(*corev1.Pod))
		}
	}
	return out
}

func (c *Controller) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, active []*corev1.Pod) error {
	plan := Decide(replicasOf(rs), active, c.related(rs), c.clock.Now())
	eventObj := c.kind.eventObject(rs)
	if plan.Create > 0 {
		c.exp.ExpectCreations(key, plan.Create)
		n, err := SlowStartBatch(plan.Create, SlowStartInitialBatchSize, func() error {
			pod := PodFromTemplate(&rs.Spec.Template, rs, c.kind.gvk)
			created, err := c.client.CoreV1().Pods(rs.Namespace).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return nil // the namespace is going away; nothing to report
				}
				c.recorder.Eventf(eventObj, corev1.EventTypeWarning, FailedCreate, "Error creating: %v", err)
				return err
			}
			c.recorder.Eventf(eventObj, corev1.EventTypeNormal, SuccessfulCreate, "Created pod: %v", created.Name)
			return nil
		})
		for i := n; i < plan.Create; i++ {
			// Creates never sent or failed will not be observed.
			c.exp.CreationObserved(key)
		}
		return err
	}
	if len(plan.Delete) > 0 {
		keys := make([]string, len(plan.Delete))
		for i, p := range plan.Delete {
			keys[i] = p.Namespace + "/" + p.Name
		}
		c.exp.ExpectDeletions(key, keys)
		errs := make(chan error, len(plan.Delete))
		done := make(chan struct{}, len(plan.Delete))
		for _, p := range plan.Delete {
			go func() {
				defer func() { done <- struct{}{} }()
				err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
					Preconditions: &metav1.Preconditions{UID: &p.UID}})
				if err != nil {
					c.exp.DeletionObserved(key, p.Namespace+"/"+p.Name)
					if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
						return
					}
					c.recorder.Eventf(eventObj, corev1.EventTypeWarning, FailedDelete, "Error deleting: %v", err)
					errs <- err
					return
				}
				c.recorder.Eventf(eventObj, corev1.EventTypeNormal, SuccessfulDelete, "Deleted pod: %v", p.Name)
			}()
		}
		for range plan.Delete {
			<-done
		}
		close(errs)
		var all []error
		for err := range errs {
			all = append(all, err)
		}
		return errors.Join(all...)
	}
	return nil
}

// kind adapts the controller to ReplicaSets or ReplicationControllers: both are seen as
// ReplicaSets inside the controller.
type kind struct {
	name string
	// hasTerminating: the status has terminatingReplicas (ReplicationControllers' has not).
	hasTerminating bool
	gvk            schema.GroupVersionKind
	get            func(ns, name string) (*appsv1.ReplicaSet, error)
	list           func(ns string) ([]*appsv1.ReplicaSet, error)
	fresh          func(ctx context.Context, ns, name string) (metav1.Object, error)
	updateStatus   func(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error)
	eventObject    func(rs *appsv1.ReplicaSet) runtime.Object
}
