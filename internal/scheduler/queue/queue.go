// Package queue holds the pods waiting to be scheduled, in three parts as upstream's
// scheduling queue:
//
//   - active: pods ready to be tried, highest priority first, then oldest first;
//   - backoff: pods that failed recently, waiting out a backoff of 1 s doubling per attempt up
//     to 10 s;
//   - unschedulable: pods that fit nowhere, parked until a cluster event that could make them
//     fit (MoveAllToActiveOrBackoff), or until they have waited 5 minutes.
//
// The owner calls Run to flush backoff (every second) and leftover unschedulable pods (every
// 30 s), Pop to take the next pod, and AddUnschedulableIfNotPresent with the cycle Pop
// returned when the pod fails. Time comes from the injected clock.
package queue

import (
	"container/heap"
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Upstream's defaults.
const (
	DefaultInitialBackoff      = 1 * time.Second
	DefaultMaxBackoff          = 10 * time.Second
	MaxInUnschedulable         = 5 * time.Minute
	backoffFlushInterval       = 1 * time.Second
	unschedulableFlushInterval = 30 * time.Second
)

// QueuedPodInfo is a pod in the queue with its scheduling history.
type QueuedPodInfo struct {
	*framework.PodInfo
	// Timestamp is when the pod last entered the queue.
	Timestamp time.Time
	// InitialAttemptTimestamp is when it was first popped.
	InitialAttemptTimestamp time.Time
	Attempts                int
	// UnschedulablePlugins rejected the pod in its last attempt.
	UnschedulablePlugins map[string]bool
	index                int
	where                int
}

const (
	nowhere = iota
	inActive
	inBackoff
	inUnschedulable
	inFlight
)

type podHeap struct {
	items []*QueuedPodInfo
	less  func(a, b *QueuedPodInfo) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *podHeap) Push(x any) {
	p := x.(*QueuedPodInfo)
	p.index = len(h.items)
	h.items = append(h.items, p)
}
func (h *podHeap) Pop() any {
	n := len(h.items)
	p := h.items[n-1]
	h.items[n-1] = nil
	h.items = h.items[:n-1]
	return p
}

// Queue is the scheduling queue; safe for concurrent use.
type Queue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	clock clock.WithTicker

	initialBackoff, maxBackoff time.Duration

	pods          map[types.UID]*QueuedPodInfo
	active        *podHeap
	backoff       *podHeap
	unschedulable map[types.UID]*QueuedPodInfo

	schedulingCycle  int64
	moveRequestCycle int64
	closed           bool
}

// New returns an empty queue. Zero backoffs take upstream's defaults.
func New(clk clock.WithTicker, initialBackoff, maxBackoff time.Duration) *Queue {
	if initialBackoff == 0 {
		initialBackoff = DefaultInitialBackoff
	}
	if maxBackoff == 0 {
		maxBackoff = DefaultMaxBackoff
	}
	q := &Queue{clock: clk, initialBackoff: initialBackoff, maxBackoff: maxBackoff,
		pods: map[types.UID]*QueuedPodInfo{}, unschedulable: map[types.UID]*QueuedPodInfo{}}
	q.cond = sync.NewCond(&q.mu)
	q.active = &podHeap{less: ActiveLess}
	q.backoff = &podHeap{less: func(a, b *QueuedPodInfo) bool { return q.backoffExpiry(a).Before(q.backoffExpiry(b)) }}
	return q
}

// ActiveLess orders the active queue: higher priority first, then earlier timestamp.
func ActiveLess(a, b *QueuedPodInfo) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return a.Timestamp.Before(b.Timestamp)
}

// BackoffDuration is initial * 2^(attempts-1), capped at max.
func BackoffDuration(attempts int, initial, maxBackoff time.Duration) time.Duration {
	d := initial
	for i := 1; i < attempts; i++ {
		if d > maxBackoff-d {
			return maxBackoff
		}
		d += d
	}
	return d
}

func (q *Queue) backoffExpiry(p *QueuedPodInfo) time.Time {
	return p.Timestamp.Add(BackoffDuration(p.Attempts, q.initialBackoff, q.maxBackoff))
}

func (q *Queue) isBackingOff(p *QueuedPodInfo) bool {
	return p.Attempts > 0 && q.backoffExpiry(p).After(q.clock.Now())
}

func (q *Queue) removeLocked(p *QueuedPodInfo) {
	switch p.where {
	case inActive:
		heap.Remove(q.active, p.index)
	case inBackoff:
		heap.Remove(q.backoff, p.index)
	case inUnschedulable:
		delete(q.unschedulable, p.Pod.UID)
	}
	p.where = nowhere
}

func (q *Queue) toActiveLocked(p *QueuedPodInfo) {
	p.where = inActive
	heap.Push(q.active, p)
	q.cond.Signal()
}

func (q *Queue) toBackoffLocked(p *QueuedPodInfo) {
	p.where = inBackoff
	heap.Push(q.backoff, p)
}

// Add queues a new pending pod (or requeues an updated one) as active.
func (q *Queue) Add(pod *v1.Pod) {
	q.AddPodInfo(framework.NewPodInfo(pod))
}

// AddPodInfo is Add for an already parsed pod.
func (q *Queue) AddPodInfo(pi *framework.PodInfo) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p, ok := q.pods[pi.Pod.UID]; ok {
		p.PodInfo = pi
		if p.where == inUnschedulable || p.where == inBackoff {
			q.removeLocked(p)
			q.toActiveLocked(p)
		} else if p.where == inActive {
			heap.Fix(q.active, p.index)
		}
		return
	}
	p := &QueuedPodInfo{PodInfo: pi, Timestamp: q.clock.Now()}
	q.pods[pi.Pod.UID] = p
	q.toActiveLocked(p)
}

// Update replaces a queued pod. An unschedulable pod whose spec or labels changed may fit now,
// so it moves to active (or backoff); status-only changes (our own condition) do not move it.
func (q *Queue) Update(old, pod *v1.Pod) {
	q.mu.Lock()
	p, ok := q.pods[pod.UID]
	if !ok {
		q.mu.Unlock()
		q.Add(pod)
		return
	}
	defer q.mu.Unlock()
	changed := old == nil || !equality.Semantic.DeepEqual(old.Spec, pod.Spec) ||
		!equality.Semantic.DeepEqual(old.Labels, pod.Labels) || !equality.Semantic.DeepEqual(old.Annotations, pod.Annotations)
	if changed {
		p.PodInfo = framework.NewPodInfo(pod)
	} else {
		p.PodInfo.Pod = pod
	}
	switch p.where {
	case inActive:
		heap.Fix(q.active, p.index)
	case inBackoff:
		heap.Fix(q.backoff, p.index)
	case inUnschedulable:
		if changed {
			q.removeLocked(p)
			q.requeueLocked(p)
		}
	}
}

// Delete removes a pod from the queue.
func (q *Queue) Delete(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p, ok := q.pods[pod.UID]; ok {
		q.removeLocked(p)
		delete(q.pods, pod.UID)
	}
}

// Pop blocks until a pod is active (or ctx ends or the queue closes) and returns it with the
// scheduling cycle number that AddUnschedulableIfNotPresent needs.
func (q *Queue) Pop(ctx context.Context) (*QueuedPodInfo, int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 {
		if q.closed || ctx.Err() != nil {
			return nil, 0, false
		}
		q.cond.Wait()
	}
	p := heap.Pop(q.active).(*QueuedPodInfo)
	p.where = inFlight
	p.Attempts++
	if p.Attempts == 1 {
		p.InitialAttemptTimestamp = q.clock.Now()
	}
	q.schedulingCycle++
	return p, q.schedulingCycle, true
}

// Done forgets a pod that was scheduled (popped and bound or being bound).
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p, ok := q.pods[uid]; ok && p.where == inFlight {
		delete(q.pods, uid)
	}
}

// AddUnschedulableIfNotPresent returns a failed pod to the queue: to backoff if a move request
// came while it was being scheduled (the event may have made it fit) or if the failure was an
// error rather than a rejection, otherwise to unschedulable.
func (q *Queue) AddUnschedulableIfNotPresent(p *QueuedPodInfo, cycle int64, rejected bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	cur, ok := q.pods[p.Pod.UID]
	if !ok || cur != p || p.where != inFlight {
		// Deleted meanwhile, or re-added as a new entry.
		return
	}
	p.Timestamp = q.clock.Now()
	if !rejected || q.moveRequestCycle >= cycle {
		q.toBackoffLocked(p)
		return
	}
	p.where = inUnschedulable
	q.unschedulable[p.Pod.UID] = p
}

func (q *Queue) requeueLocked(p *QueuedPodInfo) {
	if q.isBackingOff(p) {
		q.toBackoffLocked(p)
	} else {
		q.toActiveLocked(p)
	}
}

// MoveAllToActiveOrBackoff moves the unschedulable pods that match (nil: all) after a cluster
// event that could make them fit.
func (q *Queue) MoveAllToActiveOrBackoff(match func(*QueuedPodInfo) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range q.unschedulable {
		if match != nil && !match(p) {
			continue
		}
		q.removeLocked(p)
		q.requeueLocked(p)
	}
	q.moveRequestCycle = q.schedulingCycle
}

// FlushBackoffCompleted moves pods whose backoff has ended to active.
func (q *Queue) FlushBackoffCompleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for q.backoff.Len() > 0 {
		p := q.backoff.items[0]
		if q.backoffExpiry(p).After(now) {
			return
		}
		heap.Pop(q.backoff)
		q.toActiveLocked(p)
	}
}

// FlushUnschedulableLeftover moves pods unschedulable for longer than MaxInUnschedulable.
func (q *Queue) FlushUnschedulableLeftover() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for _, p := range q.unschedulable {
		if now.Sub(p.Timestamp) > MaxInUnschedulable {
			q.removeLocked(p)
			q.requeueLocked(p)
		}
	}
}

// Run flushes periodically until ctx ends, then closes the queue.
func (q *Queue) Run(ctx context.Context) {
	bt := q.clock.NewTicker(backoffFlushInterval)
	ut := q.clock.NewTicker(unschedulableFlushInterval)
	defer bt.Stop()
	defer ut.Stop()
	defer q.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-bt.C():
			q.FlushBackoffCompleted()
		case <-ut.C():
			q.FlushUnschedulableLeftover()
		}
	}
}

// Close wakes Pop callers and makes Pop return false once active is empty.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// Counts returns the number of pods active, backing off and unschedulable.
func (q *Queue) Counts() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable)
}

// Has reports whether the pod is queued (in any part, or in flight).
func (q *Queue) Has(uid types.UID) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.pods[uid]
	return ok
}
