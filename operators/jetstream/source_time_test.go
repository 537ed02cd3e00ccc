package jetstream

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// clockProbe records what a splitClock forwards, as "wm(N)", "idle" and
// "active".
type clockProbe struct{ events []string }

func (p *clockProbe) emit(wm int64) { p.events = append(p.events, fmt.Sprintf("wm(%d)", wm)) }
func (p *clockProbe) mark(idle bool) {
	p.events = append(p.events, map[bool]string{true: "idle", false: "active"}[idle])
}
func (p *clockProbe) take() string { s := strings.Join(p.events, " "); p.events = nil; return s }
func at(ms int64) func() time.Time { return func() time.Time { return time.UnixMilli(ms) } }
func monotonous(idle time.Duration) watermark.Strategy {
	s := watermark.ForMonotonous()
	s.Interval, s.IdleTimeout = 10*time.Millisecond, idle
	return s
}

// The subtask's watermark is the minimum over its splits; a split without
// records for the idle timeout stops holding it back, and comes back
// (announced active) with its next record without moving it backwards.
func TestSplitClock_idleSplit(t *testing.T) {
	p := &clockProbe{}
	c := newSplitClock(2, monotonous(50*time.Millisecond), time.UnixMilli(0), p.emit, p.mark)
	c.onRecord(0, 100, at(0))
	c.onRecord(1, 40, at(0))
	c.onTime(time.UnixMilli(10))
	if got := p.take(); got != "wm(39)" {
		t.Fatalf("after both splits: %q, want the minimum wm(39)", got)
	}
	for ms := int64(20); ms <= 50; ms += 10 {
		c.onRecord(0, 100+ms, at(ms)) // split 1 says nothing more
		c.onTime(time.UnixMilli(ms))
	}
	if got := p.take(); got != "" {
		t.Fatalf("before split 1's idle timeout: %q, want nothing (held back by split 1)", got)
	}
	c.onRecord(0, 200, at(60))
	c.onTime(time.UnixMilli(60)) // split 1 silent since it was last seen, at 10 ms
	if got := p.take(); got != "wm(199)" {
		t.Fatalf("split 1 idle: %q, want split 0's watermark", got)
	}
	c.onRecord(1, 50, at(80)) // late, but it comes back
	c.onTime(time.UnixMilli(80))
	if got := p.take(); got != "" {
		t.Fatalf("split 1 back below the output: %q, want nothing (no regression, no status change)", got)
	}
	c.onRecord(1, 300, at(90))
	c.onRecord(0, 400, at(90))
	c.onTime(time.UnixMilli(90))
	if got := p.take(); got != "wm(299)" {
		t.Fatalf("split 1 caught up: %q, want the minimum again", got)
	}
}

// Review 19: the splits are combined as Flink's per-split watermarks
// (WatermarkOutputMultiplexer over CombinedWatermarkStatus), not by a
// channel valve: a split that comes back from idleness behind the
// subtask's watermark counts at once and holds it where it is until it
// passes it. With the valve's catch-up rule the subtask followed split 0
// to 399 and split 1's records at 250 became late downstream.
func TestSplitClock_returningSplitHoldsTheWatermark(t *testing.T) {
	p := &clockProbe{}
	c := newSplitClock(2, monotonous(50*time.Millisecond), time.UnixMilli(0), p.emit, p.mark)
	c.onRecord(0, 100, at(0))
	c.onRecord(1, 40, at(0))
	c.onTime(time.UnixMilli(10))
	c.onRecord(0, 200, at(60))
	c.onTime(time.UnixMilli(60)) // split 1 silent since 10 ms: idle
	if got := p.take(); got != "wm(39) wm(199)" {
		t.Fatalf("split 1 idle: %q, want wm(39) wm(199)", got)
	}
	c.onRecord(1, 50, at(80)) // back, behind the subtask's 199
	c.onRecord(0, 400, at(80))
	c.onTime(time.UnixMilli(80))
	if got := p.take(); got != "" {
		t.Fatalf("split 1 back at 49: %q, want nothing (it holds the watermark at 199)", got)
	}
	c.onRecord(1, 250, at(90))
	c.onRecord(0, 500, at(90))
	c.onTime(time.UnixMilli(90))
	if got := p.take(); got != "wm(249)" {
		t.Fatalf("split 1 at 249: %q, want wm(249), the minimum", got)
	}
}

// Review 19: a split that has ended leaves the combination, as Flink
// unregisters its output: when the others go idle, the flush is the
// highest watermark of the splits still read, not of the ended one
// (with it, split 0's next records, at 200, became late).
func TestSplitClock_endedSplitLeavesTheFlush(t *testing.T) {
	p := &clockProbe{}
	c := newSplitClock(2, monotonous(20*time.Millisecond), time.UnixMilli(0), p.emit, p.mark)
	c.onRecord(0, 100, at(0))
	c.onRecord(1, 500, at(0))
	c.onTime(time.UnixMilli(10))
	c.finish(1)
	c.onTime(time.UnixMilli(30)) // split 0 silent since 10 ms: idle
	if got := p.take(); got != "wm(99) idle" {
		t.Fatalf("split 1 ended, split 0 idle: %q, want wm(99) idle", got)
	}
	c.onRecord(0, 200, at(40))
	c.onTime(time.UnixMilli(40))
	if got := p.take(); got != "active wm(199)" {
		t.Fatalf("split 0 back: %q, want active wm(199)", got)
	}
}

// When every split is idle the subtask announces itself idle, after
// flushing the highest watermark; a record makes it active first.
func TestSplitClock_allIdle(t *testing.T) {
	p := &clockProbe{}
	c := newSplitClock(2, monotonous(20*time.Millisecond), time.UnixMilli(0), p.emit, p.mark)
	c.onRecord(0, 100, at(0))
	c.onTime(time.UnixMilli(10))
	c.onTime(time.UnixMilli(20)) // split 1 never sent: idle now
	c.onTime(time.UnixMilli(40)) // split 0 silent since 10 ms
	if got := p.take(); got != "wm(99) idle" {
		t.Fatalf("all idle: %q", got)
	}
	c.onRecord(1, 500, at(50))
	if got := p.take(); got != "active" {
		t.Fatalf("a record: %q, want active before it", got)
	}
	if next := c.nextTime(); next.After(time.UnixMilli(60)) {
		t.Errorf("next time %v after the period", next)
	}
}

// Without an idle timeout a silent split holds the watermark back for
// ever: the behaviour the timeout exists to change.
func TestSplitClock_noIdleTimeout(t *testing.T) {
	p := &clockProbe{}
	c := newSplitClock(2, monotonous(0), time.UnixMilli(0), p.emit, p.mark)
	c.onRecord(1, 10, at(0))
	for ms := int64(0); ms < 10_000; ms += 10 {
		c.onRecord(0, 100+ms, at(ms))
		c.onTime(time.UnixMilli(ms))
	}
	if got := p.take(); got != "wm(9)" {
		t.Fatalf("%q, want split 1's watermark only", got)
	}
}

// A split that ends stops counting; the other goes on alone.
func TestSplitClock_finish(t *testing.T) {
	p := &clockProbe{}
	c := newSplitClock(2, monotonous(0), time.UnixMilli(0), p.emit, p.mark)
	c.onRecord(0, 100, at(0))
	c.onRecord(1, 10, at(0))
	c.onTime(time.UnixMilli(10))
	c.finish(1)
	c.onRecord(0, 200, at(20))
	c.onTime(time.UnixMilli(20))
	if got := p.take(); got != "wm(9) wm(99) wm(199)" {
		t.Fatalf("%q", got)
	}
}

// windowCount is a window's count of events, by its start.
type windowCount struct {
	Start int64
	N     int
}

// Through the engine: subject in.b sends one event and falls silent,
// in.a goes on. With an idle timeout the event-time windows keep firing
// while the job runs: the idle subject does not stall them.
func TestFromJetStream_idleSubjectDoesNotStallWindows(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.b", "b", 1)
	publishEvents(t, s, "in.a", "a", 20)

	p := operators.NewPipeline("idle")
	wm := watermark.ForMonotonous()
	wm.Interval, wm.IdleTimeout = 10*time.Millisecond, 100*time.Millisecond
	src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "IN", Subjects: []string{"in.a", "in.b"},
		Watermarks: wm, Timestamp: func(e event, _ time.Time) int64 { return int64(e.N) * 1000 }})
	if err != nil {
		t.Fatal(err)
	}
	counts := operators.AggregateWindowWith(operators.Window(operators.KeyBy(src, func(event) int { return 0 }), window.Tumbling(2*time.Second)),
		operators.Aggregate(func() int { return 0 }, func(n int, _ event) int { return n + 1 },
			func(a, b int) int { return a + b }, func(n int) int { return n }),
		func(ctx *operators.WindowContext[int], n int, out operators.Collector[windowCount]) error {
			out.Collect(windowCount{Start: ctx.Window().Start, N: n}, 0)
			return nil
		})
	fired := make(chan windowCount, 100)
	operators.ToSink(counts, "probe", func(*operators.TaskContext) (operators.SinkWriter[windowCount], error) {
		return sinkFunc[windowCount](func(w windowCount) { fired <- w }), nil
	})
	r := testkit.NewRunner(t)
	job := r.Start(p) // unbounded: runs until cancelled
	defer job.Cancel()
	var got []windowCount
	testkit.Eventually(t, 10*time.Second, func() bool {
		for {
			select {
			case w := <-fired:
				got = append(got, w)
			default:
				return slices.ContainsFunc(got, func(w windowCount) bool { return w.Start == 16000 })
			}
		}
	}, "window [16 s, 18 s) fired while in.b is silent")
	want := windowCount{Start: 2000, N: 2}
	if !slices.Contains(got, want) {
		t.Errorf("windows %v, want %v among them", got, want)
	}
}

// sinkFunc is a SinkWriter from a function.
type sinkFunc[T any] func(T)

func (f sinkFunc[T]) Write(v T, _ int64) error {
	f(v)
	return nil
}

// A subtask whose output waits for credit is backpressured, not idle: a
// split that sends nothing meanwhile is not announced idle however long
// that lasts (Flink pauses the idleness clock of a backpressured
// source), or downstream would advance its watermark past the records
// the fetcher holds for it. Its timeout runs again once the output has
// room.
func TestSplitClock_backpressuredSplitIsNotIdle(t *testing.T) {
	p := &clockProbe{}
	c := newSplitClock(1, monotonous(20*time.Millisecond), time.UnixMilli(0), p.emit, p.mark)
	backpressured := true
	c.backpressured = func() bool { return backpressured }
	c.onRecord(0, 100, at(0))
	for ms := int64(10); ms <= 200; ms += 10 {
		c.onTime(time.UnixMilli(ms))
	}
	if got := p.take(); got != "wm(99)" {
		t.Fatalf("backpressured for ten idle timeouts: %q, want its watermark only, not idle", got)
	}
	backpressured = false
	c.onTime(time.UnixMilli(210))
	c.onTime(time.UnixMilli(220))
	if got := p.take(); got != "idle" {
		t.Fatalf("an idle timeout with room in the output: %q, want idle", got)
	}
}
