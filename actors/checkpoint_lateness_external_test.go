package actors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// Exactly once with late data around the failure (issue 10): event-time
// tumbling and sliding windows with allowed lateness and a late side
// output, at parallelism 2 and 4, fail once — at a record, in a snapshot,
// or at a record and then in the restore — at a random point 40–70 %
// through (TROUPE_SEED replays it), placed at a late record. The
// committed output must be exactly what Flink's window operator emits for
// the input (lateModel): every firing of every window, the re-firings
// with late records included, once each and in order per window, and
// every record too late for its windows once on the late side output.
//
// A firing is told apart by its window and the count and sum of the
// records it had: a re-firing is a second result of its window with one
// record more; the same result committed twice is a duplicate.
//
// Watermarks are not in checkpoints (as in Flink): a restored operator's
// watermark is −∞ until a new one comes, so with watermarks made from
// processing time or from what a generator has seen, which records are
// late would depend on where the job restored. Here every record carries
// the watermark the source promises before it: a flat map turns it into a
// marker and the record, in that order, the timestamp assigner emits the
// marker's watermark (punctuated), and a filter drops the marker. A
// checkpoint falls between source records, never between a marker and
// its record, so every record meets the same watermark in every attempt.
// The source runs at parallelism 1, so that each window subtask has one
// input channel, in the order of the input.
func TestCheckpoint_windowLateness_exactlyOnce(t *testing.T) {
	const n = 3000
	tumbling := window.Tumbling(100 * time.Millisecond)
	sliding := window.Sliding(100*time.Millisecond, 50*time.Millisecond)
	assigners := []struct {
		name        string
		assigner    operators.WindowAssigner
		size, slide int64
	}{
		{"tumbling", tumbling, 100, 100},
		{"sliding", sliding, 100, 50},
	}
	at := actors.Midway(t, n)
	for _, a := range assigners {
		model := runLateModel(n, a.size, a.slide, lateLateness)
		checkLateInput(t, a.name, model)
		for _, par := range []int{2, 4} {
			for _, fault := range []string{"record", "snapshot", "restore"} {
				t.Run(fmt.Sprintf("%s/p%d/%s", a.name, par, fault), func(t *testing.T) {
					runLatenessJob(t, lateJob{name: a.name, assigner: a.assigner, par: par, fault: fault, n: n, at: at}, model)
				})
			}
		}
	}
}

// checkLateInput fails unless the input has enough records of every kind
// for the test to mean something.
func checkLateInput(t *testing.T, name string, m *lateModel) {
	t.Helper()
	refires, late := m.count(refired), m.count(tooLate)
	if refires < 50 || late < 50 {
		t.Fatalf("%s: the input has %d records that fire a window again and %d too late: too few", name, refires, late)
	}
	t.Logf("%s: %d firings (%d with a late record), %d records too late", name, len(m.fires), refires, late)
}

// lateJob is one run of the lateness test.
type lateJob struct {
	name     string
	assigner operators.WindowAssigner
	par      int
	fault    string // "record", "snapshot" or "restore"
	n, at    int64
}

// latePipeline builds the job: source, markers, timestamps, windows
// named "window" at parallelism par, and exactly-once collecting sinks
// for the window results and the late records.
func latePipeline(j lateJob) (*operators.Pipeline, *operators.Collected[lateEvent], *operators.Collected[lateEvent]) {
	p := operators.NewPipeline("lateness-" + j.name).SetParallelism(j.par)
	src := operators.Generate(p, j.n, lateInput, operators.RateLimit(6000)).Parallelism(1).Name("gen")
	marked := operators.FlatMap(src, func(e lateEvent, emit func(lateEvent)) {
		emit(lateEvent{Seq: -1, Wm: e.Wm})
		emit(e)
	}).Parallelism(1)
	timed := operators.AssignTimestamps(marked, operators.WatermarkStrategy[lateEvent]{
		Strategy:  watermark.ForPunctuated(markerWatermark),
		Timestamp: func(e lateEvent, _ int64) int64 { return lateTimestamp(e) },
	}).Parallelism(1)
	records := operators.Filter(timed, func(e lateEvent) bool { return e.Seq >= 0 }).Parallelism(1)
	tag := operators.NewOutputTag[lateEvent]("late")
	ws := operators.Window(operators.KeyBy(records, func(e lateEvent) int64 { return e.Key }), j.assigner,
		operators.WithAllowedLateness(lateLateness*time.Millisecond), operators.WithLateOutput(tag))
	fired := operators.ReduceWindow(ws, func(a, b lateEvent) lateEvent {
		return lateEvent{Key: a.Key, Val: a.Val + b.Val, N: a.N + b.N}
	}).Name("window")
	return p, operators.Collect(fired).Name("windows"), operators.Collect(operators.GetSideOutput(fired, tag)).Name("late")
}

// lateTimestamp is a record's timestamp; a marker's carries its
// watermark, negated so that markerWatermark tells it from a record's.
func lateTimestamp(e lateEvent) int64 {
	if e.Seq < 0 {
		return -e.Wm - 1
	}
	return e.Ts
}

// markerWatermark is the punctuated watermark function: a marker's
// watermark, nothing for a record.
func markerWatermark(ts int64) (int64, bool) {
	if ts < 0 {
		return -ts - 1, true
	}
	return 0, false
}

// runLatenessJob places the fault at the first late record at or after
// j.at (in its window subtask's count of records), runs the job and
// checks what it committed against the model.
func runLatenessJob(t *testing.T, j lateJob, m *lateModel) {
	subtask, record, seq := lateFaultPoint(m, j)
	if m.kinds[seq] == inWindow {
		t.Fatalf("no late record after record %d of the input", j.at)
	}
	t.Logf("fault at record %d of the input (it %v): record %d of window subtask %d", seq, m.kinds[seq], record, subtask)
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond), testkit.WithRunTimeout(60*time.Second))
	wantFaults, wantRestarts := 1, 1
	switch j.fault {
	case "record":
		r.Faults().FailAt("window", testkit.AtRecord(record), testkit.InSubtask(subtask))
	case "snapshot":
		r.Faults().FailAtSnapshot("window", testkit.AfterRecords(record), testkit.InSubtask(subtask))
	case "restore":
		r.Faults().FailAt("window", testkit.AtRecord(record), testkit.InSubtask(subtask))
		r.Faults().FailAtRestore("window", testkit.InSubtask(subtask))
		wantFaults, wantRestarts = 2, 2
	}
	p, fires, late := latePipeline(j)
	res := r.Run(p)
	if res.State != actors.JobFinished || res.Restarts != wantRestarts || len(r.Faults().Fired()) != wantFaults {
		t.Fatalf("got %v with faults %+v, want finished after %d restarts", res, r.Faults().Fired(), wantRestarts)
	}
	// The last attempt resumed from a checkpoint, not from the start.
	if last, all := r.Faults().Records(res.Job, "window", subtask, wantRestarts), subtaskRecords(j, subtask); last >= all {
		t.Fatalf("window subtask %d handled %d of its %d records after the restore: it did not resume from a checkpoint", subtask, last, all)
	}
	checkFirings(t, m.fires, fires.BySubtask())
	sent := map[string][]int64{"late": nil}
	for _, e := range m.late {
		sent["late"] = append(sent["late"], e.Seq)
	}
	testkit.AssertExactlyOnce(t, sent, late.Values(), func(e lateEvent) testkit.RecordID {
		return testkit.RecordID{Source: "late", Seq: e.Seq}
	}, testkit.InOrderBy(func(e lateEvent) int64 { return e.Key }))
}

// lateFaultPoint finds the first record at or after j.at that is late
// for a window (it fires one again, or goes to the late output) and
// returns its window subtask and its 1-based position among that
// subtask's records.
func lateFaultPoint(m *lateModel, j lateJob) (subtask int, record, seq int64) {
	seq = j.at
	for seq < j.n-1 && m.kinds[seq] == inWindow {
		seq++
	}
	subtask = windowSubtask(lateInput(seq).Key, j.par)
	record = subtaskRecords(lateJob{n: seq + 1, par: j.par}, subtask)
	return subtask, record, seq
}

// subtaskRecords counts the records of the input that window subtask
// subtask handles.
func subtaskRecords(j lateJob, subtask int) int64 {
	var n int64
	for i := range j.n {
		if windowSubtask(lateInput(i).Key, j.par) == subtask {
			n++
		}
	}
	return n
}

// windowSubtask is the subtask of the window operator that owns key.
func windowSubtask(key int64, par int) int {
	kg := operators.KeyGroup(operators.HashKey(key), operators.DefaultMaxParallelism)
	return operators.SubtaskOf(kg, par, operators.DefaultMaxParallelism)
}

// checkFirings checks the committed window results against the model's:
// each once (a firing's id is its index in want), and in the model's
// order within each window.
func checkFirings(t *testing.T, want []firing, parts [][]operators.Element[lateEvent]) {
	t.Helper()
	index := make(map[firing]int64, len(want))
	for i, f := range want {
		index[f] = int64(i)
	}
	var got []firing
	for _, part := range parts {
		for _, el := range part {
			got = append(got, firing{Key: el.Value.Key, End: el.Timestamp, N: el.Value.N, Sum: el.Value.Val})
		}
	}
	unknown := map[firing]int64{} // results the model does not emit, each with an id of its own
	id := func(f firing) testkit.RecordID {
		i, ok := index[f]
		if !ok {
			if i, ok = unknown[f]; !ok {
				i = -1 - int64(len(unknown))
				unknown[f] = i
				if len(unknown) <= 5 {
					t.Logf("unexpected window result %+v", f)
				}
			}
		}
		return testkit.RecordID{Source: "fire", Seq: i}
	}
	rep := testkit.CheckExactlyOnce(map[string][]int64{"fire": testkit.SeqRange(0, int64(len(want)))}, got, id,
		testkit.InOrderBy(func(f firing) [2]int64 { return [2]int64{f.Key, f.End} }))
	if rep.OK() {
		return
	}
	for _, src := range rep.Sources {
		for _, seq := range src.Lost[:min(len(src.Lost), 5)] {
			t.Logf("lost window result %+v", want[seq])
		}
		for _, d := range src.Duplicated[:min(len(src.Duplicated), 5)] {
			t.Logf("window result %+v committed %d times", want[d.Seq], d.Count)
		}
	}
	t.Fatalf("window results not exactly once: %v", rep)
}
