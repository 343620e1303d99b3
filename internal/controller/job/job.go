// Package job is the Job controller (NonIndexed Jobs only: completionMode Indexed, pod failure
// policies, success policies and suspension conditions are not implemented yet).
//
// sync(key) claims the pods the Job's selector matches, then:
//
//  1. Track: finished pods that carry the batch.kubernetes.io/job-tracking finalizer are
//     recorded in status.uncountedTerminatedPods; the status is written; then their finalizer
//     is removed, and a later sync moves them into status.succeeded and status.failed. A pod
//     is thus counted exactly once, even if it is deleted meanwhile (upstream's protocol).
//  2. Decide: failures beyond spec.backoffLimit (reason BackoffLimitExceeded) or a run longer
//     than spec.activeDeadlineSeconds (DeadlineExceeded) add FailureTarget, and
//     spec.completions successes add SuccessCriteriaMet (CompletionsReached); the active pods are
//     then deleted, and once none is left Failed or Complete follows. Otherwise the controller
//     keeps min(parallelism, completions left) pods active, waiting 10 s after a failure before
//     it creates pods again, doubling for each further failure since the last success, up to
//     6 min.
//  3. Status: active, ready, terminating, startTime (first sync), completionTime (Complete).
//
// Pods are created with the finalizer, an owner reference and the Job's template; creates and
// deletes are recorded in expectations as in the ReplicaSet controller.
package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

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

// Event reasons, as upstream's.
const (
	SuccessfulCreate = "SuccessfulCreate"
	FailedCreate     = "FailedCreate"
	SuccessfulDelete = "SuccessfulDelete"
	FailedDelete     = "FailedDelete"
	Completed        = "Completed"
)

var jobGVK = batchv1.SchemeGroupVersion.WithKind("Job")

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
	}
	if _, err := jobInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(c.queue, obj) },
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.exp.Delete(key)
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
	if podKey, ok := cutPrefix(key, orphanPrefix); ok {
		return c.releaseOrphan(ctx, podKey)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	job, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	pods, err := c.claim(ctx, job)
	if err != nil {
		return err
	}
	now := c.clock.Now()
	st, release := Track(job.Status, pods)
	var d Decision
	manage := c.exp.Satisfied(key) && job.DeletionTimestamp == nil
	if manage {
		d = Decide(job, st, pods, now)
	}
	if st.StartTime == nil && !(job.Spec.Suspend != nil && *job.Spec.Suspend) {
		st.StartTime = &metav1.Time{Time: now}
		if ads := job.Spec.ActiveDeadlineSeconds; ads != nil {
			c.queue.AddAfter(key, time.Duration(*ads)*time.Second)
		}
	}
	st.Active, st.Ready, st.Terminating = countsPtr(pods)
	for _, cond := range d.Conditions {
		st.Conditions = append(st.Conditions, cond)
	}
	if d.Complete {
		st.CompletionTime = &metav1.Time{Time: now}
	}
	if !apiequality.Semantic.DeepEqual(st, job.Status) {
		j := job.DeepCopy()
		j.Status = st
		if _, err := c.client.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
			return err
		}
		for _, cond := range d.Conditions {
			c.event(job, cond)
		}
	}
	// The finished pods are recorded in status now: their finalizers may go.
	var errs []error
	for _, p := range release {
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

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

func countsPtr(pods []*corev1.Pod) (int32, *int32, *int32) {
	a, r, t := Counts(pods)
	return a, &r, &t
}

func (c *Controller) event(job *batchv1.Job, cond batchv1.JobCondition) {
	switch cond.Type {
	case batchv1.JobFailureTarget:
		c.recorder.Event(job, corev1.EventTypeWarning, cond.Reason, cond.Message)
	case batchv1.JobComplete:
		c.recorder.Event(job, corev1.EventTypeNormal, Completed, "Job completed")
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

// act creates and deletes pods as d says.
func (c *Controller) act(ctx context.Context, key string, job *batchv1.Job, d Decision) error {
	var errs []error
	if d.Create > 0 {
		c.exp.ExpectCreations(key, d.Create)
		n, err := replicaset.SlowStartBatch(d.Create, replicaset.SlowStartInitialBatchSize, func() error {
			pod := replicaset.PodFromTemplate(&job.Spec.Template, job, jobGVK)
			pod.Finalizers = append(pod.Finalizers, TrackingFinalizer)
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
		for i := n; i < d.Create; i++ {
			c.exp.CreationObserved(key)
		}
		errs = append(errs, err)
	}
	if len(d.Delete) > 0 {
		keys := make([]string, len(d.Delete))
		for i, p := range d.Delete {
			keys[i] = p.Namespace + "/" + p.Name
		}
		c.exp.ExpectDeletions(key, keys)
		for _, p := range d.Delete {
			err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err != nil {
				c.exp.DeletionObserved(key, p.Namespace+"/"+p.Name)
				if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					c.recorder.Eventf(job, corev1.EventTypeWarning, FailedDelete, "Error deleting: %v", err)
					errs = append(errs, err)
				}
				continue
			}
			c.recorder.Eventf(job, corev1.EventTypeNormal, SuccessfulDelete, "Deleted pod: %v", p.Name)
		}
	}
	return errors.Join(errs...)
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

// removeFinalizer removes the tracking finalizer from pod with a JSON patch guarded by its
// finalizer list, so that a concurrent change fails rather than being overwritten.
func removeFinalizer(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) error {
	i := slices.Index(pod.Finalizers, TrackingFinalizer)
	if i < 0 {
		return nil
	}
	patch := fmt.Sprintf(`[{"op":"test","path":"/metadata/finalizers/%d","value":%q},{"op":"remove","path":"/metadata/finalizers/%d"}]`,
		i, TrackingFinalizer, i)
	_, err := client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
