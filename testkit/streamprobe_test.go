package testkit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// startProbePipeline submits p to an engine with batches of one record and
// one credit per channel, so that the probes control every step.
func startProbePipeline(t *testing.T, p *operators.Pipeline) *actors.Job {
	t.Helper()
	cfg := actors.DefaultConfig()
	cfg.BatchSize, cfg.Credits, cfg.Logger = 1, 1, actors.QuietLogger()
	e, err := actors.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	job, err := e.Submit(g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(job.Cancel)
	return job
}

func waitJob(t *testing.T, job *actors.Job) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout())
	defer cancel()
	return job.Wait(ctx)
}

func TestStreamProbes_backpressureReachesTheSource(t *testing.T) {
	p := operators.NewPipeline("backpressure")
	src, s := NewSourceProbe[int](t, p)
	sink := NewSinkProbe(t, operators.Map(s, func(v int) int { return v * 10 }).Parallelism(1))
	job := startProbePipeline(t, p)
	for i := range 100 {
		src.SendNext(i, operators.NoTimestamp)
	}
	sink.ExpectNoElement(50 * time.Millisecond)
	// With one record per credit, the map's input and output and the
	// sink's input hold a few records at most: the source kept the rest.
	if pending := src.Pending(); pending < 90 {
		t.Fatalf("source emitted %d records with no demand downstream", 100-pending)
	}
	sink.Request(100)
	got := sink.ExpectNextN(100)
	for i, v := range got {
		if v != i*10 {
			t.Fatalf("record %d is %d, want %d", i, v, i*10)
		}
	}
	src.ExpectRequest()
	src.SendComplete()
	sink.ExpectComplete()
	if err := waitJob(t, job); err != nil {
		t.Fatal(err)
	}
}

func TestStreamProbes_watermarksKeepTheirPlace(t *testing.T) {
	p := operators.NewPipeline("order")
	src, s := NewSourceProbe[string](t, p)
	sink := NewSinkProbe(t, s)
	startProbePipeline(t, p)
	src.SendNext("a", 1)
	src.SendWatermark(1)
	src.SendNext("b", 2)
	src.SendIdle(true)
	src.SendIdle(false)
	src.SendWatermark(5)
	sink.Request(2)
	sink.ExpectNext("a")
	sink.ExpectWatermark(1)
	sink.ExpectNext("b")
	sink.ExpectNoElement(20 * time.Millisecond) // the watermark waits behind the grant
	sink.Request(1)
	sink.ExpectWatermark(5)
	src.SendComplete()
	sink.ExpectComplete()
}

func TestSourceProbe_SendError_failsTheJob(t *testing.T) {
	p := operators.NewPipeline("failing")
	src, s := NewSourceProbe[int](t, p)
	NewSinkProbe(t, s).Request(1)
	job := startProbePipeline(t, p)
	boom := errors.New("boom")
	src.SendError(boom)
	if err := waitJob(t, job); !errors.Is(err, boom) {
		t.Fatalf("job error %v, want boom", err)
	}
}

func TestSinkProbe_ExpectNext_failsOnAnotherValue(t *testing.T) {
	p := operators.NewPipeline("mismatch")
	src, s := NewSourceProbe[int](t, p)
	var sink *SinkProbe[int]
	msg := failure(t, func(tb testing.TB) {
		sink = NewSinkProbe(tb, s)
		startProbePipeline(t, p)
		src.SendNext(1, operators.NoTimestamp)
		sink.Request(1)
		sink.ExpectNext(2)
	})
	wantContains(t, msg, "expected record 2, got 1")
}

// A barrier sent by the source probe is aligned across the two channels of
// a union and reaches the sink probe after exactly the records before it.
func TestStreamProbes_barriersAlignAcrossInputs(t *testing.T) {
	p := operators.NewPipeline("barriers")
	a, sa := NewSourceProbe[int](t, p)
	b, sb := NewSourceProbe[int](t, p)
	sink := NewSinkProbe(t, operators.Map(operators.Union(sa, sb), func(v int) int { return v }).Parallelism(1))
	startProbePipeline(t, p)
	sink.Request(10)
	a.SendNext(1, 1)
	a.SendBarrier(1)
	a.SendNext(2, 2) // held back: channel a is aligned, waiting for b's barrier
	b.SendNext(10, 1)
	if got := sink.ExpectNextN(2); got[0]+got[1] != 11 { // either order: two channels
		t.Fatalf("before the barrier: %v, want 1 and 10", got)
	}
	sink.ExpectNoElement(20 * time.Millisecond)
	b.SendBarrier(1)
	sink.ExpectBarrier(1)
	sink.ExpectNext(2)
	if a.Credit() < 0 {
		t.Fatal("negative credit")
	}
	a.SendComplete()
	b.SendComplete()
	sink.ExpectComplete()
}

func TestSourceProbe_Credit_showsGrantedCredit(t *testing.T) {
	p := operators.NewPipeline("credit")
	src, s := NewSourceProbe[int](t, p)
	sink := NewSinkProbe(t, s)
	startProbePipeline(t, p) // one credit per channel
	src.ExpectRequest()
	// The sink's credit may come after the source's first poll: the next
	// poll, which the credit triggers, sees it.
	Eventually(t, DefaultTimeout(), func() bool { return src.Credit() == 1 }, "the source to see the sink's credit")
	// The first record takes the only credit; the source may emit one more
	// batch, which waits in its output queue; then it is not polled again.
	src.SendNext(1, 1)
	src.SendNext(2, 2)
	src.SendNext(3, 3)
	Eventually(t, DefaultTimeout(), func() bool { return src.Pending() == 1 && src.Credit() == 0 }, "the source to use its credit")
	sink.ExpectNoElement(10 * time.Millisecond)
	if src.Pending() != 1 {
		t.Fatalf("the source emitted without credit: %d pending", src.Pending())
	}
	sink.Request(3)
	sink.ExpectNext(1, 2, 3)
	src.SendComplete()
	sink.ExpectComplete()
}
