package testkit

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/mailbox"
)

// MailboxOption configures the mailbox of SpawnWithStats.
type MailboxOption func(*mailboxConfig)

type mailboxConfig struct {
	bound int // 0: unbounded
}

// WithBoundedMailbox gives the actor a bounded mailbox of n messages
// (Proto.Actor rounds n up to a power of two). Mind that a sender to a full
// bounded mailbox busy-waits on its own goroutine, without error.
func WithBoundedMailbox(n int) MailboxOption {
	return func(c *mailboxConfig) { c.bound = n }
}

// SpawnWithStats starts a top-level actor, like Spawn, whose mailbox
// counts what passes through it (mailbox.Stats installed as mailbox
// middleware), and returns those statistics, also available through
// MailboxStats. The mailbox is unbounded unless WithBoundedMailbox says
// otherwise; it replaces any mailbox props set. props itself is not
// modified: the kit spawns a clone.
func (k *Kit) SpawnWithStats(props *actor.Props, opts ...MailboxOption) (*actor.PID, *mailbox.Stats) {
	k.t.Helper()
	var cfg mailboxConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	stats := &mailbox.Stats{}
	producer := actor.Unbounded(stats)
	if cfg.bound > 0 {
		producer = actor.Bounded(cfg.bound, stats)
	}
	pid := k.Spawn(props.Clone(actor.WithMailbox(producer)))
	k.mu.Lock()
	k.stats[pidKey(pid)] = stats
	k.mu.Unlock()
	return pid, stats
}

// MailboxStats returns a snapshot of the mailbox statistics of pid, and
// false if pid was not spawned with SpawnWithStats. System messages
// (start, stop, watch) count as posted and received.
func (k *Kit) MailboxStats(pid *actor.PID) (mailbox.Snapshot, bool) {
	k.mu.Lock()
	stats, ok := k.stats[pidKey(pid)]
	k.mu.Unlock()
	if !ok {
		return mailbox.Snapshot{}, false
	}
	return stats.Snapshot(), true
}
