package operators

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// Review finding 4 (review10), at the level of one sink: a restored sink
// removes only the hidden part files that it wrote itself, never those
// of another writer into the same directory — another job (another run
// with a sink of the same name and subtask index), or another sink of
// the same run. The other writer's pending and in-progress files stay,
// and its commits then find them: nothing of its output is lost.
func TestWriteFiles_checkpointed_restoreLeavesOtherWritersFiles(t *testing.T) {
	for _, tc := range []struct {
		name        string
		runA, sinkA string // the writer whose files must stay
		runB, sinkB string // the writer that restores
	}{
		{name: "another job", runA: "run-a", sinkA: "sink", runB: "run-b", sinkB: "sink"},
		{name: "another sink of the run", runA: "run-1", sinkA: "sink-a", runB: "run-1", sinkB: "sink-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, err := openStatefulRun(t, txnPipelineTo(t, 10, 1, dir, tc.sinkA), 0, nil, tc.runA)
			if err != nil {
				t.Fatal(err)
			}
			a.emit(3)
			a.snapshot(1) // pending until its completion
			a.emit(2)     // in progress

			vb := txnPipelineTo(t, 10, 1, dir, tc.sinkB)
			b, err := openStatefulRun(t, vb, 0, nil, tc.runB)
			if err != nil {
				t.Fatal(err)
			}
			b.emit(3)
			snap := b.snapshot(1)
			b.emit(2)
			b.snapshot(2)
			b.emit(1)
			_, before := committed(t, dir)
			if _, err := openStatefulRun(t, vb, 0, restoreParts(t, []encodedState{snap}, 0, 1, tc.sinkB), tc.runB); err != nil {
				t.Fatal(err)
			}
			_, hidden := committed(t, dir)
			if len(before) != 5 || len(hidden) != 2 {
				t.Fatalf("hidden before B's restore %q, after %q; want 5 before (2 of A, 3 of B) and A's 2 after", before, hidden)
			}
			a.notify(1)
			a.snapshot(2)
			a.notify(2)
			vals, hidden := committed(t, dir)
			slices.Sort(vals)
			if want := []int{0, 0, 1, 1, 2, 2, 3, 4}; !slices.Equal(vals, want) || len(hidden) != 0 {
				t.Fatalf("visible %v, hidden %q; want %v (A's 0..4, B's 0..2) and nothing hidden", vals, hidden, want)
			}
		})
	}
}

// A new run started from a savepoint of an earlier run commits the
// pending files the savepoint lists, and leaves the earlier run's other
// hidden files: that run may still be running (a new version started
// beside the old one) and commit them itself. When the earlier run
// resumes (same run id, as `node run --state-dir` does after a crash),
// its restore removes them.
func TestWriteFiles_checkpointed_restoreFromAnEarlierRun(t *testing.T) {
	dir := t.TempDir()
	v := txnPipeline(t, 10, 1, dir)
	old, err := openStatefulRun(t, v, 0, nil, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	old.emit(3)
	savepoint := old.snapshot(1)
	old.emit(2)
	old.snapshot(2) // not in the savepoint
	old.emit(1)     // in progress
	_, leftBehind := committed(t, dir)
	leftBehind = slices.DeleteFunc(leftBehind, func(n string) bool { return strings.Contains(n, "-0000.") })

	if _, err := openStatefulRun(t, v, 0, restoreParts(t, []encodedState{savepoint}, 0, 1, "sink"), "run-2"); err != nil {
		t.Fatal(err)
	}
	vals, hidden := committed(t, dir)
	if !slices.Equal(vals, []int{0, 1, 2}) || !slices.Equal(hidden, leftBehind) || len(hidden) != 2 {
		t.Fatalf("after the new run's restore: visible %v, hidden %q; want [0 1 2] and run-1's other files %q",
			vals, hidden, leftBehind)
	}

	if _, err := openStatefulRun(t, v, 0, restoreParts(t, []encodedState{savepoint}, 0, 1, "sink"), "run-1"); err != nil {
		t.Fatal(err)
	}
	if vals, hidden := committed(t, dir); !slices.Equal(vals, []int{0, 1, 2}) || len(hidden) != 0 {
		t.Fatalf("after run-1 resumed: visible %v, hidden %q; want [0 1 2] and nothing hidden", vals, hidden)
	}
}

// The names a sink gives its files parse back to what made them, for
// any run id (which may hold '.' and '-'), with and without checkpoints;
// the sink id differs between runs and between sinks of one run.
func TestPartNamer_roundTrip(t *testing.T) {
	ids := map[string]bool{}
	for _, run := range []string{"", "0123456789abcdef", "my-run.2_x"} {
		for _, op := range []string{"sink", "sink-b", "a.b/c d"} {
			tc := &TaskContext{TaskInfo: TaskInfo{Run: run, Operator: op, Subtask: 7, Attempt: 3}, Now: newManualClock().Now}
			n := newPartNamer(tc)
			if ids[n.sink] {
				t.Errorf("run %q, sink %q: sink id %q taken by another", run, op, n.sink)
			}
			ids[n.sink] = true
			for _, seq := range []int{-1, 0, 12345} {
				base := n.base(seq)
				for name, parse := range map[string]func(string) (partName, bool){
					base + ".jsonl": parsePartName, "." + base + ".pending": parseHiddenPart, "." + base + ".inprogress": parseHiddenPart,
				} {
					p, ok := parse(name)
					if !ok || p.subtask != 7 || p.attempt != 3 || p.seq != int64(seq) || p.sink != n.sink || p.name != name {
						t.Errorf("%q parsed to %+v, %v; want subtask 7, attempt 3, seq %d, sink %q", name, p, ok, seq, n.sink)
					}
				}
			}
		}
	}
}

// eagerHost runs an async operator's calls and sequencer inline, as soon
// as the operator starts them: every release is waiting by the time the
// operator next looks. It is what a runtime's invokers do when the
// subtask's goroutine is descheduled between starting calls and taking
// their releases (a loaded machine, a fast service): the results are
// there already.
type eagerHost struct {
	seq      AsyncSequencer
	releases []any
}

func (h *eagerHost) NewAsyncInvoker(cfg AsyncInvokerConfig) (AsyncInvoker, error) {
	h.seq = cfg.Sequencer
	return h, nil
}

func (h *eagerHost) Invoke(call AsyncCall) { h.Sequence(call.Run(context.Background())) }

func (h *eagerHost) Sequence(msg any) {
	if rel := h.seq.Receive(msg); rel != nil {
		h.releases = append(h.releases, rel)
	}
}

func (h *eagerHost) Releases(bool) []any {
	r := h.releases
	h.releases = nil
	return r
}

func (h *eagerHost) Close() {}

// asyncFilesVertex is a source of 0..count-1, an async I/O operator
// ("async", ordered, returning each record as it is) and a
// checkpointed file sink ("sink") into dir, chained in one vertex, as
// the enrich example runs at parallelism 1.
func asyncFilesVertex(t testing.TB, count int, dir string) *Vertex {
	t.Helper()
	p := NewPipeline("t")
	vals := make([]int, count)
	for i := range vals {
		vals[i] = i
	}
	same := func(_ context.Context, v int) ([]int, error) { return []int{v}, nil }
	WriteFiles(AsyncMap(FromSlice(p, vals).Name("src"), same, AsyncConfig[int, int]{Capacity: count}).Name("async"), dir).Name("sink")
	return onlyVertex(t, p)
}

// The defect behind TestMain_run_enrichRestartsFromCheckpoint's lost
// records (2850 of 3000 committed): a restored async I/O operator
// invokes its pending records again as it restores, and when their
// results are released before its restore returns it emits them at once
// — into a file sink chained after it that was not restored yet. The
// sink took the first record for a fresh start and removed the run's
// hidden files, among them the pending file of the checkpoint being
// restored (its records lost: the sources resume after them); then its
// restore removed, as a leftover, the in-progress file it had just
// opened, and the next barrier's pre-commit failed ("rename …
// .inprogress: no such file or directory"). Restored tail first, as
// Flink's chain initializes state, the sink commits the checkpoint's
// pending file before anything reaches it.
func TestWriteFiles_checkpointed_restoreBehindAnAsyncOperatorThatEmits(t *testing.T) {
	dir := t.TempDir()
	v := asyncFilesVertex(t, 8, dir)
	held := &heldHost{}
	first, err := openStatefulConfig(t, v, ChainConfig{Run: "run-1", Host: held})
	if err != nil {
		t.Fatal(err)
	}
	first.emit(5)
	for i := range 3 { // 0..2 reach the sink; 3 and 4 stay in flight
		held.complete(t, i)
	}
	first.chain.HandleMessage(AsyncReady{Invoker: held})
	first.chain.BatchEnd()
	chk1 := first.snapshot(1) // the sink's pending file holds 0..2 (doubled: heldHost's reply), the async operator 3 and 4
	// The attempt fails before checkpoint 1's completion is notified.

	var logs bytes.Buffer
	second, err := openStatefulConfig(t, v, ChainConfig{Run: "run-1", Host: &eagerHost{},
		Restore: restoreParts(t, []encodedState{chk1}, 0, 1, "src", "async", "sink"),
		Logger:  slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if vals, _ := committed(t, dir); !slices.Equal(vals, []int{0, 2, 4}) {
		t.Errorf("after the restore of checkpoint 1: visible %v; want its pending file committed: [0 2 4]\nlog:\n%s", vals, logs.String())
	}
	// The results of 3 and 4 wait until the runtime resumes the chain,
	// once the job has started (asyncOp.RestoreState).
	if !second.chain.Pending() || !second.chain.Resume() {
		t.Fatal("the restored async operator's results are not held for the runtime to resume, or not let out")
	}
	second.emit(3) // 5..7
	if _, err := second.chain.Snapshot(2); err != nil {
		t.Fatalf("snapshot 2 after the restore: %v", err)
	}
	second.notify(2)
	vals, hidden := committed(t, dir)
	if want := []int{0, 2, 4, 3, 4, 5, 6, 7}; !slices.Equal(vals, want) || len(hidden) != 0 {
		t.Fatalf("visible %v, hidden %q; want %v once each, nothing hidden", vals, hidden, want)
	}
}

// A file sink restored after it got records refuses the restore: the
// records made it take a fresh start, which removed the run's hidden
// files, so the pending files the restore would commit may be gone. A
// chain restores tail first so that this cannot happen; if it did, the
// job fails naming the cause rather than losing records silently.
func TestWriteFiles_checkpointed_restoreAfterRecordsFails(t *testing.T) {
	dir := t.TempDir()
	var failure error
	tc := NewTaskContext(TaskInfo{Run: "run-1", Operator: "sink", Parallelism: 1}, nil, nil, &failure)
	tc.Checkpointing = true
	w, err := newTxnPartWriter[int](tc, dir, newPartNamer(tc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if err := w.Write(1, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.RestoreState(nil); !errors.Is(err, ErrRestore) || !strings.Contains(err.Error(), "before its state was restored") {
		t.Fatalf("RestoreState after a record: %v; want ErrRestore naming the cause", err)
	}
}
