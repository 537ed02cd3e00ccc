package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// Async I/O in the actors runtime. The operator core (operators.AsyncMap)
// runs in the subtask and sequences the results; this file gives it the
// runtime half: a pool of invoker child actors of the subtask that run the
// user's calls, and an inbox through which their replies come back.
//
// Replies do not travel one message each: a subtask's mailbox is bounded
// (see NOTES-deps.md: a full bounded mailbox busy-waits its sender), and
// up to Capacity calls may return at once. They gather in the inbox, and
// the first one into an empty inbox posts a single operators.AsyncReady to
// the subtask, so at most one such message per async operator is ever in
// its mailbox, whatever the capacity.

var _ operators.AsyncHost = (*host)(nil)

// NewAsyncInvoker implements operators.AsyncHost. The workers are spawned
// as children of the subtask on first use.
func (h *host) NewAsyncInvoker(cfg operators.AsyncInvokerConfig) (operators.AsyncInvoker, error) {
	inbox := &asyncInbox{root: h.job.engine.sys.Root, subtask: h.ctx.Self()}
	inv := &asyncInvoker{h: h, size: max(cfg.Workers, 1), inbox: inbox}
	inbox.ready = operators.AsyncReady{Invoker: inv}
	return inv, nil
}

// asyncInvoker implements operators.AsyncInvoker on the subtask's
// goroutine: it deals calls round robin to its workers.
type asyncInvoker struct {
	h       *host
	size    int
	workers []*actor.PID
	next    int
	inbox   *asyncInbox
	closed  bool
}

// invokeMsg asks a worker to run one call.
type invokeMsg struct{ call operators.AsyncCall }

// Invoke implements operators.AsyncInvoker.
func (inv *asyncInvoker) Invoke(call operators.AsyncCall) {
	if inv.closed {
		return
	}
	if len(inv.workers) < inv.size {
		inbox := inv.inbox
		inv.workers = append(inv.workers, inv.h.spawn(actor.PropsFromProducer(func() actor.Actor {
			return &asyncWorker{inbox: inbox}
		})))
	}
	pid := inv.workers[inv.next%len(inv.workers)]
	inv.next++
	inv.h.ctx.Send(pid, &invokeMsg{call: call})
}

// Replies implements operators.AsyncInvoker.
func (inv *asyncInvoker) Replies() []any { return inv.inbox.take() }

// Close implements operators.AsyncInvoker: later replies are dropped and
// the workers stop, cancelling the calls they run.
func (inv *asyncInvoker) Close() {
	if inv.closed {
		return
	}
	inv.closed = true
	inv.inbox.close()
	for _, pid := range inv.workers {
		inv.h.ctx.Stop(pid)
	}
	inv.workers = nil
}

// asyncInbox gathers the replies of one invoker's calls. Its methods are
// safe for concurrent use: the calls' goroutines put, the subtask takes.
type asyncInbox struct {
	root    *actor.RootContext
	subtask *actor.PID
	ready   operators.AsyncReady

	mu      sync.Mutex
	replies []any
	posted  bool // an AsyncReady is in the subtask's mailbox
	closed  bool
}

// put adds a reply and tells the subtask, unless it was already told.
func (b *asyncInbox) put(reply any) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.replies = append(b.replies, reply)
	post := !b.posted
	b.posted = true
	b.mu.Unlock()
	if post {
		b.root.Send(b.subtask, b.ready)
	}
}

// take returns the replies gathered; the next put posts again.
func (b *asyncInbox) take() []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.replies
	b.replies, b.posted = nil, false
	return r
}

func (b *asyncInbox) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed, b.replies = true, nil
}
