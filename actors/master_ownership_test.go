package actors

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// failFirstAttempt panics in operator op at its first record of attempt 1.
type failFirstAttempt struct {
	op    string
	fired atomic.Bool
}

func (f *failFirstAttempt) BeforeRecord(op operators.TaskInfo) {
	if op.Operator == f.op && op.Attempt == 1 && f.fired.CompareAndSwap(false, true) {
		panic("injected fault in attempt 1")
	}
}

// deadLetters records the messages of type T that reached a stopped actor.
func deadLetters[T any](t *testing.T, e *Engine) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	sub := e.sys.EventStream.Subscribe(func(evt any) {
		if d, ok := evt.(*actor.DeadLetterEvent); ok {
			if _, ok := d.Message.(T); ok {
				n.Add(1)
			}
		}
	})
	t.Cleanup(func() { e.sys.EventStream.Unsubscribe(sub) })
	return &n
}

// The restart delay's timer belongs to the master: a cancel during the
// delay stops it. Unowned, it fires after the job ended and sends its
// restart to the stopped master (a dead letter) — or, after
// Engine.Close, to a system shut down — and keeps the job's master
// reachable until then (the delay may be a minute).
func TestMaster_cancelDuringRestartDelay_stopsTheDelaysTimer(t *testing.T) {
	const delay = 100 * time.Millisecond
	e := newTestEngine(t, func(c *Config) {
		c.Restart = FixedDelay(1, delay)
		c.Faults = &failFirstAttempt{op: "stage"}
	})
	late := deadLetters[*restartMsg](t, e)
	p := operators.NewPipeline("restart-delay")
	src := operators.Generate(p, -1, func(i int64) event { return event{Key: i % 7, Seq: i} }, operators.RateLimit(1000))
	operators.Collect(operators.Map(src, func(e event) event { return e }).Name("stage"))
	j := submit(t, e, p)
	eventually(t, 20*time.Second, func() bool {
		var waiting bool
		j.inspect(func(m *master) { waiting = m.inRestartDelay() })
		return waiting
	}, "the restart delay")
	j.Cancel()
	if err := waitJob(t, j); err != ErrCancelled {
		t.Fatalf("Wait = %v, want ErrCancelled", err)
	}
	// Past the delay, an unowned timer has fired; an owned one never does.
	until := time.Now().Add(delay + time.Second)
	eventually(t, 20*time.Second, func() bool { return late.Load() > 0 || time.Now().After(until) },
		"the delay's timer to fire (unowned), or a while past the delay")
	if n := late.Load(); n > 0 {
		t.Fatalf("the restart delay's timer fired after the job was cancelled (%d restart dead-lettered)", n)
	}
}

// slowStore is a checkpoint store whose metadata commits and discards
// block until the test releases them.
type slowStore struct {
	CheckpointStore
	release  chan struct{}
	once     sync.Once
	held     chan struct{} // closed when the first call is held
	heldOnce sync.Once
	running  atomic.Int64 // store calls under way
}

func newSlowStore(t *testing.T) *slowStore {
	t.Helper()
	dir, err := persistence.OpenDirStore(t.TempDir()+"/checkpoints", 2)
	if err != nil {
		t.Fatal(err)
	}
	s := &slowStore{CheckpointStore: dir, release: make(chan struct{}), held: make(chan struct{})}
	t.Cleanup(s.open)
	return s
}

func (s *slowStore) open() { s.once.Do(func() { close(s.release) }) }

func (s *slowStore) block() {
	s.heldOnce.Do(func() { close(s.held) })
	<-s.release
}

func (s *slowStore) CommitMetadata(m *persistence.Metadata) (string, error) {
	s.running.Add(1)
	defer s.running.Add(-1)
	s.block()
	return s.CheckpointStore.CommitMetadata(m)
}

func (s *slowStore) Discard(id int64) error {
	s.running.Add(1)
	defer s.running.Add(-1)
	s.block()
	return s.CheckpointStore.Discard(id)
}

// Engine.Close returns only once the checkpoint store has answered the
// calls its jobs left under way (within writerGrace): a slow store is
// waited for, and when Close returns no store call runs any more and no
// goroutine is left (newTestEngine's cleanup checks).
func TestEngine_Close_waitsForASlowCheckpointStore(t *testing.T) {
	store := newSlowStore(t)
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return store, nil }
		c.BatchSize = 64
	})
	p, _ := countPipeline(-1, 61, 5000)
	j := submit(t, e, p)
	<-store.held
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = e.Close()
	}()
	<-j.Done()
	// The store still holds a call: Close must not return. A while later
	// the store answers.
	if closedWithin(closed, time.Second) {
		t.Fatalf("Engine.Close returned while the checkpoint store still held a call")
	}
	store.open()
	<-closed
	if n := store.running.Load(); n != 0 {
		t.Fatalf("Engine.Close returned while %d checkpoint store calls still ran", n)
	}
}

// Engine.Close returns only once the goroutines of the async calls its
// jobs started have returned: a call that honours its context but takes
// a while to return after the cancel is waited for (within
// asyncCallGrace), not left running behind the engine.
func TestEngine_Close_waitsForAsyncCalls(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	var running, started, cancelled atomic.Int64
	call := func(ctx context.Context, v int) ([]int, error) {
		running.Add(1)
		defer running.Add(-1)
		started.Add(1)
		<-ctx.Done()
		cancelled.Add(1)
		<-release // cleaning up after the cancel takes a while
		return nil, ctx.Err()
	}
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("async-close")
	src := operators.FromSlice(p, seq(10)).Parallelism(1)
	operators.Collect(operators.AsyncMap(src, call, operators.AsyncConfig[int, int]{}).Name("lookup").Parallelism(1))
	submit(t, e, p)
	eventually(t, 20*time.Second, func() bool { return started.Load() > 0 }, "a call to start")
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = e.Close()
	}()
	eventually(t, 20*time.Second, func() bool { return cancelled.Load() == started.Load() }, "the calls to be cancelled")
	if closedWithin(closed, time.Second) {
		t.Fatalf("Engine.Close returned while %d async calls still ran", running.Load())
	}
	releaseOnce.Do(func() { close(release) })
	<-closed
	if n := running.Load(); n != 0 {
		t.Fatalf("Engine.Close returned while %d async calls still ran", n)
	}
}
