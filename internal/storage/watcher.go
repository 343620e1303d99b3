package storage

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// maxWatcherBacklog is how many undelivered events a watcher may hold before the server
// closes it; the client then resumes from the last resourceVersion it saw.
const maxWatcherBacklog = 10000

// InitialEventsEndAnnotation marks the bookmark that ends a watch's initial events.
const InitialEventsEndAnnotation = "k8s.io/initial-events-end"

// WatchEvent is one event as a watcher sees it: its type may differ from the change's (an
// object that stops matching a selector is DELETED for that watcher).
type WatchEvent struct {
	Type   EventType
	Object runtime.Object
	// RV is the event's revision.
	RV    uint64
	event *Event
}

// Encoded encodes the event's object with enc under key (a content type), sharing the result
// with every other watcher of the same change where the object is the change's own.
func (e WatchEvent) Encoded(key string, enc func(runtime.Object) ([]byte, error)) ([]byte, error) {
	if e.event != nil && e.event.Object == e.Object {
		return e.event.Encoded(key, enc)
	}
	return enc(e.Object)
}

// Watcher streams the events of one WATCH until Stop is called or the server ends it.
type Watcher struct {
	result <-chan WatchEvent
	stop   func()
}

// ResultChan returns the events; it is closed when the watch ends.
func (w *Watcher) ResultChan() <-chan WatchEvent { return w.result }

// Stop ends the watch and releases its resources.
func (w *Watcher) Stop() { w.stop() }

// Map returns a watcher that delivers f(ev) for every event of w (for serving a kind in
// another version than it is stored in). Stopping it stops w.
func (w *Watcher) Map(f func(WatchEvent) WatchEvent) *Watcher {
	out := make(chan WatchEvent)
	done := make(chan struct{})
	var once sync.Once
	stop := func() {
		once.Do(func() { close(done) })
		w.stop()
	}
	go func() {
		defer close(out)
		for ev := range w.result {
			select {
			case out <- f(ev):
			case <-done:
				return
			}
		}
	}()
	return &Watcher{result: out, stop: stop}
}

type watcher struct {
	cache      *Cache
	prefix     string
	pred       Predicate
	bookmarks  bool
	indexed    bool
	indexValue string

	mu      sync.Mutex
	queue   []*Event
	signal  chan struct{}
	done    chan struct{}
	once    sync.Once
	termErr error

	result chan WatchEvent
}

func newWatcher(c *Cache, prefix string, p Predicate, bookmarks bool) *watcher {
	return &watcher{
		cache: c, prefix: prefix, pred: p, bookmarks: bookmarks,
		signal: make(chan struct{}, 1), done: make(chan struct{}), result: make(chan WatchEvent),
	}
}

// offer queues ev; a watcher whose backlog is full is terminated.
func (w *watcher) offer(ev *Event) {
	if !strings.HasPrefix(ev.Key, w.prefix) {
		return
	}
	w.mu.Lock()
	if len(w.queue) >= maxWatcherBacklog {
		w.mu.Unlock()
		w.terminate(nil)
		return
	}
	w.queue = append(w.queue, ev)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *watcher) terminate(err error) {
	w.once.Do(func() {
		w.termErr = err
		close(w.done)
	})
}

func (w *watcher) take() []*Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

func (w *watcher) backlog() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// convert decides what the change ev looks like to this watcher.
func (w *watcher) convert(ev *Event) (WatchEvent, bool) {
	cur := ev.Type != Deleted && w.pred.matches(ev.labels, ev.fields)
	old := ev.PrevObject != nil && w.pred.matches(ev.prevLabels, ev.prevFields)
	switch {
	case ev.Type == Deleted:
		if !w.pred.matches(ev.labels, ev.fields) {
			return WatchEvent{}, false
		}
		return WatchEvent{Type: Deleted, Object: ev.Object, RV: ev.RV, event: ev}, true
	case cur && old:
		return WatchEvent{Type: Modified, Object: ev.Object, RV: ev.RV, event: ev}, true
	case cur:
		return WatchEvent{Type: Added, Object: ev.Object, RV: ev.RV, event: ev}, true
	case old:
		gone := ev.PrevObject.DeepCopyObject()
		setResourceVersion(gone, ev.RV)
		return WatchEvent{Type: Deleted, Object: gone, RV: ev.RV}, true
	}
	return WatchEvent{}, false
}

func (w *watcher) bookmark(rv uint64, initialEnd bool) WatchEvent {
	obj := w.cache.cfg.NewFunc()
	if a, err := meta.Accessor(obj); err == nil {
		a.SetResourceVersion(strconv.FormatUint(rv, 10))
		if initialEnd {
			a.SetAnnotations(map[string]string{InitialEventsEndAnnotation: "true"})
		}
	}
	return WatchEvent{Type: Bookmark, Object: obj, RV: rv}
}

func (w *watcher) send(ctx context.Context, ev WatchEvent) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// run delivers initial events, then the initial-events-end bookmark if asked, then live
// events and periodic bookmarks, until the watch ends.
func (w *watcher) run(ctx context.Context, initial []*Event, initialEnd bool, startRV uint64, bookmarkEvery time.Duration) {
	defer close(w.result)
	defer w.cache.removeWatcher(w)
	last := startRV
	for _, ev := range initial {
		if we, ok := w.convert(ev); ok && !w.send(ctx, we) {
			return
		}
		if ev.RV > last {
			last = ev.RV
		}
	}
	if initialEnd && !w.send(ctx, w.bookmark(startRV, true)) {
		return
	}
	ticker := time.NewTicker(bookmarkEvery)
	defer ticker.Stop()
	for {
		select {
		case <-w.signal:
			for _, ev := range w.take() {
				if we, ok := w.convert(ev); ok && !w.send(ctx, we) {
					return
				}
				last = ev.RV
			}
		case <-ticker.C:
			if !w.bookmarks {
				continue
			}
			// Read the revision before checking the backlog: events are queued before the
			// feed's revision moves past them, so an empty backlog means none is pending.
			rev := w.cache.feed.Revision()
			if rev > last && w.backlog() == 0 {
				if !w.send(ctx, w.bookmark(rev, false)) {
					return
				}
				last = rev
			}
		case <-w.done:
			if w.termErr != nil {
				status := apierrors.NewInternalError(w.termErr).Status()
				if se, ok := w.termErr.(apierrors.APIStatus); ok {
					status = se.Status()
				}
				select {
				case w.result <- WatchEvent{Type: Error, Object: &status}:
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			return
		case <-ctx.Done():
			return
		}
	}
}
