package jetstream

import (
	"context"
	"sync"
	"time"
)

// kick is how Poll makes a fetcher hand over a partly filled chunk
// without a timer per message: a context.Context, given to the fetcher's
// blocking Next, whose Done channel Poll closes (fire) when it finds the
// queue empty. Next then returns context.Canceled (which the ordered
// consumer passes through without resetting itself); the fetcher sends
// what it has and re-arms the kick (reset). A fetcher with nothing
// pending waits on its own context instead, and leaves a kick fired
// meanwhile for later: it makes the next message go at once, which is
// what a waiting Poll wants. Stopping the reader fires every kick too.
//
// fire is called from the subtask's goroutine, the rest from the
// fetcher's; the mutex orders them.
type kick struct {
	mu    sync.Mutex
	ch    chan struct{}
	fired bool
}

var _ context.Context = (*kick)(nil)

func newKick() *kick { return &kick{ch: make(chan struct{})} }

// fire closes the current channel, once.
func (k *kick) fire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.fired {
		k.fired = true
		close(k.ch)
	}
}

// reset arms a new channel after a kick was seen.
func (k *kick) reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fired {
		k.ch, k.fired = make(chan struct{}), false
	}
}

// Done returns the current channel.
func (k *kick) Done() <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ch
}

// Err is context.Canceled once fired, until reset.
func (k *kick) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fired {
		return context.Canceled
	}
	return nil
}

func (k *kick) Deadline() (time.Time, bool) { return time.Time{}, false }
func (k *kick) Value(any) any               { return nil }
