// Package keyqueue is the loop every controller runs: a rate-limited workqueue of
// namespace/name keys and workers that pass each key to a level-based sync function.
//
// A sync that returns nil is done with the key (its rate-limit history is forgotten); one that
// returns an error is retried with exponential back-off, up to MaxRetries times, after which the
// key is dropped until an informer event enqueues it again. A sync that wants to look again
// later without failing calls AddAfter itself.
package keyqueue

import (
	"context"
	"log/slog"
	"sync"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// MaxRetries is how many times a failing key is retried before it is dropped.
const MaxRetries = 15

// Queue is a rate-limited workqueue of keys.
type Queue = workqueue.TypedRateLimitingInterface[string]

// New returns a queue with client-go's default controller rate limiter.
func New(name string) Queue {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
}

// NewWithClock returns a queue like New whose delays (AddAfter, back-off) run on clk, so that
// a controller that schedules by time can be driven by a fake clock in tests.
func NewWithClock(name string, clk clock.WithTicker) Queue {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name, Clock: clk})
}

// Enqueue adds obj's namespace/name key (obj may be a tombstone).
func Enqueue(q Queue, obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	q.Add(key)
}

// OwnerEvents is the event handler of a controller's own objects (ReplicaSets, StatefulSets,
// ...): every change enqueues the object's key; a deletion first calls forget with the key (to
// drop the controller's expectations for it), then enqueues it.
func OwnerEvents(q Queue, forget func(key string)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { Enqueue(q, obj) },
		UpdateFunc: func(_, obj any) { Enqueue(q, obj) },
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				forget(key)
				q.Add(key)
			}
		},
	}
}

// Run waits for synced, then runs workers that call sync for each key until ctx ends; it shuts
// the queue down and waits for the workers before returning.
func Run(ctx context.Context, name string, q Queue, workers int, log *slog.Logger, syncFn func(ctx context.Context, key string) error, synced ...cache.InformerSynced) {
	defer q.ShutDown()
	if !cache.WaitForNamedCacheSync(name, ctx.Done(), synced...) {
		return
	}
	go func() {
		<-ctx.Done()
		q.ShutDown()
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for process(ctx, name, q, log, syncFn) {
			}
		}()
	}
	wg.Wait()
}

func process(ctx context.Context, name string, q Queue, log *slog.Logger, syncFn func(ctx context.Context, key string) error) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	err := syncFn(ctx, key)
	if err == nil {
		q.Forget(key)
		return true
	}
	if ctx.Err() != nil {
		return true
	}
	if q.NumRequeues(key) < MaxRetries {
		log.Debug("sync failed, will retry", "controller", name, "key", key, "err", err)
		q.AddRateLimited(key)
		return true
	}
	log.Warn("sync failed, dropping key", "controller", name, "key", key, "err", err)
	q.Forget(key)
	return true
}
