package framework

import (
	"context"
	"sync"
	"sync/atomic"
)

// Parallelism is upstream's default number of goroutines for per-node work.
const Parallelism = 16

// Parallelize runs work(i) for i in [0, n) on up to workers goroutines, handing out indices in
// chunks (about sqrt(n), as upstream's parallelizer) and stopping early when ctx ends. It
// returns when every started piece has finished.
func Parallelize(ctx context.Context, workers, n int, work func(i int)) {
	if n == 0 {
		return
	}
	chunk := 1
	for chunk*chunk < n {
		chunk++
	}
	if chunk > 1 {
		chunk = (chunk + 1) / 2
	}
	if workers > (n+chunk-1)/chunk {
		workers = (n + chunk - 1) / chunk
	}
	var next atomic.Int64
	run := func() {
		for ctx.Err() == nil {
			start := int(next.Add(int64(chunk))) - chunk
			if start >= n {
				return
			}
			end := min(start+chunk, n)
			for i := start; i < end; i++ {
				work(i)
			}
		}
	}
	if workers <= 1 {
		run()
		return
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 0; w < workers-1; w++ {
		go func() { defer wg.Done(); run() }()
	}
	run()
	wg.Wait()
}
