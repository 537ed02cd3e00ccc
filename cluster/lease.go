package cluster

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// LeaseTiming sets how a job master holds its job in the job store.
//
// The owner renews the record's lease every Renew, promising LeaseUntil =
// (the time the renewal began) + Lease; another node takes the job over
// only once LeaseUntil has passed on its own clock. The owner commits a
// checkpoint only while its last confirmed renewal promises at least
// Margin more (GuardCommits), and cancels its job once that is no longer
// so (self-fencing). So a master cut off from the store stops committing
// Margin before anyone may take its job over: safe while the nodes'
// clocks differ by less than Margin minus the time a metadata commit
// takes. Failover after a coordinator's death takes at most about Lease
// plus membership's failure detection.
type LeaseTiming struct {
	Lease  time.Duration
	Renew  time.Duration
	Margin time.Duration
}

// DefaultLeaseTiming: a 3 s lease renewed every 500 ms; commits stop 1 s
// before the lease runs out.
func DefaultLeaseTiming() LeaseTiming {
	return LeaseTiming{Lease: 3 * time.Second, Renew: 500 * time.Millisecond, Margin: time.Second}
}

func (lt LeaseTiming) withDefaults() LeaseTiming {
	d := DefaultLeaseTiming()
	if lt.Lease <= 0 {
		lt.Lease = d.Lease
	}
	if lt.Renew <= 0 {
		lt.Renew = lt.Lease / 6
	}
	if lt.Margin <= 0 {
		lt.Margin = lt.Lease / 3
	}
	return lt
}

func (lt LeaseTiming) validate() error {
	if lt.Renew >= lt.Lease-lt.Margin || lt.Margin >= lt.Lease {
		return fmt.Errorf("%w: lease timing: renew %v and margin %v must leave room within the lease %v",
			ErrConfig, lt.Renew, lt.Margin, lt.Lease)
	}
	return nil
}

// errLeaseLost is GuardCommits's answer once a master may no longer own
// its job.
var errLeaseLost = errors.New("cluster: this node no longer holds the job's lease")

// lease is one owned job's hold on its record. The service's lease loop
// renews it; the job master's metadata writer asks guard. Guarded by mu:
// the two run on different goroutines.
type lease struct {
	mu     sync.Mutex
	epoch  uint64
	rev    uint64
	until  time.Time // the promise of the last confirmed renewal
	lost   bool
	margin time.Duration
}

// guard refuses once the lease is lost or about to run out.
func (l *lease) guard() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.lost:
		return errLeaseLost
	case !time.Now().Before(l.until.Add(-l.margin)):
		return fmt.Errorf("%w: its renewal is overdue (lease until %s)", errLeaseLost, l.until.Format(time.RFC3339Nano))
	}
	return nil
}

func (l *lease) renewed(rev uint64, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rev, l.until = rev, until
}

func (l *lease) snapshot() (epoch, rev uint64, until time.Time, lost bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch, l.rev, l.until, l.lost
}

func (l *lease) setRev(rev uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rev = rev
}

// lose marks the lease lost; it reports whether it was held until now.
func (l *lease) lose() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	was := !l.lost
	l.lost = true
	return was
}

// attemptsPerEpoch is the room each owner's attempts have: the owner at
// epoch e numbers its first attempt (e-1)·attemptsPerEpoch + 1
// (actors.FirstAttempt), so that an earlier owner's attempts never share
// a number with a later owner's.
const attemptsPerEpoch = 1 << 16

// firstAttempt is the first attempt number of the owner at epoch e. Past
// the int32 attempt numbers' range (32767 takeovers of one job) the
// numbers wrap around, which only a job taken over that often would see.
func firstAttempt(epoch uint64) int {
	e := (epoch - 1) % (math.MaxInt32/2/attemptsPerEpoch - 1)
	return int(e)*attemptsPerEpoch + 1
}

// firstCheckpointID is the lowest checkpoint ID of the owner at epoch e
// (actors.FirstCheckpointID): each epoch numbers its checkpoints in a
// range of its own (2^32 IDs), so that an earlier owner that goes on for
// a moment never writes — or discards — a checkpoint of the ID the new
// owner uses.
func firstCheckpointID(epoch uint64) int64 { return int64(epoch-1)<<32 + 1 }
