package jetstream

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// replayMessagesEnv sets how many messages the replay test stores. By
// default it is the 1 M (about 4 s here), but 50 000 under the
// race detector, where 1 M takes about 40 s (TROUPE_JETSTREAM_REPLAY=
// 1000000 asks for it anyway).
const replayMessagesEnv = "TROUPE_JETSTREAM_REPLAY"

func replayMessages(t testing.TB) int {
	t.Helper()
	v := os.Getenv(replayMessagesEnv)
	switch {
	case v == "" && raceEnabled:
		return 50_000
	case v == "":
		return 1_000_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 {
		t.Fatalf("%s=%q: want a count of at least 10", replayMessagesEnv, v)
	}
	return n
}

// pollHarness drives a reader directly, as a source subtask would, from
// the test's goroutine.
type pollHarness struct {
	t    testing.TB
	r    *reader[event]
	wake chan struct{}
	err  error
}

func openTestReader(t testing.TB, cfg SourceConfig[event], subtask, parallelism int) *pollHarness {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	h := &pollHarness{t: t, wake: make(chan struct{}, 1)}
	info := operators.TaskInfo{Job: "replay", Operator: "in", Subtask: subtask, Parallelism: parallelism}
	tc := operators.NewTaskContext(info, nil, func() {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}, &h.err)
	r, err := openReader(tc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	h.r = r
	return h
}

// poll emits up to n records, waiting (with a deadline) while the reader
// has none ready; it stops early when the reader is done.
func (h *pollHarness) poll(n int) []event {
	h.t.Helper()
	var out []event
	collect := operators.CollectorFunc[event](func(e event, _ int64) { out = append(out, e) })
	deadline := time.After(testkit.Dilated(30 * time.Second))
	for len(out) < n {
		p, err := h.r.Poll(collect, min(n-len(out), 1024))
		if err != nil {
			h.t.Fatalf("poll after %d records: %v", len(out), err)
		}
		switch {
		case p.Status == operators.PollDone:
			return out
		case p.Status == operators.PollWait && len(out) < n:
			select {
			case <-h.wake:
			case <-deadline:
				h.t.Fatalf("poll: %d of %d records, then nothing", len(out), n)
			}
		}
	}
	return out
}

// seqs returns the records' numbers, which are their stream sequences in
// tests that store one subject.
func seqs(es []event) []int {
	out := make([]int, len(es))
	for i, e := range es {
		out[i] = e.N
	}
	return out
}

// A reader stopped at a checkpoint with its fetcher far ahead resumes,
// from the checkpoint, at the message after the last one it emitted: no
// message is skipped or repeated at the boundary.
func TestReader_replayFromCheckpoint(t *testing.T) {
	n := replayMessages(t)
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	start := time.Now()
	publishEvents(t, s, "in.a", "a", n)
	t.Logf("stored %d messages in %v", n, time.Since(start).Round(time.Millisecond))
	cfg := SourceConfig[event]{URL: s.URL(), Stream: "IN"}

	start = time.Now()
	k := n/2 + 17 // not at a chunk's edge
	h1 := openTestReader(t, cfg, 0, 1)
	first := h1.poll(k)
	// Let the fetcher fill the queue: the position must not follow it.
	testkit.Eventually(t, 10*time.Second, func() bool { return len(h1.r.q) == cap(h1.r.q) }, "a full queue")
	snap, err := h1.r.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.r.Close(); err != nil {
		t.Fatal(err)
	}

	h2 := openTestReader(t, cfg, 0, 1)
	if err := h2.r.RestoreState([]*operators.OperatorState{snap}); err != nil {
		t.Fatal(err)
	}
	rest := h2.poll(n - k)
	t.Logf("read %d messages around a checkpoint in %v", n, time.Since(start).Round(time.Millisecond))
	if len(first) != k || first[0].N != 1 || first[k-1].N != k {
		t.Fatalf("before the checkpoint: %d records, %v … %v", len(first), first[0], first[len(first)-1])
	}
	if len(rest) == 0 || rest[0].N != k+1 {
		t.Fatalf("after the restore the first record is %v, want sequence %d", rest[:min(1, len(rest))], k+1)
	}
	if got := append(seqs(first), seqs(rest)...); !slices.Equal(got, seqRange(1, n)) {
		t.Fatalf("the two runs read %d records, not 1..%d once each in order", len(got), n)
	}
	// Nothing more: an unbounded reader at the end waits.
	p, err := h2.r.Poll(operators.CollectorFunc[event](func(e event, _ int64) { t.Errorf("extra record %v", e) }), 10)
	if err != nil || p.Status != operators.PollWait {
		t.Fatalf("at the end: %+v, %v; want PollWait", p, err)
	}
}

// describeSeqs says how sorted record numbers differ from 1..n once
// each: the missing ranges and the repeated numbers, so that a failure
// shows whether a split lost its tail, a range at a restore, or replayed.
func describeSeqs(sorted []int, n int) string {
	count := make(map[int]int, len(sorted))
	for _, v := range sorted {
		count[v]++
	}
	var missing, repeated, unexpected []string
	for lo := 1; lo <= n; lo++ {
		if count[lo] > 0 {
			continue
		}
		hi := lo
		for hi < n && count[hi+1] == 0 {
			hi++
		}
		missing = append(missing, fmt.Sprintf("%d..%d", lo, hi))
		lo = hi
	}
	for _, v := range slices.Compact(slices.Clone(sorted)) {
		switch {
		case v < 1 || v > n:
			unexpected = append(unexpected, fmt.Sprint(v))
		case count[v] > 1:
			repeated = append(repeated, fmt.Sprintf("%d×%d", v, count[v]))
		}
	}
	return fmt.Sprintf("missing %v, repeated %v, unexpected %v", missing, examplesOf(repeated), examplesOf(unexpected))
}

// describeCommitted summarises what one job committed of a subject.
func describeCommitted(seqs []int) string {
	if len(seqs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d records, %d..%d", len(seqs), slices.Min(seqs), slices.Max(seqs))
}

// examplesOf keeps a failure message short.
func examplesOf(s []string) []string {
	if len(s) > 10 {
		return append(s[:10:10], fmt.Sprintf("and %d more", len(s)-10))
	}
	return s
}

func seqRange(from, to int) []int {
	out := make([]int, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// The same through the engine: a bounded job stopped with a savepoint
// mid-stream and restored from it commits every message once, the second
// job starting where the savepoint stood and ending at the end the first
// job fixed (messages stored after it are not read).
func TestFromJetStream_savepointMidStream(t *testing.T) {
	const n = 20_000
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", n)
	r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond), testkit.WithBatchSize(64))
	var into *operators.Collected[event]
	build := func() *operators.Pipeline {
		p := operators.NewPipeline("savepoint")
		src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "IN", Bounded: true}, operators.RateLimit(20_000))
		if err != nil {
			t.Fatal(err)
		}
		if into == nil {
			into = operators.Collect(src.Name("in"))
		} else {
			operators.CollectTo(src.Name("in"), into)
		}
		return p
	}
	j1 := r.Start(build())
	testkit.Eventually(t, 10*time.Second, func() bool { return len(into.Values()) >= n/4 }, "a quarter committed")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path, err := j1.StopWithSavepoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := len(into.Values())
	if before >= n {
		t.Fatalf("the first job committed all %d records before its savepoint", n)
	}
	publishEvents(t, s, "in.a", "late", 100) // after the end the first job fixed
	if res := r.Wait(r.Start(build(), actors.RestoreFrom(path))); res.Err != nil {
		t.Fatal(res)
	}
	got := into.Values()
	if !slices.Equal(seqs(got), seqRange(1, n)) {
		t.Fatalf("%d records committed (%d before the savepoint), not 1..%d once each", len(got), before, n)
	}
}

// A job reading three subjects at parallelism 2, stopped with a savepoint
// mid-stream and restored at parallelism 3 (and 1): the splits move whole
// to the new subtasks, each resuming at its own sequence, and every
// message is committed once, in order per subject.
func TestFromJetStream_savepointRescale(t *testing.T) {
	const n = 2000
	for _, par := range []int{3, 1} {
		t.Run(fmt.Sprint("2to", par), func(t *testing.T) {
			s := jstest.RunServer(t)
			s.CreateStream(t, "IN", "in.>")
			keys := []string{"a", "b", "c"}
			for _, k := range keys {
				publishEvents(t, s, "in."+k, k, n)
			}
			r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond), testkit.WithBatchSize(64))
			var into *operators.Collected[event]
			build := func(par int) *operators.Pipeline {
				p := operators.NewPipeline("rescale").SetParallelism(par)
				src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "IN", Bounded: true,
					Subjects: []string{"in.a", "in.b", "in.c"}}, operators.RateLimit(3000))
				if err != nil {
					t.Fatal(err)
				}
				if into == nil {
					into = operators.Collect(src.Name("in"))
				} else {
					operators.CollectTo(src.Name("in"), into)
				}
				return p
			}
			j1 := r.Start(build(2))
			testkit.Eventually(t, 10*time.Second, func() bool { return len(into.Values()) >= n/2 }, "some committed")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			path, err := j1.StopWithSavepoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first := into.Values()
			if len(first) >= 3*n {
				t.Fatalf("the first job committed all %d records before its savepoint", len(first))
			}
			if res := r.Wait(r.Start(build(par), actors.RestoreFrom(path))); res.Err != nil {
				t.Fatal(res)
			}
			byKey, beforeByKey := map[string][]int{}, map[string][]int{}
			for i, e := range into.Values() {
				byKey[e.Key] = append(byKey[e.Key], e.N)
				if i < len(first) {
					beforeByKey[e.Key] = append(beforeByKey[e.Key], e.N)
				}
			}
			for _, k := range keys {
				got := byKey[k]
				slices.Sort(got) // two jobs' subtasks: order holds per subtask, not across the restore's lists
				if !slices.Equal(got, seqRange(1, n)) {
					t.Errorf("subject in.%s: %d records committed, not 1..%d once each: %s; before the savepoint %s",
						k, len(got), n, describeSeqs(got, n), describeCommitted(beforeByKey[k]))
				}
			}
		})
	}
}
