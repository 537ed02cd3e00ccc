package clickstream

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// clicksFile writes n generated clicks to a file of the test's.
func clicksFile(t testing.TB, n int) string {
	t.Helper()
	var b bytes.Buffer
	if err := Generate(&b, n, 1_767_225_600_000, 7); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clicks.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// outputs reads what one run committed, output by output.
type outputs struct {
	profiles []Profile
	sessions []Session
	pages    []PageViews
	trending []Trending
	invalid  []Invalid
	late     []Click
	pending  []string // files not committed, in any output
}

func readOutputs(t testing.TB, dir string) outputs {
	t.Helper()
	var o outputs
	var pending [6][]string
	o.profiles, pending[0] = testkit.ReadCommitted[Profile](t, filepath.Join(dir, ProfilesDir))
	o.sessions, pending[1] = testkit.ReadCommitted[Session](t, filepath.Join(dir, SessionsDir))
	o.pages, pending[2] = testkit.ReadCommitted[PageViews](t, filepath.Join(dir, PagesDir))
	o.trending, pending[3] = testkit.ReadCommitted[Trending](t, filepath.Join(dir, TrendingDir))
	o.invalid, pending[4] = testkit.ReadCommitted[Invalid](t, filepath.Join(dir, InvalidDir))
	o.late, pending[5] = testkit.ReadCommitted[Click](t, filepath.Join(dir, LateDir))
	o.pending = slices.Concat(pending[:]...)
	return o
}

// run runs the pipeline over input into a new output directory with the
// runner, which injects the faults its test set, and returns what was
// committed.
func run(t *testing.T, r *testkit.Runner, input string) outputs {
	t.Helper()
	out := t.TempDir()
	for _, d := range []string{ProfilesDir, SessionsDir, PagesDir, TrendingDir, InvalidDir, LateDir} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := New(Config{Input: input, Output: out, Trending: 8, Rate: 20_000}).SetParallelism(2)
	if res := r.Run(p); res.State != actors.JobFinished {
		t.Fatalf("%v", res)
	}
	return readOutputs(t, out)
}

// The pipeline is exactly-once under failures: with faults injected in
// every stateful operator — at records, at a snapshot, in several
// attempts — each output committed holds what a run without failures
// committed, as a multiset (profiles, sessions and page views carry no
// id of the clicks they come from, so they are compared whole).
func TestNew_exactlyOnceUnderFailures(t *testing.T) {
	const n = 4000
	input := clicksFile(t, n)
	clean := run(t, testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond)), input)

	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond),
		testkit.WithRestart(actors.FixedDelay(10, time.Millisecond)))
	r.Faults().FailAt("profiles", testkit.AtRecord(700))
	r.Faults().FailAt("page-views", testkit.AtRecord(900), testkit.InAttempt(1))
	r.Faults().FailAtSnapshot("sessions", testkit.AtRecord(2), testkit.InAttempt(2))
	r.Faults().FailAt("validate", testkit.AtRecord(50), testkit.InAttempt(3))
	faulty := run(t, r, input)
	if fired := r.Faults().Fired(); len(fired) != 4 {
		t.Fatalf("fired %d faults, want 4: %v", len(fired), fired)
	}

	testkit.AssertSameAsCleanRun(t, clean.profiles, faulty.profiles)
	testkit.AssertSameAsCleanRun(t, clean.sessions, faulty.sessions)
	testkit.AssertSameAsCleanRun(t, clean.pages, faulty.pages)
	testkit.AssertSameAsCleanRun(t, clean.trending, faulty.trending)
	testkit.AssertSameAsCleanRun(t, clean.invalid, faulty.invalid)
	testkit.AssertSameAsCleanRun(t, clean.late, faulty.late)
	if len(faulty.pending) != 0 {
		t.Fatalf("uncommitted files left: %v", faulty.pending)
	}
	checkClean(t, clean, n)
}

// checkClean checks that the clean run computed what the input holds, so
// that the comparison above compares something.
func checkClean(t *testing.T, o outputs, n int) {
	t.Helper()
	if len(o.invalid) != 2*n/100 {
		t.Errorf("%d invalid clicks, want %d", len(o.invalid), 2*n/100)
	}
	if len(o.late) != 0 {
		t.Errorf("%d late clicks of an input in time order", len(o.late))
	}
	finals, clicks := 0, 0
	for _, p := range o.profiles {
		if p.Final {
			finals++
			clicks += p.Clicks
		}
	}
	if clicks != n-len(o.invalid) || finals != 25 {
		t.Errorf("final profiles of %d users count %d clicks, want 25 users and %d", finals, clicks, n-len(o.invalid))
	}
	sessionClicks, views := 0, 0
	for _, s := range o.sessions {
		sessionClicks += s.Clicks
	}
	for _, p := range o.pages {
		views += p.Views
	}
	if sessionClicks != clicks || views != clicks || len(o.sessions) <= 25 || len(o.trending) == 0 {
		t.Errorf("sessions hold %d clicks in %d sessions, pages %d views, %d trending; want %d clicks, several sessions per user, some trending",
			sessionClicks, len(o.sessions), views, len(o.trending), clicks)
	}
}

// The page counter is an operator keyed after a timestamp assigner: the
// event-time harness runs the assigner too, so the test feeds clicks only.
func TestPageCounter_eventTimeHarness(t *testing.T) {
	strategy := operators.WatermarkStrategy[Click]{
		Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts - 1, true }),
		Timestamp: func(c Click, _ int64) int64 { return c.At },
	}
	h := testkit.NewEventTimeHarness(t, strategy, func(c Click) string { return c.Page },
		func(ks operators.KeyedStream[Click, string]) operators.Stream[PageViews] {
			ws := operators.Window(ks, window.Tumbling(time.Second), operators.WithAllowedLateness(time.Second))
			return operators.ProcessWindowRich(ws, func() *pageCounter { return &pageCounter{trending: 2} })
		}, testkit.WithSideOutput[PageViews](TrendingTag))
	h.ProcessElements(
		Click{User: "ann", Page: "/a", At: 100},
		Click{User: "bob", Page: "/a", At: 200},
		Click{User: "ann", Page: "/a", At: 1500}, // the watermark passes 999: [0, 1000) fires
		Click{User: "cid", Page: "/a", At: 900},  // late, within the lateness: it fires again
	)
	want := []PageViews{
		{Page: "/a", Start: 0, End: 1000, Views: 2, Users: 2, AllTime: 2, Revision: 1},
		{Page: "/a", Start: 0, End: 1000, Views: 3, Users: 3, AllTime: 3, Revision: 2},
	}
	if got := h.Values(); !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got := testkit.SideValues(h, TrendingTag); len(got) != 2 || got[1].Views != 3 {
		t.Fatalf("trending %+v, want both firings", got)
	}
}

// Spec builds the pipeline from its parameters and reports a bad output
// directory as a bad parameter.
func TestSpec(t *testing.T) {
	reg := actors.NewRegistry()
	reg.MustRegister(Spec())
	if _, err := reg.Build(Name, map[string]string{"input": "testdata/sample.jsonl", "output": t.TempDir()}, 2); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := reg.Build(Name, map[string]string{"input": "testdata/sample.jsonl", "output": file}, 0)
	if !errors.Is(err, actors.ErrBadParam) {
		t.Fatalf("output is a file: %v, want ErrBadParam", err)
	}
}
