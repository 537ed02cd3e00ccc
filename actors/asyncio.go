package actors

import (
	"context"
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// Async I/O in the actors runtime. The operator core (operators.AsyncMap)
// runs in the subtask; this file gives it the runtime half, as children of
// the subtask:
//
//   - one sequencer child actor (asyncSequencer) running the operator's
//     sequencing code: it receives, in input order, the core's commands
//     (expect these records and watermarks, expire, settle) and the
//     invokers' replies, and releases results in the order the mode
//     allows;
//   - a pool of invoker child actors (asyncWorker) that run the user's
//     calls, each on a goroutine of its own, and send each reply to the
//     sequencer.
//
// Releases do not travel one message each: a subtask's mailbox is bounded
// (see NOTES-deps.md: a full bounded mailbox busy-waits its sender). They
// gather in the inbox, and the first one into it while no AsyncReady is
// pending posts a single operators.AsyncReady to the subtask, so at most
// one such message per async operator is ever in its mailbox, whatever
// the capacity. The sequencer's mailbox is unbounded but holds at most
// one message per record in flight plus one per turn of the subtask.

var _ operators.Host = (*host)(nil)

// NewAsyncInvoker implements operators.Host. The sequencer is
// spawned as a child of the subtask now, the workers on first use.
func (h *host) NewAsyncInvoker(cfg operators.AsyncInvokerConfig) (operators.AsyncInvoker, error) {
	if cfg.Sequencer == nil {
		return nil, fmt.Errorf("actors: async operator %q has no sequencer", cfg.Operator)
	}
	root := h.root
	inbox := &asyncInbox{root: root, subtask: h.ctx.Self()}
	inv := &asyncInvoker{h: h, operator: cfg.Operator, size: max(cfg.Workers, 1), inbox: inbox, seq: &asyncSeqRef{root: root}}
	inv.life, inv.cancel = context.WithCancel(context.Background())
	inbox.ready = operators.AsyncReady{Invoker: inv}
	seq := cfg.Sequencer
	inv.seq.pid = h.ctx.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor {
		return &asyncSequencer{seq: seq, inbox: inbox}
	}), asyncSequencerPrefix)
	return inv, nil
}

// asyncSequencerPrefix starts the name of every sequencer child actor.
const asyncSequencerPrefix = "async-sequencer-"

// asyncInvoker implements operators.AsyncInvoker on the subtask's
// goroutine: it sends the core's commands to the sequencer and deals calls
// round robin to its workers.
type asyncInvoker struct {
	h        *host
	operator string
	size     int
	workers  []*actor.PID
	next     int
	inbox    *asyncInbox
	seq      *asyncSeqRef
	closed   bool
	// life is the parent of every call's context, cancelled by Close
	// itself: stopping the workers is asynchronous (they cancel their
	// calls when they handle their Stopping, later, on goroutines of
	// their own), and the operator closes the user's function once Close
	// returns, which must find the calls cancelled. Kept in the struct for
	// the worker's reason (see asyncWorker.life).
	life   context.Context
	cancel context.CancelFunc
}

// invokeMsg asks a worker to run one call.
type invokeMsg struct{ call operators.AsyncCall }

// Invoke implements operators.AsyncInvoker.
func (inv *asyncInvoker) Invoke(call operators.AsyncCall) {
	if inv.closed {
		return
	}
	if len(inv.workers) < inv.size {
		seq, life, op, log := inv.seq, inv.life, inv.operator, inv.h.log
		inv.workers = append(inv.workers, inv.h.spawn(actor.PropsFromProducer(func() actor.Actor {
			return &asyncWorker{operator: op, log: log, seq: seq, parent: life}
		})))
	}
	pid := inv.workers[inv.next%len(inv.workers)]
	inv.next++
	inv.h.ctx.Send(pid, &invokeMsg{call: call})
}

// Sequence implements operators.AsyncInvoker.
func (inv *asyncInvoker) Sequence(msg any) {
	if !inv.closed {
		inv.h.ctx.Send(inv.seq.pid, msg)
	}
}

// Releases implements operators.AsyncInvoker.
func (inv *asyncInvoker) Releases(ready bool) []any { return inv.inbox.take(ready) }

// Close implements operators.AsyncInvoker: every call's context is
// cancelled before it returns, later replies and releases are dropped,
// and the sequencer and the workers stop.
func (inv *asyncInvoker) Close() {
	if inv.closed {
		return
	}
	inv.closed = true
	inv.cancel()
	inv.inbox.close()
	inv.seq.close()
	inv.h.ctx.Stop(inv.seq.pid)
	for _, pid := range inv.workers {
		inv.h.ctx.Stop(pid)
	}
	inv.workers = nil
}

// asyncInbox gathers the sequencer's releases for the subtask. Its methods
// are safe for concurrent use: the sequencer puts, the subtask takes.
type asyncInbox struct {
	root    *actor.RootContext
	subtask *actor.PID
	ready   operators.AsyncReady

	mu       sync.Mutex
	releases []any
	posted   bool // an AsyncReady is in the subtask's mailbox
	closed   bool
}

// put adds a release and tells the subtask, unless it was already told.
func (b *asyncInbox) put(rel any) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.releases = append(b.releases, rel)
	post := !b.posted
	b.posted = true
	b.mu.Unlock()
	if post {
		b.root.Send(b.subtask, b.ready)
	}
}

// take returns the releases gathered. ready: the caller handles the
// AsyncReady posted, so the next put posts again.
func (b *asyncInbox) take(ready bool) []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.releases
	b.releases = nil
	if ready {
		b.posted = false
	}
	return r
}

func (b *asyncInbox) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed, b.releases = true, nil
}
