// Package statefulset is the StatefulSet controller: pods with stable identities
// (<set>-<ordinal>, hostname and subdomain, one PersistentVolumeClaim per volumeClaimTemplate
// and ordinal), created and deleted in ordinal order (OrderedReady) or all at once (Parallel),
// and rolled from one ControllerRevision to the next (RollingUpdate with partition and
// maxUnavailable, or OnDelete).
//
// sync(key) follows upstream's: claim the ControllerRevisions and the pods (members by name)
// the selector matches; find or create the update revision (the set's template; a template
// seen before, as after `kubectl rollout undo`, renumbers its old revision rather than making
// a new one), and the current revision (status.currentRevision); Plan decides, from the pods,
// the claims and the two revisions, what to create, delete and fix (see Plan); the actions run
// in phases, then the status is written and revisions beyond revisionHistoryLimit that no pod
// uses are deleted.
//
// Pod names are the lock that keeps two pods from having one identity: a create of a name
// whose previous pod is still terminating fails, and Plan creates an ordinal only once its
// pod is gone from the informer. Creates and deletes are recorded in expectations, and a set
// whose expectations are not met does not act, so a slow watch costs no duplicate requests.
package statefulset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/controller/claim"
	"github.com/skiff-project/skiff/internal/controller/expectations"
	"github.com/skiff-project/skiff/internal/controller/history"
	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Name is the controller's name, as upstream's (its service account and event source).
const Name = "statefulset-controller"

// Controller is the StatefulSet controller.
type Controller struct {
	client   kubernetes.Interface
	sets     appslisters.StatefulSetLister
	podIndex cache.Indexer
	revIndex cache.Indexer
	claims   corelisters.PersistentVolumeClaimLister
	queue    keyqueue.Queue
	exp      *expectations.Expectations
	recorder record.EventRecorder
	clock    clock.Clock
	log      *slog.Logger
	synced   []cache.InformerSynced
}

// New returns the StatefulSet controller, registering its informers on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	setInf := f.Apps().V1().StatefulSets().Informer()
	podInf := f.Core().V1().Pods().Informer()
	revInf := f.Apps().V1().ControllerRevisions().Informer()
	pvcInf := f.Core().V1().PersistentVolumeClaims().Informer()
	for _, inf := range []cache.SharedIndexInformer{podInf, revInf} {
		if err := claim.AddControllerIndex(inf); err != nil {
			return nil, err
		}
	}
	c := &Controller{
		client:   client,
		sets:     f.Apps().V1().StatefulSets().Lister(),
		podIndex: podInf.GetIndexer(),
		revIndex: revInf.GetIndexer(),
		claims:   f.Core().V1().PersistentVolumeClaims().Lister(),
		queue:    keyqueue.New("statefulset"),
		exp:      expectations.New(nil),
		recorder: recorder,
		clock:    clock.RealClock{},
		log:      log,
		synced:   []cache.InformerSynced{setInf.HasSynced, podInf.HasSynced, revInf.HasSynced, pvcInf.HasSynced},
	}
	if _, err := setInf.AddEventHandler(keyqueue.OwnerEvents(c.queue, c.exp.Delete)); err != nil {
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
			c.enqueueOwner(o.GetNamespace(), metav1.GetControllerOfNoCopy(o))
		}
	}
	if _, err := revInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: owned, UpdateFunc: func(_, obj any) { owned(obj) }, DeleteFunc: owned,
	}); err != nil {
		return nil, err
	}
	// A claim that goes away may unblock the pod waiting for its stale claim.
	if _, err := pvcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.claimChanged(obj) }, DeleteFunc: c.claimChanged,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, "statefulset", c.queue, workers, c.log, c.sync, c.synced...)
}

func unwrap[T any](obj any) (T, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	t, ok := obj.(T)
	return t, ok
}

// owner returns the StatefulSet ref names, if it exists with that UID.
func (c *Controller) owner(ns string, ref *metav1.OwnerReference) *appsv1.StatefulSet {
	if ref == nil || ref.Kind != Kind.Kind || ref.APIVersion != Kind.GroupVersion().String() {
		return nil
	}
	set, err := c.sets.StatefulSets(ns).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return nil
	}
	return set
}

func (c *Controller) enqueueOwner(ns string, ref *metav1.OwnerReference) {
	if set := c.owner(ns, ref); set != nil {
		keyqueue.Enqueue(c.queue, set)
	}
}

func (c *Controller) claimChanged(obj any) {
	pvc, ok := unwrap[*corev1.PersistentVolumeClaim](obj)
	if !ok {
		return
	}
	for _, r := range pvc.OwnerReferences {
		switch r.Kind {
		case Kind.Kind:
			c.queue.Add(pvc.Namespace + "/" + r.Name)
		case "Pod":
			if parent, ord := ParentAndOrdinal(r.Name); ord >= 0 {
				c.queue.Add(pvc.Namespace + "/" + parent)
			}
		}
	}
}

// enqueueMatching enqueues the sets an orphan pod could be adopted by.
func (c *Controller) enqueueMatching(pod *corev1.Pod) {
	sets, _ := c.sets.StatefulSets(pod.Namespace).List(labels.Everything())
	for _, set := range sets {
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) && IsMember(set, pod) {
			keyqueue.Enqueue(c.queue, set)
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
		if set := c.owner(pod.Namespace, ref); set != nil {
			c.exp.CreationObserved(set.Namespace + "/" + set.Name)
			keyqueue.Enqueue(c.queue, set)
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
		c.enqueueOwner(old.Namespace, oldRef)
	}
	if curRef != nil {
		set := c.owner(cur.Namespace, curRef)
		if set == nil {
			return
		}
		keyqueue.Enqueue(c.queue, set)
		if set.Spec.MinReadySeconds > 0 && !isRunningAndReady(old) && isRunningAndReady(cur) {
			c.queue.AddAfter(set.Namespace+"/"+set.Name, time.Duration(set.Spec.MinReadySeconds)*time.Second)
		}
		return
	}
	c.enqueueMatching(cur)
}

func (c *Controller) deletePod(obj any) {
	pod, ok := unwrap[*corev1.Pod](obj)
	if !ok {
		return
	}
	set := c.owner(pod.Namespace, metav1.GetControllerOfNoCopy(pod))
	if set == nil {
		return
	}
	key := set.Namespace + "/" + set.Name
	c.exp.DeletionObserved(key, pod.Namespace+"/"+pod.Name)
	c.queue.Add(key)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	set, err := c.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || sel.Empty() {
		c.log.Warn("statefulset with an invalid or empty selector", "key", key, "err", err)
		return nil
	}
	satisfied := c.exp.Satisfied(key)
	revs, err := c.claimRevisions(ctx, set, sel)
	if err != nil {
		return err
	}
	pods, err := c.claimPods(ctx, set, sel)
	if err != nil {
		return err
	}
	current, update, collisions, revs, err := c.revisions(ctx, set, revs)
	if err != nil {
		return err
	}
	currentSet, err := withRevision(set, current)
	if err != nil {
		return err
	}
	updateSet, err := withRevision(set, update)
	if err != nil {
		return err
	}
	in := Input{Set: set, Current: currentSet, Update: updateSet, CurrentRevision: current.Name, UpdateRevision: update.Name,
		CollisionCount: collisions, Pods: pods, Claims: c.claimsOf(set, pods), Now: c.clock.Now()}
	res := Plan(in)
	var errs []error
	if satisfied {
		errs = append(errs, c.act(ctx, key, set, res))
		if !apiequality.Semantic.DeepEqual(set.Status, res.Status) {
			next := set.DeepCopy()
			next.Status = res.Status
			if _, err := c.client.AppsV1().StatefulSets(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, r := range HistoryToDelete(set, revs, pods, current.Name, update.Name) {
		err := c.client.AppsV1().ControllerRevisions(ns).Delete(ctx, r.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &r.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			break
		}
	}
	if set.Spec.MinReadySeconds > 0 && res.Status.AvailableReplicas != int32(replicaCount(set)) {
		c.queue.AddAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second)
	}
	return errors.Join(errs...)
}

// withRevision is set with the pod template of rev (upstream applies rev's patch).
func withRevision(set *appsv1.StatefulSet, rev *appsv1.ControllerRevision) (*appsv1.StatefulSet, error) {
	tmpl, err := history.Template(rev)
	if err != nil {
		return nil, err
	}
	out := set.DeepCopy()
	out.Spec.Template = *tmpl
	return out, nil
}

func (c *Controller) claimPods(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) ([]*corev1.Pod, error) {
	candidates, err := claim.Candidates[*corev1.Pod](c.podIndex, set)
	if err != nil {
		return nil, err
	}
	var members []*corev1.Pod
	for _, p := range candidates {
		if IsMember(set, p) {
			members = append(members, p)
		}
	}
	cl := &claim.Claimer{Owner: set, OwnerGVK: Kind, Selector: sel, CanAdopt: c.canAdopt(set),
		Patch: func(ctx context.Context, ns, name string, p []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
			return err
		}}
	return claim.Claim(ctx, cl, members)
}

func (c *Controller) claimRevisions(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) ([]*appsv1.ControllerRevision, error) {
	candidates, err := claim.Candidates[*appsv1.ControllerRevision](c.revIndex, set)
	if err != nil {
		return nil, err
	}
	cl := &claim.Claimer{Owner: set, OwnerGVK: Kind, Selector: sel, CanAdopt: c.canAdopt(set),
		Patch: func(ctx context.Context, ns, name string, p []byte) error {
			_, err := c.client.AppsV1().ControllerRevisions(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
			return err
		}}
	revs, err := claim.Claim(ctx, cl, candidates)
	history.Sort(revs)
	return revs, err
}

func (c *Controller) canAdopt(set *appsv1.StatefulSet) func(context.Context) error {
	return claim.OwnerCheck(set, func(ctx context.Context) (metav1.Object, error) {
		return c.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	})
}

// claimsOf returns the existing claims of set's pods' ordinals and of its replicas.
func (c *Controller) claimsOf(set *appsv1.StatefulSet, pods []*corev1.Pod) map[string]*corev1.PersistentVolumeClaim {
	if len(set.Spec.VolumeClaimTemplates) == 0 {
		return nil
	}
	out := map[string]*corev1.PersistentVolumeClaim{}
	look := func(ord int) {
		for _, want := range Claims(set, ord) {
			if pvc, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(want.Name); err == nil {
				out[pvc.Name] = pvc
			}
		}
	}
	start := startOrdinal(set)
	for o := start; o < start+replicaCount(set); o++ {
		look(o)
	}
	for _, p := range pods {
		if _, o := ParentAndOrdinal(p.Name); !inRange(set, o) {
			look(o)
		}
	}
	return out
}

// revisions returns the current and update revisions of set, creating or renumbering the
// update revision as history.Choose says, the collision count, and the revisions with the
// update revision among them (sorted).
func (c *Controller) revisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) (current, update *appsv1.ControllerRevision, collisions int32, all []*appsv1.ControllerRevision, err error) {
	if set.Status.CollisionCount != nil {
		collisions = *set.Status.CollisionCount
	}
	data, err := history.TemplatePatch(set)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	next := history.MaxRevision(revs) + 1
	candidate := history.New(set, Kind, set.Spec.Template.Labels, data, next, &collisions)
	all = revs
	switch choice, equal := history.Choose(revs, candidate); choice {
	case history.Latest:
		update = equal
	case history.Renumber:
		renumbered := equal.DeepCopy()
		renumbered.Revision = next
		if update, err = c.client.AppsV1().ControllerRevisions(set.Namespace).Update(ctx, renumbered, metav1.UpdateOptions{}); err != nil {
			return nil, nil, 0, nil, err
		}
		all = replaceRevision(revs, update)
	case history.Create:
		if update, err = c.createRevision(ctx, set, candidate, &collisions); err != nil {
			return nil, nil, 0, nil, err
		}
		all = append(append([]*appsv1.ControllerRevision(nil), revs...), update)
	}
	history.Sort(all)
	for _, r := range all {
		if r.Name == set.Status.CurrentRevision {
			current = r
		}
	}
	if current == nil {
		current = update
	}
	return current, update, collisions, all, nil
}

func replaceRevision(revs []*appsv1.ControllerRevision, r *appsv1.ControllerRevision) []*appsv1.ControllerRevision {
	out := make([]*appsv1.ControllerRevision, len(revs))
	for i := range revs {
		out[i] = revs[i]
		if revs[i].UID == r.UID {
			out[i] = r
		}
	}
	return out
}

// createRevision creates rev, renaming it with a higher collision count while its name is
// taken by a revision with other data.
func (c *Controller) createRevision(ctx context.Context, set *appsv1.StatefulSet, rev *appsv1.ControllerRevision, collisions *int32) (*appsv1.ControllerRevision, error) {
	revs := c.client.AppsV1().ControllerRevisions(set.Namespace)
	for {
		hash := history.Hash(rev.Data.Raw, collisions)
		try := rev.DeepCopy()
		try.Name = history.Name(set.Name, hash)
		try.Labels[history.HashLabel] = hash
		created, err := revs.Create(ctx, try, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			return created, err
		}
		exists, err := revs.Get(ctx, try.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if history.Equal(exists, try) {
			return exists, nil
		}
		*collisions++
	}
}

// act runs res's phases. With the Parallel policy the actions of a phase run at once.
func (c *Controller) act(ctx context.Context, key string, set *appsv1.StatefulSet, res Result) error {
	creates, deletes := 0, []string(nil)
	for _, a := range res.Actions() {
		switch a.Type {
		case CreatePod:
			creates++
		case DeletePod:
			deletes = append(deletes, a.Pod.Namespace+"/"+a.Pod.Name)
		}
	}
	if creates+len(deletes) > 0 {
		c.exp.Expect(key, creates, deletes)
	}
	parallel := set.Spec.PodManagementPolicy == appsv1.ParallelPodManagement
	var failed error
	for _, phase := range res.Phases {
		if failed != nil {
			for _, a := range phase {
				c.observeUnsent(key, a)
			}
			continue
		}
		errs := make([]error, len(phase))
		if parallel {
			var wg sync.WaitGroup
			for i, a := range phase {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = c.do(ctx, key, set, a)
				}()
			}
			wg.Wait()
		} else {
			for i, a := range phase {
				if failed != nil {
					c.observeUnsent(key, a)
					continue
				}
				errs[i] = c.do(ctx, key, set, a)
				failed = errs[i]
			}
		}
		failed = errors.Join(errs...)
	}
	return failed
}

// observeUnsent lowers the expectations of an action that was not sent.
func (c *Controller) observeUnsent(key string, a Action) {
	switch a.Type {
	case CreatePod:
		c.exp.CreationObserved(key)
	case DeletePod:
		c.exp.DeletionObserved(key, a.Pod.Namespace+"/"+a.Pod.Name)
	}
}

func (c *Controller) do(ctx context.Context, key string, set *appsv1.StatefulSet, a Action) error {
	pods := c.client.CoreV1().Pods(set.Namespace)
	switch a.Type {
	case CreatePod:
		err := c.createClaims(ctx, set, a.Pod, a.Claims)
		if err == nil {
			_, err = pods.Create(ctx, a.Pod, metav1.CreateOptions{})
		}
		if err != nil {
			c.exp.CreationObserved(key)
		}
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("pod %s/%s: %w", set.Namespace, a.Pod.Name, err)
		}
		c.podEvent("create", set, a.Pod, err)
		return err
	case CreateClaims:
		return c.createClaims(ctx, set, a.Pod, a.Claims)
	case DeletePod:
		err := pods.Delete(ctx, a.Pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &a.Pod.UID}})
		if err != nil {
			c.exp.DeletionObserved(key, a.Pod.Namespace+"/"+a.Pod.Name)
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return nil
			}
		}
		c.log.Debug("statefulset pod deleted", "set", key, "pod", a.Pod.Name, "reason", a.Reason, "err", err)
		c.podEvent("delete", set, a.Pod, err)
		return err
	case UpdateIdentity:
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{
			appsv1.StatefulSetPodNameLabel: a.Pod.Labels[appsv1.StatefulSetPodNameLabel],
			appsv1.PodIndexLabel:           a.Pod.Labels[appsv1.PodIndexLabel]}}})
		_, err := pods.Patch(ctx, a.Pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		c.podEvent("update", set, a.Pod, err)
		return err
	case UpdateClaims:
		var errs []error
		for _, pvc := range a.Claims {
			_, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				c.claimEvent("update", set, a.Pod, pvc, err)
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	return nil
}

func (c *Controller) createClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) error {
	var errs []error
	for _, pvc := range claims {
		_, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		c.claimEvent("create", set, pod, pvc, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to create PVC %s: %w", pvc.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.podEvent("create", set, pod, err)
		return err
	}
	return nil
}

// podEvent records upstream's event for verb on pod: SuccessfulCreate "create Pod web-0 in
// StatefulSet web successful", or FailedCreate with the error.
func (c *Controller) podEvent(verb string, set *appsv1.StatefulSet, pod *corev1.Pod, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		c.recorder.Event(set, corev1.EventTypeNormal, "Successful"+title,
			fmt.Sprintf("%s Pod %s in StatefulSet %s successful", verb, pod.Name, set.Name))
		return
	}
	c.recorder.Event(set, corev1.EventTypeWarning, "Failed"+title,
		fmt.Sprintf("%s Pod %s in StatefulSet %s failed error: %s", verb, pod.Name, set.Name, err))
}

func (c *Controller) claimEvent(verb string, set *appsv1.StatefulSet, pod *corev1.Pod, pvc *corev1.PersistentVolumeClaim, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		c.recorder.Event(set, corev1.EventTypeNormal, "Successful"+title,
			fmt.Sprintf("%s Claim %s Pod %s in StatefulSet %s success", verb, pvc.Name, pod.Name, set.Name))
		return
	}
	c.recorder.Event(set, corev1.EventTypeWarning, "Failed"+title,
		fmt.Sprintf("%s Claim %s for Pod %s in StatefulSet %s failed error: %s", verb, pvc.Name, pod.Name, set.Name, err))
}
