// Package cronjob is the CronJob controller: it creates a Job for each time a CronJob's
// schedule comes round (in its time zone), with upstream's concurrency policies, starting
// deadline and history limits.
//
// sync(key) gathers the Jobs the CronJob controls (from the informer, plus a live read of any
// in status.active the informer has not seen), lets Decide say what to do, deletes, creates,
// writes the status and records the events; the queue then brings the CronJob back at its next
// schedule time. The Job's name, <cronjob>-<minutes since the epoch of the schedule time>, is
// the lock that keeps a schedule time from getting two Jobs: a create that finds the name
// taken by a Job of this CronJob only adds it to status.active.
//
// Time comes from an injected clock (k8s.io/utils/clock), which also runs the queue's delays,
// so that tests step a fake clock through schedule times and never sleep. The tz database is
// embedded (time/tzdata), as upstream's controller manager embeds it, so that spec.timeZone
// works on hosts without /usr/share/zoneinfo.
package cronjob

import (
	"context"
	"errors"
	"log/slog"
	_ "time/tzdata" // spec.timeZone on hosts without a tz database

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
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller/claim"
	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Name is the controller's name, as upstream's (its service account and event source).
const Name = "cronjob-controller"

// Controller is the CronJob controller.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobIndex cache.Indexer
	queue    keyqueue.Queue
	recorder record.EventRecorder
	clock    clock.WithTicker
	log      *slog.Logger
	synced   []cache.InformerSynced
}

// New returns the CronJob controller on the shared informers f, reading time from clk (nil:
// the real clock).
func New(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, clk clock.WithTicker, log *slog.Logger) (*Controller, error) {
	if clk == nil {
		clk = clock.RealClock{}
	}
	cjInf := f.Batch().V1().CronJobs().Informer()
	jobInf := f.Batch().V1().Jobs().Informer()
	if err := claim.AddControllerIndex(jobInf); err != nil {
		return nil, err
	}
	c := &Controller{
		client:   client,
		cronJobs: f.Batch().V1().CronJobs().Lister(),
		jobIndex: jobInf.GetIndexer(),
		queue:    keyqueue.NewWithClock("cronjob", clk),
		recorder: recorder,
		clock:    clk,
		log:      log,
		synced:   []cache.InformerSynced{cjInf.HasSynced, jobInf.HasSynced},
	}
	enqueue := func(obj any) { keyqueue.Enqueue(c.queue, obj) }
	if _, err := cjInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := jobInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.jobChanged,
		UpdateFunc: func(old, obj any) {
			if o, ok := old.(*batchv1.Job); ok && !apiequality.Semantic.DeepEqual(metav1.GetControllerOfNoCopy(o), metav1.GetControllerOfNoCopy(obj.(*batchv1.Job))) {
				c.jobChanged(old)
			}
			c.jobChanged(obj)
		},
		DeleteFunc: c.jobChanged,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, "cronjob", c.queue, workers, c.log, c.sync, c.synced...)
}

func (c *Controller) jobChanged(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(job)
	if ref == nil || ref.Kind != Kind.Kind || ref.APIVersion != Kind.GroupVersion().String() {
		return
	}
	if cj, err := c.cronJobs.CronJobs(job.Namespace).Get(ref.Name); err == nil && cj.UID == ref.UID {
		keyqueue.Enqueue(c.queue, cj)
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cj, err := c.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	jobs, err := c.jobsOf(ctx, cj)
	if err != nil {
		return err
	}
	if unlisted(cj, jobs) {
		// A running Job missing from status.active is most often one this controller just
		// created, seen before its own status update: read the CronJob afresh (upstream does)
		// rather than report an UnexpectedJob.
		fresh, err := c.client.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if fresh.UID == cj.UID {
			cj = fresh
		}
	}
	now := c.clock.Now()
	d := Decide(cj, jobs, now)
	var errs []error
	for _, j := range d.Delete {
		errs = append(errs, c.deleteJob(ctx, cj, j))
	}
	replaced := true
	for _, j := range d.Replace {
		if err := c.deleteJob(ctx, cj, j); err != nil {
			errs = append(errs, err)
			replaced = false
		}
	}
	status := d.Status
	if d.Create != nil && replaced {
		ref, err := c.createJob(ctx, cj, d.Create)
		switch {
		case err != nil:
			errs = append(errs, err)
			status.LastScheduleTime = cj.Status.LastScheduleTime
		case ref != nil:
			status.Active = append(status.Active, *ref)
		}
	}
	for _, e := range d.Events {
		c.recorder.Event(cj, e.Type, e.Reason, e.Message)
	}
	if !apiequality.Semantic.DeepEqual(status, cj.Status) {
		next := cj.DeepCopy()
		next.Status = status
		if _, err := c.client.BatchV1().CronJobs(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if d.RequeueAfter != nil {
		c.queue.AddAfter(key, *d.RequeueAfter)
	}
	return nil
}

// unlisted reports whether a running Job of jobs is missing from cj's status.active.
func unlisted(cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	for _, j := range jobs {
		if finished(j) == "" && !isActive(&cj.Status, j.UID) {
			return true
		}
	}
	return false
}

// jobsOf returns the Jobs cj controls: those in the informer, and those of status.active that
// the informer does not show yet but the API server has.
func (c *Controller) jobsOf(ctx context.Context, cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	objs, err := c.jobIndex.ByIndex(claim.ControllerIndex, string(cj.UID))
	if err != nil {
		return nil, err
	}
	var jobs []*batchv1.Job
	seen := map[types.UID]bool{}
	for _, o := range objs {
		j := o.(*batchv1.Job)
		jobs = append(jobs, j)
		seen[j.UID] = true
	}
	for _, ref := range cj.Status.Active {
		if seen[ref.UID] {
			continue
		}
		j, err := c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, err
		case j.UID == ref.UID:
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// createJob creates job and returns the reference status.active gets: nil if the name is
// taken by a Job of another owner, or by one of ours that is already active.
func (c *Controller) createJob(ctx context.Context, cj *batchv1.CronJob, job *batchv1.Job) (*corev1.ObjectReference, error) {
	created, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		existing, getErr := c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if getErr != nil {
			return nil, getErr
		}
		if !metav1.IsControlledBy(existing, cj) || isActive(&cj.Status, existing.UID) {
			return nil, nil
		}
		created = existing
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, FailedCreate, "Error creating job: %v", err)
		return nil, err
	default:
		c.recorder.Eventf(cj, corev1.EventTypeNormal, SuccessfulCreate, "Created job %v", created.Name)
	}
	return &corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: created.Namespace, Name: created.Name,
		UID: created.UID, ResourceVersion: created.ResourceVersion}, nil
}

// deleteJob deletes j and its pods (background propagation).
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, j *batchv1.Job) error {
	err := c.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground), Preconditions: &metav1.Preconditions{UID: &j.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, FailedDelete, "Deleted job: %v", err)
		return err
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, SuccessfulDelete, "Deleted job %v", j.Name)
	return nil
}
