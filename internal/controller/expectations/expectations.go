// Package expectations remembers what a controller has asked the API server to create and
// delete and not yet seen in its informers, so that a sync running before the watch catches up
// does not act twice (upstream's ControllerExpectations and UIDTrackingControllerExpectations).
//
// Before creating n objects for key, call ExpectCreations(key, n); each create event observed
// (or each create that failed) calls CreationObserved(key). Before deleting, call
// ExpectDeletions(key, podKeys); each deletion observed (the object gone, or given a
// deletionTimestamp) or failed calls DeletionObserved(key, podKey). Satisfied(key) is true once
// everything expected was observed, or the expectations are older than TTL (a lost event must
// not stall the controller forever), or nothing was ever expected for key.
package expectations

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// TTL is how long expectations are trusted.
const TTL = 5 * time.Minute

type record struct {
	adds      int64
	dels      map[string]bool
	timestamp time.Time
}

// Expectations is safe for concurrent use.
type Expectations struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]*record
}

// New returns empty expectations on clk (nil means the real clock).
func New(clk clock.PassiveClock) *Expectations {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Expectations{clock: clk, m: map[string]*record{}}
}

// Satisfied reports whether key may act on what its informers show.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.m[key]
	if !ok {
		return true
	}
	if r.adds <= 0 && len(r.dels) == 0 {
		return true
	}
	return e.clock.Since(r.timestamp) > TTL
}

// ExpectCreations records that key is about to create n objects.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &record{adds: int64(n), dels: map[string]bool{}, timestamp: e.clock.Now()}
}

// ExpectDeletions records that key is about to delete the objects objKeys.
func (e *Expectations) ExpectDeletions(key string, objKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	dels := map[string]bool{}
	for _, k := range objKeys {
		dels[k] = true
	}
	e.m[key] = &record{dels: dels, timestamp: e.clock.Now()}
}

// Expect records that key is about to create n objects and delete the objects objKeys, for a
// controller that does both in one sync.
func (e *Expectations) Expect(key string, n int, objKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	dels := map[string]bool{}
	for _, k := range objKeys {
		dels[k] = true
	}
	e.m[key] = &record{adds: int64(n), dels: dels, timestamp: e.clock.Now()}
}

// CreationObserved lowers key's expected creations by one.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.m[key]; ok && r.adds > 0 {
		r.adds--
	}
}

// DeletionObserved records that objKey, which key expected to delete, is gone or going.
func (e *Expectations) DeletionObserved(key, objKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.m[key]; ok {
		delete(r.dels, objKey)
	}
}

// Delete forgets key (its owner is gone).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
