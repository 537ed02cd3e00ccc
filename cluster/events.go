package cluster

import (
	"log/slog"
	"sync"

	"github.com/troupe-dev/troupe/mailbox"
)

// firstQueueWarning is the queue length at which the pump first warns that
// nobody reads the events; it warns again at each doubling.
const firstQueueWarning = 1024

// pump hands events to the one consumer of Membership.Events, in the order
// they were pushed. Memberlist notifies us while it holds its node lock,
// so push must never block: the queue between push and the consumer is
// unbounded. It holds what the consumer has not taken yet, a few hundred
// bytes per event, and only membership changes make events, so it stays
// small unless nobody reads; then the pump logs a warning at 1024 pending
// events and at every doubling. Nothing is dropped before Close; Close
// discards what is still pending.
type pump struct {
	log  *slog.Logger
	out  chan Event    // unbuffered: the queue is the buffer
	wake chan struct{} // capacity 1: "the queue may have grown"

	mu     sync.Mutex
	queue  mailbox.Queue[Event]
	warnAt int
}

func newPump(log *slog.Logger) *pump {
	return &pump{log: log, out: make(chan Event), wake: make(chan struct{}, 1), warnAt: firstQueueWarning}
}

// push queues events; safe from any goroutine, never blocks.
func (p *pump) push(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	p.mu.Lock()
	for _, ev := range evs {
		p.queue.Push(ev)
	}
	if n := p.queue.Len(); n >= p.warnAt {
		p.warnAt *= 2
		p.log.Warn("cluster: membership events are not being read", "pending", n)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// pending returns how many events wait for the consumer.
func (p *pump) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queue.Len()
}

func (p *pump) next() (Event, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.queue.Len() == 0 {
		return Event{}, false
	}
	return p.queue.Pop(), true
}

// run delivers events to out until done is closed, then closes out. It is
// the only sender on out; its owner waits for it to return.
func (p *pump) run(done <-chan struct{}) {
	defer close(p.out)
	for {
		ev, ok := p.next()
		if !ok {
			select {
			case <-p.wake:
				continue
			case <-done:
				return
			}
		}
		select {
		case p.out <- ev:
		case <-done:
			return
		}
	}
}
