package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/controller/claim"
	"github.com/skiff-project/skiff/internal/controller/expectations"
	"github.com/skiff-project/skiff/internal/controller/keyqueue"
	"github.com/skiff-project/skiff/internal/controller/replicaset"
)

// Name is the controller's name, as upstream's.
const Name = "job-controller"

// ManagedBy is the spec.managedBy value of the Jobs this controller manages (unset means the
// same); a Job managed by another controller is left alone.
const ManagedBy = "kubernetes.io/job-controller"

// orphanPrefix marks queue keys of pods whose tracking finalizer must go because their Job is.
const orphanPrefix = "pod:"

// Controller is the Job controller.
type Controller struct {
	client   kubernetes.Interface
	jobs     batchlisters.JobLister
	podIndex cache.Indexer
	podStore cache.Store
	queue    keyqueue.Queue
	exp      *expectations.Expectations
	recorder record.EventRecorder
	clock    clock.Clock
	log      *slog.Logger
	synced   []cache.InformerSynced

	mu      sync.Mutex
	backoff map[string]Backoff // per Job key
	// overwritten is, per Job key, the resourceVersion of the Job whose status the last
	// sync replaced: while the cache still shows it, the cache is behind that write.
	overwritten map[string]string
}

// New returns the Job controller, registering its informers on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	jobInf := f.Batch().V1().Jobs().Informer()
	podInf := f.Core().V1().Pods().Informer()
	if err := claim.AddControllerIndex(podInf); err != nil {
		return nil, err
	}
	c := &Controller{
		client:   client,
		jobs:     f.Batch().V1().Jobs().Lister(),
		podIndex: podInf.GetIndexer(),
		podStore: podInf.GetStore(),
		queue:    keyqueue.New(Name),
		exp:      expectations.New(nil),
		recorder: recorder,
		clock:    clock.RealClock{},
		log:      log,
		synced:   []cache.InformerSynced{jobInf.HasSynced, podInf.HasSynced},
		backoff:  map[string]Backoff{},

		overwritten: map[string]string{},
	}
	if _, err := jobInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(c.queue, obj) },
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.forget(key, true)
			}
		},
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podChanged(obj, true, false) },
		UpdateFunc: func(_, obj any) { c.podChanged(obj, false, false) },
		DeleteFunc: func(obj any) { c.podChanged(obj, false, true) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, Name, c.queue, workers, c.log, c.sync, c.synced...)
}

func (c *Controller) podChanged(obj any, added, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "Job" || ref.APIVersion != jobGVK.GroupVersion().String() {
		return
	}
	job, err := c.jobs.Jobs(pod.Namespace).Get(ref.Name)
	if err != nil || job.UID != ref.UID {
		if hasFinalizer(pod) && !deleted {
			c.queue.Add(orphanPrefix + pod.Namespace + "/" + pod.Name)
		}
		return
	}
	key := job.Namespace + "/" + job.Name
	switch {
	case added && pod.DeletionTimestamp == nil:
		c.exp.CreationObserved(key)
	case deleted || pod.DeletionTimestamp != nil:
		c.exp.DeletionObserved(key, pod.Namespace+"/"+pod.Name)
	}
	c.queue.Add(key)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	if podKey, ok := strings.CutPrefix(key, orphanPrefix); ok {
		return c.releaseOrphan(ctx, podKey)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	job, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(key, true)
		return nil
	}
	if err != nil {
		return err
	}
	if m := job.Spec.ManagedBy; m != nil && *m != ManagedBy {
		return nil // another controller's Job
	}
	if c.cacheBehind(key, job) {
		// The last status written is not in the cache yet: a pod released since could be
		// counted nowhere. The Job's update event brings it back.
		return nil
	}
	if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode != batchv1.NonIndexedCompletion && !isIndexed(job) {
		c.recorder.Event(job, corev1.EventTypeWarning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return nil
	}
	// Expectations first: a pod created after the listing must not look like one missing.
	manage := c.exp.Satisfied(key) && job.DeletionTimestamp == nil
	pods, err := c.claim(ctx, job)
	if err != nil {
		return err
	}
	d := Decide(Input{Job: job, Pods: pods, Now: c.clock.Now(), Manage: manage, Backoff: c.backoffOf(key)})
	if !apiequality.Semantic.DeepEqual(d.Status, job.Status) {
		j := job.DeepCopy()
		j.Status = d.Status
		if _, err := c.client.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
			return err
		}
		c.mu.Lock()
		c.overwritten[key] = job.ResourceVersion
		c.mu.Unlock()
	}
	if finishedStatus(d.Status) {
		c.forget(key, false)
	} else {
		c.setBackoff(key, d.Backoff)
	}
	for _, e := range d.Events {
		c.recorder.Event(job, e.Type, e.Reason, e.Message)
	}
	// The finished pods are recorded in status now: their finalizers may go.
	var errs []error
	for _, p := range d.Release {
		if err := removeFinalizer(ctx, c.client, p); err != nil {
			errs = append(errs, err)
		}
	}
	if manage {
		errs = append(errs, c.act(ctx, key, job, d))
	}
	if d.RequeueAfter > 0 {
		c.queue.AddAfter(key, d.RequeueAfter)
	}
	return errors.Join(errs...)
}

// finishedStatus reports whether st has the Complete or Failed condition.
func finishedStatus(st batchv1.JobStatus) bool {
	return finished(&batchv1.Job{Status: st})
}

func (c *Controller) backoffOf(key string) Backoff {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.backoff[key]
}

func (c *Controller) setBackoff(key string, b Backoff) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.backoff[key] = b
}

// cacheBehind reports whether job, from the cache, is the version whose status the last sync
// replaced.
func (c *Controller) cacheBehind(key string, job *batchv1.Job) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	rv, ok := c.overwritten[key]
	if ok && rv == job.ResourceVersion {
		return true
	}
	delete(c.overwritten, key)
	return false
}

// forget drops what the controller remembers of a finished Job, or with gone of a deleted
// one.
func (c *Controller) forget(key string, gone bool) {
	c.exp.Delete(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.backoff, key)
	if gone {
		delete(c.overwritten, key)
	}
}

// claim returns the pods job controls, adopting and releasing as its selector says.
func (c *Controller) claim(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, nil
	}
	candidates, err := claim.Candidates[*corev1.Pod](c.podIndex, job)
	if err != nil {
		return nil, err
	}
	claimer := &claim.Claimer{
		Owner: job, OwnerGVK: jobGVK, Selector: sel,
		CanAdopt: claim.OwnerCheck(job, func(ctx context.Context) (metav1.Object, error) {
			return c.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		}),
		Patch: func(ctx context.Context, ns, name string, p []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
			return err
		},
	}
	return claim.Claim(ctx, claimer, candidates)
}

// act deletes and creates pods as d says.
func (c *Controller) act(ctx context.Context, key string, job *batchv1.Job, d Decision) error {
	var errs []error
	if del := slices.Concat(d.Delete, d.DeleteUncounted); len(del) > 0 {
		keys := make([]string, len(del))
		for i, p := range del {
			keys[i] = p.Namespace + "/" + p.Name
		}
		c.exp.ExpectDeletions(key, keys)
		for i, p := range del {
			errs = append(errs, c.deletePod(ctx, key, job, p, i >= len(d.Delete)))
		}
	}
	if len(d.Create) > 0 {
		c.exp.ExpectCreations(key, len(d.Create))
		var next atomic.Int64
		n, err := replicaset.SlowStartBatch(len(d.Create), replicaset.SlowStartInitialBatchSize, func() error {
			pod := d.Create[next.Add(1)-1]
			created, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return nil
				}
				c.recorder.Eventf(job, corev1.EventTypeWarning, FailedCreate, "Error creating: %v", err)
				return err
			}
			c.recorder.Eventf(job, corev1.EventTypeNormal, SuccessfulCreate, "Created pod: %v", created.Name)
			return nil
		})
		for i := n; i < len(d.Create); i++ {
			c.exp.CreationObserved(key)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deletePod deletes p; uncounted, it first removes p's tracking finalizer, so that the Job
// does not count it.
func (c *Controller) deletePod(ctx context.Context, key string, job *batchv1.Job, p *corev1.Pod, uncounted bool) error {
	podKey := p.Namespace + "/" + p.Name
	if uncounted {
		if err := removeFinalizer(ctx, c.client, p); err != nil {
			c.exp.DeletionObserved(key, podKey)
			return err
		}
	}
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil {
		c.exp.DeletionObserved(key, podKey)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		c.recorder.Eventf(job, corev1.EventTypeWarning, FailedDelete, "Error deleting: %v", err)
		return err
	}
	c.recorder.Eventf(job, corev1.EventTypeNormal, SuccessfulDelete, "Deleted pod: %v", p.Name)
	return nil
}

// releaseOrphan removes the tracking finalizer of a pod whose Job is gone.
func (c *Controller) releaseOrphan(ctx context.Context, podKey string) error {
	obj, ok, err := c.podStore.GetByKey(podKey)
	if err != nil || !ok {
		return err
	}
	pod := obj.(*corev1.Pod)
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if job, err := c.jobs.Jobs(pod.Namespace).Get(ref.Name); err == nil && job.UID == ref.UID {
			return nil // the Job is back in the cache: it does the accounting
		}
	}
	return removeFinalizer(ctx, c.client, pod)
}

// removeFinalizer removes the tracking finalizer from pod, as upstream does: a strategic merge
// patch deleting that one value, which leaves any other change to the list alone and is
// harmless when the finalizer is already gone.
func removeFinalizer(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) error {
	if !hasFinalizer(pod) {
		return nil
	}
	patch := fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, TrackingFinalizer)
	_, err := client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
