package image

import (
	"context"
	"sync"
)

// flightGroup runs at most one call per key at a time and hands its result to every caller
// that asked for the key while it ran. Unlike x/sync/singleflight, a caller that gives up
// (its context ends) does not cancel the work for the others: the work runs under the
// group's own context and is cancelled only when every caller has given up; the last
// caller to give up waits for it to stop.
type flightGroup[T any] struct {
	mu    sync.Mutex
	calls map[string]*flightCall[T]
	wg    sync.WaitGroup // running calls, for Store.Close
}

type flightCall[T any] struct {
	done    chan struct{}
	val     T
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do returns the result of fn for key, starting fn under base if no call for key is
// running, or waiting for the running one. It returns ctx.Err() if ctx ends first.
func (g *flightGroup[T]) do(ctx, base context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flightCall[T]{}
	}
	c, ok := g.calls[key]
	if !ok {
		cctx, cancel := context.WithCancel(base)
		c = &flightCall[T]{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = c
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			c.val, c.err = fn(cctx)
			cancel()
			g.mu.Lock()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			close(c.done)
		}()
	}
	c.waiters++
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		last := c.waiters == 0
		if last {
			c.cancel()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
		}
		g.mu.Unlock()
		if last {
			<-c.done // the work stops with its last caller, not after it
		}
		var zero T
		return zero, ctx.Err()
	}
}

// wait blocks until every running call has returned.
func (g *flightGroup[T]) wait() { g.wg.Wait() }

// waiting returns how many callers are waiting on calls in flight.
func (g *flightGroup[T]) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		n += c.waiters
	}
	return n
}
