package testkit

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/mailbox"
)

// defaultShutdownTimeout bounds, before dilation, both how long the cleanup
// waits for actors to stop and how long for goroutines to end.
const defaultShutdownTimeout = 5 * time.Second

// Kit is a test's own actor system. It is bound to the test that created
// it: its methods, and those of its probes and supervision recorder, must
// be called from that test's goroutine (or one it waits for), like
// t.Fatalf.
type Kit struct {
	t           testing.TB
	sys         *actor.ActorSystem
	log         *logBuffer
	supervision *SupervisionRecorder
	before      map[uint64]string // goroutines alive at New

	// Timeouts, dilated; tests of the kit shorten them.
	timeout     time.Duration // of expectations: DefaultTimeout
	stopTimeout time.Duration
	leakTimeout time.Duration

	mu      sync.Mutex
	spawned []*actor.PID
	stats   map[string]*mailbox.Stats // by pidKey
}

// New returns a Kit with a fresh actor system whose log is kept in memory
// and shown through t.Log only if the test fails. It registers a cleanup
// that stops every actor spawned through the kit, then any other actor
// left in the system, shuts the system down, and fails the test if an
// actor does not stop or a goroutine started since New is still alive
// (printing the stacks of those goroutines).
//
// The leak check cannot tell this test's goroutines from those of tests
// running in parallel: do not use a Kit in a test that calls t.Parallel
// while other parallel tests start goroutines.
func New(t testing.TB) *Kit {
	t.Helper()
	k := &Kit{
		t:           t,
		log:         &logBuffer{},
		timeout:     DefaultTimeout(),
		stopTimeout: Dilated(defaultShutdownTimeout),
		leakTimeout: Dilated(defaultShutdownTimeout),
		stats:       make(map[string]*mailbox.Stats),
	}
	k.before, _ = goroutineStacks()
	k.sys = actors.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return k.log.logger() }),
		// The dead-letter log throttle keeps a goroutine alive for one
		// interval after a dead letter: keep it short for the leak check.
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
	k.supervision = newSupervisionRecorder(k)
	t.Cleanup(k.cleanup)
	return k
}

// System returns the kit's actor system.
func (k *Kit) System() *actor.ActorSystem { return k.sys }

// Spawn starts a top-level actor that the kit stops on cleanup.
func (k *Kit) Spawn(props *actor.Props) *actor.PID {
	k.t.Helper()
	return k.track(k.sys.Root.Spawn(props))
}

// SpawnNamed starts a top-level actor with the given name, which the kit
// stops on cleanup; the test fails if the name is taken.
func (k *Kit) SpawnNamed(props *actor.Props, name string) *actor.PID {
	k.t.Helper()
	pid, err := k.sys.Root.SpawnNamed(props, name)
	if err != nil {
		k.t.Fatalf("testkit: spawn %q: %v", name, err)
	}
	return k.track(pid)
}

func (k *Kit) track(pid *actor.PID) *actor.PID {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.spawned = append(k.spawned, pid)
	return pid
}

// cleanup stops the actors, shuts the system down and checks for leaks. It
// reports with Errorf so that every problem shows, and the log last.
func (k *Kit) cleanup() {
	t := k.t
	t.Helper()
	k.mu.Lock()
	spawned := k.spawned
	k.mu.Unlock()
	if stuck := stopActors(k.sys, spawned, k.stopTimeout); len(stuck) > 0 {
		t.Errorf("testkit: actors did not stop within %v: %s", k.stopTimeout, showPIDs(stuck))
	}
	if stuck := stopActors(k.sys, liveActors(k.sys, spawned), k.stopTimeout); len(stuck) > 0 {
		t.Errorf("testkit: actors spawned outside the kit did not stop within %v: %s", k.stopTimeout, showPIDs(stuck))
	}
	k.supervision.close()
	k.sys.Shutdown()
	if leaked := waitLeaks(k.before, k.leakTimeout); len(leaked) > 0 {
		t.Errorf("testkit: goroutines leaked: %d still alive %v after cleanup:\n\n%s",
			len(leaked), k.leakTimeout, strings.Join(leaked, "\n\n"))
	}
	if t.Failed() {
		t.Logf("testkit: actor system log:\n%s", k.log)
	}
}

// stopActors stops the actors at once, like StopFuture but with our own
// deadline (StopFuture's is 10 s), and returns those that did not stop in
// time. An actor already gone counts as stopped.
func stopActors(sys *actor.ActorSystem, pids []*actor.PID, timeout time.Duration) []*actor.PID {
	futures := make([]*actor.Future, len(pids))
	for i, pid := range pids {
		futures[i] = actor.NewFuture(sys, timeout)
		proc, _ := sys.ProcessRegistry.Get(pid) // dead letters if gone: they answer Watch
		proc.SendSystemMessage(pid, &actor.Watch{Watcher: futures[i].PID()})
		proc.Stop(pid)
	}
	var stuck []*actor.PID
	for i, f := range futures {
		if err := f.Wait(); errors.Is(err, actor.ErrTimeout) {
			stuck = append(stuck, pids[i])
		}
	}
	return stuck
}

// liveActors returns the actors registered in sys, children included,
// except those in skip.
func liveActors(sys *actor.ActorSystem, skip []*actor.PID) []*actor.PID {
	skipped := make(map[string]bool, len(skip))
	for _, pid := range skip {
		skipped[pid.Id] = true
	}
	var pids []*actor.PID
	for _, bucket := range sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		// IterCb, not Items: Items starts a goroutine per shard.
		bucket.IterCb(func(id string, proc any) {
			if _, ok := proc.(*actor.ActorProcess); ok && !skipped[id] {
				pids = append(pids, sys.NewLocalPID(id))
			}
		})
	}
	return pids
}

func showPIDs(pids []*actor.PID) string {
	s := make([]string, len(pids))
	for i, pid := range pids {
		s[i] = pidKey(pid)
	}
	return strings.Join(s, ", ")
}
