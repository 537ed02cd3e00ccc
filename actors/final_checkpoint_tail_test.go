package actors

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// flooder passes each input on ten times and emits flood records (the
// negative numbers) at the end of its input, as a window firing at the
// end of a bounded input does.
type flooder struct {
	out   operators.Collector[int64]
	flood int64
}

func (f *flooder) Collect(v int64, ts int64) {
	for i := range int64(10) {
		f.out.Collect(v*10+i, ts)
	}
}

func (f *flooder) EndInput() error {
	for i := int64(1); i <= f.flood; i++ {
		f.out.Collect(-i, operators.NoTimestamp)
	}
	return nil
}

func (f *flooder) SnapshotState(int64) (*operators.OperatorState, error) { return nil, nil }

// Once every source has finished, a checkpoint must not wait for the
// whole tail downstream: the subtasks whose senders have all finished are
// triggered (as Flink triggers the tasks that no running task precedes),
// and snapshot when their queued input has been consumed, before their
// own end of input, so that the barrier goes ahead of what their end
// emits. Here the sink blocks on that flood (a slow tail that outlasts
// Checkpoint.Timeout); a savepoint taken once the sources have finished
// must complete all the same.
func TestCheckpoint_sourcesFinished_doesNotWaitForTheTail(t *testing.T) {
	const perSource, flood = 50, 500 // one batch and the end of input: within a channel's credits, so the sources finish
	backlog, tail := make(chan struct{}), make(chan struct{})
	var openBacklog, openTail sync.Once
	defer openTail.Do(func() { close(tail) })
	defer openBacklog.Do(func() { close(backlog) })
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval, c.Checkpoint.Timeout = time.Hour, 2*time.Second // the savepoint is the only checkpoint
		c.BatchSize = 64
	})
	p := operators.NewPipeline("tail").SetParallelism(2)
	src := operators.Generate(p, 2*perSource, func(i int64) int64 { return i })
	fl := operators.External(src, "flooder", func(_ *operators.TaskContext, out operators.Collector[int64]) (operators.Collector[int64], any, error) {
		f := &flooder{out: out, flood: flood}
		return f, f, nil
	}).Parallelism(1)
	// The sink holds back everything until the savepoint is pending
	// (backpressure keeps the flooder's end of input queued), then the
	// flood until the savepoint has completed.
	slow := operators.Map(fl, func(v int64) int64 {
		if v < 0 {
			<-tail
		} else {
			<-backlog
		}
		return v
	}).Parallelism(2)
	sink := operators.Collect(slow).Parallelism(2)
	j := submit(t, e, p)
	eventually(t, 20*time.Second, func() bool {
		n := 0
		j.inspect(func(m *master) { n = len(m.finished) })
		return n == 2
	}, "both sources to finish")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		_, err := j.Savepoint(ctx)
		res <- err
	}()
	// Once the savepoint is pending, the flooder's trigger is in its
	// mailbox, ahead of the credits that the sink grants once the backlog
	// goes on.
	eventually(t, 20*time.Second, func() bool {
		pending := false
		j.inspect(func(m *master) { pending = len(m.ckpt.coord.Pending()) > 0 })
		return pending
	}, "the savepoint to be triggered")
	openBacklog.Do(func() { close(backlog) })
	if err := <-res; err != nil {
		t.Fatalf("savepoint taken once the sources had finished, with the tail held back: %v", err)
	}
	openTail.Do(func() { close(tail) })
	if err := j.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := len(sink.Values()), 2*perSource*10+flood; got != want {
		t.Fatalf("committed %d records, want %d", got, want)
	}
}
