// Package ttlafterfinished is the TTL-after-finished controller, as upstream's: a Job with
// spec.ttlSecondsAfterFinished is deleted (with foreground propagation, so its pods go first)
// that many seconds after it finished (its Complete or Failed condition, or
// status.completionTime).
package ttlafterfinished

import (
	"context"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Name is the controller's name, as upstream's.
const Name = "ttl-after-finished-controller"

// FinishedAt returns when job finished, and whether it has.
func FinishedAt(job *batchv1.Job) (time.Time, bool) {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			if !c.LastTransitionTime.IsZero() {
				return c.LastTransitionTime.Time, true
			}
			if job.Status.CompletionTime != nil {
				return job.Status.CompletionTime.Time, true
			}
			return time.Time{}, true
		}
	}
	return time.Time{}, false
}

// Due returns how long until job should be deleted (<= 0: now), and whether it should be at all.
func Due(job *batchv1.Job, now time.Time) (time.Duration, bool) {
	if job.Spec.TTLSecondsAfterFinished == nil || job.DeletionTimestamp != nil {
		return 0, false
	}
	at, done := FinishedAt(job)
	if !done {
		return 0, false
	}
	return at.Add(time.Duration(*job.Spec.TTLSecondsAfterFinished) * time.Second).Sub(now), true
}

// Controller is the TTL-after-finished controller.
type Controller struct {
	client kubernetes.Interface
	jobs   batchlisters.JobLister
	queue  keyqueue.Queue
	synced []cache.InformerSynced
	log    *slog.Logger
	now    func() time.Time
}

// New returns the controller, registering its informer on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	inf := f.Batch().V1().Jobs()
	c := &Controller{client: client, jobs: inf.Lister(), queue: keyqueue.New(Name), log: log, now: time.Now,
		synced: []cache.InformerSynced{inf.Informer().HasSynced}}
	enqueue := func(obj any) {
		if j, ok := obj.(*batchv1.Job); ok && j.Spec.TTLSecondsAfterFinished != nil {
			keyqueue.Enqueue(c.queue, j)
		}
	}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }})
	return c, err
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, Name, c.queue, workers, c.log, c.sync, c.synced...)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	job, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	wait, ok := Due(job, c.now())
	if !ok {
		return nil
	}
	if wait > 0 {
		c.queue.AddAfter(key, wait)
		return nil
	}
	// Check again against the API: the TTL may have changed, or the job restarted.
	fresh, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if wait, ok := Due(fresh, c.now()); !ok || wait > 0 {
		if ok {
			c.queue.AddAfter(key, wait)
		}
		return nil
	}
	fg := metav1.DeletePropagationForeground
	err = c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg,
		Preconditions: &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		c.log.Info("deleted finished job after its TTL", "job", key)
	}
	return err
}
