package actors_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// Unaligned checkpoints, in the style of Flink's UnalignedCheckpointITCase:
// a keyed job whose sink is much slower than its source (heavy
// backpressure: every channel's credit window full), checkpoints every
// few milliseconds, failures at random points. Whatever the in-flight data
// at the checkpoint restored, the committed output is exactly once and in
// order per key and source subtask.

// ucRecord is a source record: seq is its sequence number, from source
// subtask seq % parallelism.
type ucRecord struct {
	Key int64 `json:"k"`
	Seq int64 `json:"s"`
}

// ucCounted is the count-th record of its key.
type ucCounted struct {
	Key   int64 `json:"k"`
	Seq   int64 `json:"s"`
	Count int64 `json:"c"`
}

var ucCount = operators.ValueDescriptor[int64]{Name: "count"}

// ucJob is one run of the unaligned test job.
type ucJob struct {
	name      string
	srcPar    int   // the source's parallelism (a generator restores only at its own)
	par       int   // the count operator's
	sinkPar   int   // the slow sink's
	n, keys   int64 // records, keys
	spin      func(seq int64) int
	collectTo *operators.Collected[ucCounted] // nil: a new one
}

// spinFor burns about d of CPU per record, without sleeping, so that the
// sink is the bottleneck whatever the machine's timer resolution.
func spinFor(n int) uint64 {
	var x uint64
	for i := range n {
		x = x*31 + uint64(i)
	}
	return x
}

var spinSink atomic.Uint64

// build makes the job: generator → keyBy → count (keyed state) → keyBy
// → slow → exactly-once collecting sink.
func (j ucJob) build() (*operators.Pipeline, *operators.Collected[ucCounted]) {
	p := operators.NewPipeline(j.name).SetParallelism(j.par)
	keys := j.keys
	src := operators.Generate(p, j.n, func(i int64) ucRecord { return ucRecord{Key: i % keys, Seq: i} }).Name("gen").Parallelism(j.srcPar)
	counted := operators.ProcessKeyed(operators.KeyBy(src, func(r ucRecord) int64 { return r.Key }),
		func(ctx *operators.KeyedContext[int64], r ucRecord, out operators.Collector[ucCounted]) error {
			st, err := operators.GetValueState(ctx, ucCount)
			if err != nil {
				return err
			}
			c, _ := st.Value()
			st.Update(c + 1)
			out.Collect(ucCounted{Key: r.Key, Seq: r.Seq, Count: c + 1}, operators.NoTimestamp)
			return nil
		}).Name("count")
	spin := j.spin
	// Keyed again, so that each (source subtask, key) travels one path of
	// FIFO channels to one sink subtask, whose order the job must keep.
	slow := operators.ProcessKeyed(operators.KeyBy(counted, func(c ucCounted) int64 { return c.Key }),
		func(_ *operators.KeyedContext[int64], c ucCounted, out operators.Collector[ucCounted]) error {
			spinSink.Add(spinFor(spin(c.Seq)))
			out.Collect(c, operators.NoTimestamp)
			return nil
		}).Name("slow").Parallelism(j.sinkPar)
	if j.collectTo != nil {
		return p, operators.CollectTo(slow, j.collectTo).Name("sink").Parallelism(j.sinkPar)
	}
	return p, operators.Collect(slow).Name("sink").Parallelism(j.sinkPar)
}

// sent lists what each source subtask emits, for CheckExactlyOnce.
func (j ucJob) sent() map[string][]int64 {
	sent := map[string][]int64{}
	for i := range j.n {
		src := fmt.Sprintf("gen/%d", i%int64(j.srcPar))
		sent[src] = append(sent[src], i)
	}
	return sent
}

// check asserts that got is exactly once, in order per (source subtask,
// key), and that each key's counts are 1…N once each: the keyed state of
// the count operator was restored with exactly the records before the
// checkpoint, the in-flight ones replayed once.
func (j ucJob) check(t *testing.T, got []ucCounted) {
	t.Helper()
	par := int64(j.srcPar)
	id := func(c ucCounted) testkit.RecordID {
		return testkit.RecordID{Source: fmt.Sprintf("gen/%d", c.Seq%par), Seq: c.Seq}
	}
	testkit.AssertExactlyOnce(t, j.sent(), got, id, testkit.InOrderBy(func(c ucCounted) int64 { return c.Key }))
	counts := map[int64]map[int64]int{}
	for _, c := range got {
		if counts[c.Key] == nil {
			counts[c.Key] = map[int64]int{}
		}
		counts[c.Key][c.Count]++
	}
	for k := range j.keys {
		per := j.n / j.keys
		if k < j.n%j.keys {
			per++
		}
		for c := int64(1); c <= per; c++ {
			if counts[k][c] != 1 {
				t.Fatalf("key %d: count %d committed %d times", k, c, counts[k][c])
			}
		}
	}
}

// seeded returns a random source seeded by TROUPE_SEED when set, logging
// the seed either way, so that a failure replays.
func seeded(t *testing.T) *rand.Rand {
	t.Helper()
	seed := time.Now().UnixNano()
	if s, err := strconv.ParseInt(os.Getenv("TROUPE_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("TROUPE_SEED=%d", seed)
	return rand.New(rand.NewPCG(uint64(seed), 1))
}

// unaligned sets unaligned checkpoints every interval, with an alignment
// timeout (0: unaligned from the start), in a directory store.
func unaligned(t *testing.T, interval, timeout time.Duration) func(*actors.Config) {
	root := filepath.Join(t.TempDir(), "checkpoints")
	return func(c *actors.Config) {
		c.Checkpoint.Interval = interval
		c.Checkpoint.Unaligned = true
		c.Checkpoint.AlignmentTimeout = timeout
		c.Checkpoint.Store = func(job, run string) (actors.CheckpointStore, error) {
			return persistence.OpenDirStore(filepath.Join(root, job, run), 3)
		}
		c.BatchSize, c.Credits = 32, 4
	}
}

// restoredChannels records, for each restart, whether the checkpoint it
// restored held in-flight data.
type restoredChannels struct {
	mu       sync.Mutex
	inFlight []int64 // bytes of records per restored checkpoint
	held     []int   // entries of sources' held polls per restored checkpoint
	errs     []error
}

func (r *restoredChannels) onRestart(info actors.RestartInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if info.CheckpointPath == "" {
		r.errs = append(r.errs, fmt.Errorf("restart %d restored no checkpoint", info.Restart))
		return
	}
	n, held, err := channelContents(info.CheckpointPath)
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.inFlight, r.held = append(r.inFlight, n), append(r.held, held)
}

// channelContents returns the bytes of in-flight records the checkpoint
// at path holds, and the entries of sources' held polls among them.
func channelContents(path string) (inFlight int64, held int, err error) {
	cp, err := persistence.OpenCheckpoint(path)
	if err != nil {
		return 0, 0, err
	}
	for _, ts := range cp.Meta.Tasks {
		inFlight += ts.InFlight
		if ts.Channels == "" {
			continue
		}
		b, err := cp.ReadState(ts.Channels)
		var cs *persistence.ChannelState
		if err == nil {
			cs, err = persistence.UnmarshalChannelState(b)
		}
		if err != nil {
			return 0, 0, err
		}
		held += len(cs.Source)
	}
	return inFlight, held, nil
}

// replayable is a fault condition (testkit.When): the job's latest
// complete checkpoint is newer than after() and holds in-flight data —
// and, with fromPoll, part of a source's held poll — so that a failure
// now restores, and replays, such data. It reads each checkpoint once.
type replayable struct {
	job      atomic.Pointer[actors.Job]
	after    atomic.Int64 // the ID restored last
	fromPoll bool
	seen     int64 // the latest checkpoint looked at (one subtask asks: see When)
	ok       bool
}

func (r *replayable) ready() bool {
	job := r.job.Load()
	if job == nil {
		return false
	}
	cp, found := job.LatestCheckpoint()
	if !found || cp.ID <= r.after.Load() {
		return false
	}
	if cp.ID != r.seen {
		r.seen = cp.ID
		n, held, err := channelContents(cp.Path)
		r.ok = err == nil && n > 0 && (!r.fromPoll || held > 0)
	}
	return r.ok
}

// restarted notes the checkpoint each restart restores, then calls next.
func (r *replayable) restarted(next func(actors.RestartInfo)) func(actors.RestartInfo) {
	return func(info actors.RestartInfo) {
		r.after.Store(info.Checkpoint)
		next(info)
	}
}

// slowSpin is the slow sink's work per record: a few hundred
// microseconds, so that the job runs for seconds with every channel's
// credit window full.
func slowSpin(int64) int { return 150000 }

// The ITCase: parallelism 2, 3 and 4, a slow sink, one failure in the
// count operator and one in the sink, each at a random record (the second
// in the attempt after the first), late enough that checkpoints have
// completed before it. Every restart restores an unaligned checkpoint
// with in-flight data, and the output is exactly once.
func TestUnaligned_keyedSlowSink_failures_exactlyOnce(t *testing.T) {
	rng := seeded(t)
	for _, par := range []int{2, 3, 4} {
		t.Run(fmt.Sprintf("p%d", par), func(t *testing.T) {
			j := ucJob{name: fmt.Sprintf("unaligned-p%d", par), srcPar: par, par: par, sinkPar: 2, n: 6000, keys: 23, spin: slowSpin}
			perCount := j.n / int64(par)
			countAt := perCount*3/10 + rng.Int64N(perCount*3/10)
			sinkAt := 200 + rng.Int64N(500)
			t.Logf("faults: count subtask 0 at its record %d (first attempt), slow subtask 1 at its record %d (second attempt)", countAt, sinkAt)
			var restored restoredChannels
			// Each fault waits, from its record on, for a completed
			// checkpoint with in-flight data newer than the one its
			// attempt restored: on a slow machine the record can come
			// before any checkpoint has, and the restart would then
			// replay nothing.
			var when replayable
			// The second attempt's sink is four times slower until its
			// fault fires: on a loaded machine the attempt could otherwise
			// end before any checkpoint of it completed, and its fault,
			// waiting for one, would never fire.
			var restarted, secondFired atomic.Bool
			j.spin = func(seq int64) int {
				if restarted.Load() && !secondFired.Load() {
					return 4 * slowSpin(seq)
				}
				return slowSpin(seq)
			}
			onRestart := when.restarted(restored.onRestart)
			r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second), testkit.WithConfig(unaligned(t, 10*time.Millisecond, 0)),
				testkit.WithConfig(func(c *actors.Config) {
					c.OnRestart = func(info actors.RestartInfo) { restarted.Store(true); onRestart(info) }
				}))
			r.Faults().FailAt("count", testkit.AtRecord(countAt), testkit.InSubtask(0), testkit.InAttempt(0), testkit.When(when.ready))
			r.Faults().FailAt("slow", testkit.AtRecord(sinkAt), testkit.InSubtask(1), testkit.InAttempt(1), testkit.When(func() bool {
				ok := when.ready()
				secondFired.Store(ok)
				return ok
			}))
			p, sink := j.build()
			job := r.Start(p)
			when.job.Store(job)
			res := r.Wait(job)
			if res.State != actors.JobFinished || res.Restarts != 2 {
				t.Fatalf("%v, faults %+v: want finished after 2 restarts", res, r.Faults().Fired())
			}
			j.check(t, sink.Values())
			restored.mu.Lock()
			defer restored.mu.Unlock()
			if len(restored.errs) > 0 || len(restored.inFlight) != 2 {
				t.Fatalf("restores: %v, errors %v", restored.inFlight, restored.errs)
			}
			for i, n := range restored.inFlight {
				if n == 0 {
					t.Errorf("restart %d restored a checkpoint without in-flight data: the replay of channel state was not exercised", i+1)
				}
			}
			checkUnalignedStats(t, job, true)
		})
	}
}

// checkUnalignedStats checks that completed checkpoints were unaligned
// and persisted in-flight data (wantUnaligned), and logs them.
func checkUnalignedStats(t *testing.T, job *actors.Job, wantUnaligned bool) (aligned, unaligned int) {
	t.Helper()
	var inflight int64
	for _, s := range job.Checkpoints().History {
		if s.Status != actors.CheckpointCompleted {
			continue
		}
		if s.Unaligned {
			unaligned++
			inflight += s.InFlight
		} else {
			aligned++
		}
		if testing.Verbose() {
			t.Logf("checkpoint %d: %s in %v, unaligned %v, size %d, in flight %d, alignment %v", s.ID, s.Status, s.Duration, s.Unaligned, s.Size, s.InFlight, s.Alignment)
		}
		if s.InFlight > s.Size {
			t.Errorf("checkpoint %d: in-flight data %d larger than its size %d", s.ID, s.InFlight, s.Size)
		}
	}
	t.Logf("completed checkpoints in the history: %d aligned, %d unaligned (%d bytes in flight)", aligned, unaligned, inflight)
	if wantUnaligned && (unaligned == 0 || inflight == 0) {
		t.Errorf("no unaligned checkpoint with in-flight data among the completed ones")
	}
	return aligned, unaligned
}

// ucGate makes the sink slow only while slow is set.
type ucGate struct{ slow atomic.Bool }

func (g *ucGate) spin(seq int64) int {
	if g.slow.Load() {
		return slowSpin(seq)
	}
	return 0
}

// waitCheckpoints polls until want(summary) holds, failing the test after
// a deadline.
func waitCheckpoints(t *testing.T, job *actors.Job, what string, want func(actors.CheckpointSummary) bool) {
	t.Helper()
	deadline := time.Now().Add(testkit.Dilated(60 * time.Second))
	for !want(job.Checkpoints()) {
		if st := job.State(); time.Now().After(deadline) || (st != actors.JobRunning && st != actors.JobCreated) {
			t.Fatalf("waiting for %s: job %v, checkpoints %+v", what, job.State(), job.Checkpoints().History)
		}
		time.Sleep(5 * time.Millisecond) // polling the stats; not a wait for an event
	}
}

// countCompleted counts completed checkpoints (not savepoints) in the
// history by alignment.
func countCompleted(s actors.CheckpointSummary) (aligned, unaligned int) {
	for _, c := range s.History {
		if c.Status != actors.CheckpointCompleted || c.Savepoint {
			continue
		}
		if c.Unaligned {
			unaligned++
		} else {
			aligned++
		}
	}
	return aligned, unaligned
}

// With an alignment timeout, checkpoints start aligned: while the sink
// keeps up they complete aligned; once it falls behind (heavy
// backpressure) alignment takes longer than the timeout and they switch
// to unaligned; when it catches up they are aligned again.
func TestUnaligned_alignmentTimeout_switches(t *testing.T) {
	gate := &ucGate{}
	j := ucJob{name: "alignment-timeout", srcPar: 2, par: 2, sinkPar: 1, n: -1, keys: 11, spin: gate.spin}
	r := testkit.NewRunner(t, testkit.WithConfig(unaligned(t, 20*time.Millisecond, 40*time.Millisecond)))
	p, _ := j.build()
	job := r.Start(p)
	defer job.Cancel()
	waitCheckpoints(t, job, "two aligned checkpoints while the sink keeps up", func(s actors.CheckpointSummary) bool {
		a, _ := countCompleted(s)
		return a >= 2
	})
	gate.slow.Store(true)
	waitCheckpoints(t, job, "two unaligned checkpoints under backpressure", func(s actors.CheckpointSummary) bool {
		_, u := countCompleted(s)
		return u >= 2
	})
	gate.slow.Store(false)
	before, _ := countCompleted(job.Checkpoints())
	waitCheckpoints(t, job, "an aligned checkpoint once the sink caught up", func(s actors.CheckpointSummary) bool {
		a, _ := countCompleted(s)
		return a > before || a >= 30 // the history keeps the last 32
	})
	aligned, unalignedN := checkUnalignedStats(t, job, true)
	if aligned == 0 || unalignedN == 0 {
		t.Fatalf("%d aligned and %d unaligned checkpoints: want both", aligned, unalignedN)
	}
	for _, s := range job.Checkpoints().History {
		if s.Status == actors.CheckpointCompleted && !s.Unaligned && s.InFlight != 0 {
			t.Errorf("aligned checkpoint %d persisted %d bytes in flight", s.ID, s.InFlight)
		}
	}
}

// A savepoint is always aligned, even with unaligned checkpoints and
// under heavy backpressure, as in Flink: it holds no in-flight data, so it
// can be restored at another parallelism. The job is stopped with it and
// resumed with its keyed operator and sink at parallelism 3: the output
// of both runs is exactly once.
func TestUnaligned_savepointStaysAligned_rescale(t *testing.T) {
	j := ucJob{name: "unaligned-savepoint", srcPar: 2, par: 2, sinkPar: 2, n: 6000, keys: 23, spin: slowSpin}
	r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second), testkit.WithConfig(unaligned(t, 10*time.Millisecond, 0)))
	p, sink := j.build()
	job := r.Start(p)
	waitCheckpoints(t, job, "an unaligned checkpoint under backpressure", func(s actors.CheckpointSummary) bool {
		_, u := countCompleted(s)
		return u >= 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(60*time.Second))
	defer cancel()
	path, err := job.StopWithSavepoint(ctx)
	if err != nil {
		t.Fatalf("StopWithSavepoint: %v", err)
	}
	r.Wait(job)
	cp, err := persistence.OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if !cp.Meta.Savepoint || cp.Meta.HasChannelState() || cp.Meta.InFlightBytes() != 0 {
		t.Fatalf("savepoint %s: savepoint %v, channel state %v: want an aligned savepoint", path, cp.Meta.Savepoint, cp.Meta.HasChannelState())
	}
	for _, s := range job.Checkpoints().History {
		if s.Savepoint && (s.Unaligned || s.InFlight != 0) {
			t.Fatalf("savepoint %d: unaligned %v, %d bytes in flight", s.ID, s.Unaligned, s.InFlight)
		}
	}
	j2 := j
	j2.par, j2.sinkPar, j2.collectTo = 3, 3, sink
	p2, _ := j2.build()
	res := r.Wait(r.Start(p2, actors.RestoreFrom(path)))
	if res.State != actors.JobFinished {
		t.Fatalf("resumed job: %v", res)
	}
	j.check(t, sink.Values())
}

// An unaligned checkpoint restores at the parallelism it was taken at:
// the job is cancelled under backpressure, a new job restores its latest
// checkpoint — which holds in-flight data — and the output of both is
// exactly once. At another parallelism the same checkpoint is refused
// with an error that says why and what to do.
func TestUnaligned_restoreCheckpoint(t *testing.T) {
	j := ucJob{name: "unaligned-restore", srcPar: 3, par: 3, sinkPar: 2, n: 6000, keys: 23, spin: slowSpin}
	r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second), testkit.WithConfig(unaligned(t, 10*time.Millisecond, 0)))
	p, sink := j.build()
	job := r.Start(p)
	waitCheckpoints(t, job, "three completed unaligned checkpoints", func(s actors.CheckpointSummary) bool {
		_, u := countCompleted(s)
		return u >= 3
	})
	job.Cancel()
	r.Wait(job)
	latest, ok := job.LatestCheckpoint()
	if !ok {
		t.Fatal("no checkpoint")
	}
	cp, err := persistence.OpenCheckpoint(latest.Path)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Meta.InFlightBytes() == 0 {
		t.Fatalf("checkpoint %s holds no in-flight data: the test would not restore channel state", latest.Path)
	}

	rescaled := j
	rescaled.par = 4
	pr, _ := rescaled.build()
	g, err := pr.Build()
	if err != nil {
		t.Fatal(err)
	}
	// Submit checks the path; the restore plan, made as the job deploys,
	// refuses it, and the job fails without a restart.
	bad, err := r.Engine().Submit(g, actors.RestoreFrom(latest.Path))
	if err == nil {
		err = r.Wait(bad).Err
	}
	if !errors.Is(err, actors.ErrRestore) || !errors.Is(err, actors.ErrUnalignedRescale) {
		t.Fatalf("restore at parallelism 4 of a checkpoint taken at 3 with in-flight data: %v, want ErrUnalignedRescale", err)
	}
	t.Logf("refused: %v", err)

	j2 := j
	j2.collectTo = sink
	p2, _ := j2.build()
	res := r.Wait(r.Start(p2, actors.RestoreFrom(latest.Path)))
	if res.State != actors.JobFinished {
		t.Fatalf("restored job: %v", res)
	}
	j.check(t, sink.Values())
}

// ucLate is a record of the lateness job: Ts its event time.
type ucLate struct {
	Seq int64 `json:"s"`
	Key int64 `json:"k"`
	Ts  int64 `json:"t"`
}

// Watermarks are not in snapshots (as in Flink), so a restored
// operator's watermark starts at −∞. After an unaligned checkpoint the
// in-flight records replayed first came, in the run that took it, after
// watermarks the operator had consumed before its snapshot: each input
// channel's watermark is therefore restored ahead of its channel state.
// Here the first record carries a watermark far ahead of every other
// record's time, so all the others are late; a slow late-output sink
// keeps late records in flight at the window's input, and the window
// fails after a checkpoint. Every late record must still be late after
// the restore: on the late output exactly once, and no window fires.
func TestUnaligned_restoredRecordsMeetTheirWatermark(t *testing.T) {
	const n = 3000
	rng := seeded(t)
	at := n/3 + rng.Int64N(n/3)
	t.Logf("window fails at its record %d", at)
	r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second), testkit.WithConfig(unaligned(t, 10*time.Millisecond, 0)))
	r.Faults().FailAt("window", testkit.AtRecord(at))
	p := operators.NewPipeline("unaligned-late").SetParallelism(1)
	src := operators.Generate(p, n, func(i int64) ucLate { return ucLate{Seq: i, Key: i % 7, Ts: i} }).Name("gen")
	timed := operators.AssignTimestamps(src, operators.WatermarkStrategy[ucLate]{
		Strategy: watermark.ForPunctuated(func(ts int64) (int64, bool) { return 1 << 40, ts == 0 }),
		Timestamp: func(e ucLate, _ int64) int64 {
			if e.Seq == 0 {
				return 0 // the marker: its watermark makes every later record late
			}
			return e.Ts
		},
	})
	records := operators.Filter(timed, func(e ucLate) bool { return e.Seq > 0 })
	tag := operators.NewOutputTag[ucLate]("late")
	fired := operators.ReduceWindow(operators.Window(operators.KeyBy(records, func(e ucLate) int64 { return e.Key }),
		window.Tumbling(100*time.Millisecond), operators.WithLateOutput(tag)),
		func(a, b ucLate) ucLate { return a }).Name("window")
	fires := operators.Collect(fired).Name("fires")
	slow := operators.Map(operators.GetSideOutput(fired, tag), func(e ucLate) ucLate {
		spinSink.Add(spinFor(slowSpin(e.Seq) / 3))
		return e
	}).Name("slow-late")
	late := operators.Collect(slow).Name("late")
	job := r.Start(p)
	res := r.Wait(job)
	if res.State != actors.JobFinished || res.Restarts != 1 {
		t.Fatalf("%v, faults %+v: want finished after one restart", res, r.Faults().Fired())
	}
	if got := fires.Values(); len(got) != 0 {
		t.Fatalf("%d windows fired (first %+v): late records were taken as on time after the restore", len(got), got[0])
	}
	testkit.AssertExactlyOnce(t, map[string][]int64{"gen": testkit.SeqRange(1, n)}, late.Values(),
		func(e ucLate) testkit.RecordID { return testkit.RecordID{Source: "gen", Seq: e.Seq} }, testkit.InOrder[ucLate]())
	checkUnalignedStats(t, job, true)
}
