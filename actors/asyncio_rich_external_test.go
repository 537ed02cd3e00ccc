package actors_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// blockingLookup is an async function with a lifecycle whose calls wait
// for their contexts, as well-behaved HTTP calls do; Close notes how many
// calls in flight had not been cancelled by then.
type blockingLookup struct {
	started chan struct{} // closed when want calls run
	want    int

	mu       sync.Mutex
	inFlight []context.Context // the calls' contexts
	live     int               // at Close: calls whose context was not cancelled
	closed   bool
}

func (f *blockingLookup) AsyncInvoke(ctx context.Context, v int) ([]int, error) {
	f.mu.Lock()
	f.inFlight = append(f.inFlight, ctx)
	if len(f.inFlight) == f.want {
		close(f.started)
	}
	f.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f *blockingLookup) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for _, ctx := range f.inFlight {
		if ctx.Err() == nil {
			f.live++
		}
	}
	return nil
}

// An async rich function is closed after the contexts of its calls in
// flight are cancelled, as AsyncFunction promises, so that its Close
// (closing an HTTP client, say) never races with a call still using it.
// Before, the invoker only asked its workers to stop, and they cancelled
// their calls later, on their own goroutines.
func TestAsyncMapRich_engine_closedAfterCallsCancelled(t *testing.T) {
	const calls = 4 // over as many workers
	f := &blockingLookup{started: make(chan struct{}), want: calls}
	p := operators.NewPipeline("async-close")
	src := operators.FromSlice(p, []int{1, 2, 3, 4})
	operators.Discard(operators.AsyncMapRich(src, func() *blockingLookup { return f },
		operators.AsyncConfig[int, int]{Capacity: calls}))
	r := testkit.NewRunner(t)
	job := r.Start(p)
	select {
	case <-f.started:
	case <-time.After(testkit.Dilated(10 * time.Second)):
		t.Fatal("the calls did not start")
	}
	job.Cancel()
	r.Wait(job)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed || f.live != 0 {
		t.Fatalf("closed %v; %d of %d calls' contexts not cancelled when Close ran, want 0", f.closed, f.live, calls)
	}
}
