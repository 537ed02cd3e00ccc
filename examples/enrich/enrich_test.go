package enrich

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
	"github.com/troupe-dev/troupe/testkit"
)

// records is the number of input records of the end-to-end tests.
const records = 2000

// enrichPipeline is New with a collecting sink, so the test sees exactly
// what was committed.
func enrichPipeline(t testing.TB, input string, cfg Config, opts ...operators.SourceOption) (*operators.Pipeline, *operators.Collected[Record]) {
	t.Helper()
	p := operators.NewPipeline("enrich-test")
	in := operators.ReadJSONLines[Record](p, input, opts...).Name(SourceName)
	out, err := Enrich(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, operators.Collect(out)
}

// fastRetry retries up to 3 attempts in all, 1 ms apart.
func fastRetry(t testing.TB) async.RetryStrategy {
	t.Helper()
	r, err := ParseRetry(3, "fixed:1ms")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func recordID(r Record) testkit.RecordID { return testkit.RecordID{Source: SourceName, Seq: r.ID} }

func sentIDs(n int) map[string][]int64 {
	return map[string][]int64{SourceName: testkit.SeqRange(0, int64(n))}
}

// Every record arrives once, merged with its reply, after as many tries as
// the service failed it plus one; ordered mode keeps input order, keyed
// mode the order of each id (trivially: ids are unique).
func TestEnrich_modes_exactlyOnceWithTransient503s(t *testing.T) {
	for _, tc := range []struct {
		mode  async.Mode
		order []testkit.CheckOption[Record]
	}{
		{async.Ordered, []testkit.CheckOption[Record]{testkit.InOrder[Record]()}},
		{async.Unordered, nil},
		{async.KeyOrdered, []testkit.CheckOption[Record]{testkit.InOrderBy(func(r Record) int64 { return r.ID })}},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			svc := newFakeService(t, records, 1, 0, 3*time.Millisecond, withFlaky(2))
			p, out := enrichPipeline(t, writeInput(t, records), Config{URL: svc.URL(), Mode: tc.mode, Retry: fastRetry(t)})
			r := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart()))
			if res := r.Run(p); res.State != actors.JobFinished {
				t.Fatalf("%v", res)
			}
			testkit.AssertExactlyOnce(t, sentIDs(records), out.Values(), recordID, tc.order...)
			for _, rec := range out.Values() {
				checkEnriched(t, rec)
				if got, want := svc.Tries(rec.ID), int(svc.flaky[rec.ID])+1; got != want {
					t.Fatalf("id %d: %d tries, want %d", rec.ID, got, want)
				}
			}
		})
	}
}

// With on-error=emit, records that fail for good carry an "error" member:
// 500s after every attempt, a 404 after one, a hung request at its
// timeout; the others are enriched, and every record arrives once.
func TestEnrich_emitErrors(t *testing.T) {
	const n = 500
	failing := map[int64]string{7: "500 Internal Server Error", 42: "500 Internal Server Error",
		99: "404 Not Found", 123: "timed out after"}
	svc := newFakeService(t, n, 3, 0, 2*time.Millisecond, withFlaky(4),
		withStatus(7, 500), withStatus(42, 500), withStatus(99, 404), withHang(123))
	cfg := Config{URL: svc.URL(), Mode: async.Unordered, Retry: fastRetry(t), OnError: EmitErrors, Timeout: time.Second}
	p, out := enrichPipeline(t, writeInput(t, n), cfg)
	if res := testkit.NewRunner(t).Run(p); res.State != actors.JobFinished {
		t.Fatalf("%v", res)
	}
	testkit.AssertExactlyOnce(t, sentIDs(n), out.Values(), recordID)
	for _, rec := range out.Values() {
		want, bad := failing[rec.ID]
		if !bad {
			checkEnriched(t, rec)
			continue
		}
		var msg, tag string
		if !rec.Field(ErrorField, &msg) || !strings.Contains(msg, want) || !rec.Field("tag", &tag) || tag != "in" {
			t.Errorf("id %d: error %q, tag %q: want an error with %q and the input's fields", rec.ID, msg, tag, want)
		}
	}
	for id, tries := range map[int64]int{7: 3, 42: 3, 99: 1, 123: 1} {
		if got := svc.Tries(id); got != tries {
			t.Errorf("id %d: %d tries, want %d (5xx retried, 4xx and timeouts not)", id, got, tries)
		}
	}
}

// A 429 Too Many Requests is the service asking the client to slow down,
// not refusing the request: it is retried as a 5xx is. A record throttled
// on two tries is enriched at its third; one throttled on every try fails
// for good after its last attempt (emitted with the 429 here).
func TestEnrich_tooManyRequestsIsRetried(t *testing.T) {
	const n = 100
	svc := newFakeService(t, n, 8, 0, time.Millisecond, withTooManyRequests(10, 2), withTooManyRequests(20, 99))
	cfg := Config{URL: svc.URL(), Retry: fastRetry(t), OnError: EmitErrors, Timeout: 10 * time.Second}
	p, out := enrichPipeline(t, writeInput(t, n), cfg)
	if res := testkit.NewRunner(t).Run(p); res.State != actors.JobFinished {
		t.Fatalf("%v", res)
	}
	testkit.AssertExactlyOnce(t, sentIDs(n), out.Values(), recordID, testkit.InOrder[Record]())
	for _, rec := range out.Values() {
		if rec.ID != 20 {
			checkEnriched(t, rec)
			continue
		}
		var msg string
		if !rec.Field(ErrorField, &msg) || !strings.Contains(msg, "429 Too Many Requests") {
			t.Errorf("id 20: error %q, want the 429 after its last attempt", msg)
		}
	}
	for id, tries := range map[int64]int{10: 3, 20: 3, 30: 1} {
		if got := svc.Tries(id); got != tries {
			t.Errorf("id %d: %d tries, want %d (a 429 is retried)", id, got, tries)
		}
	}
}

// With on-error=fail, a record that fails for good or times out fails the
// job with an error naming its id.
func TestEnrich_failNamesID(t *testing.T) {
	const n = 300
	for _, tc := range []struct {
		name string
		opt  serviceOption
		want error
		text string
	}{
		{"5xx", withStatus(234, 502), ErrUnavailable, "id 234"},
		{"4xx", withStatus(17, 403), ErrRejected, "id 17"},
		{"timeout", withHang(101), operators.ErrAsyncTimeout, "id 101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := newFakeService(t, n, 5, 0, time.Millisecond, tc.opt)
			cfg := Config{URL: svc.URL(), Retry: fastRetry(t), Timeout: time.Second}
			p, _ := enrichPipeline(t, writeInput(t, n), cfg)
			res := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart())).Run(p)
			if res.State != actors.JobFailed || !errors.Is(res.Err, tc.want) || !strings.Contains(res.Err.Error(), tc.text) {
				t.Fatalf("got %v, want a failure wrapping %v naming %q", res, tc.want, tc.text)
			}
		})
	}
}

// A line that is not an object with an integer id fails the job, naming
// the file and the line, as ReadJSONLines does for any undecodable line.
func TestEnrich_malformedInputFailsNamingLine(t *testing.T) {
	svc := newFakeService(t, 10, 6, 0, 0)
	input := writeLines(t, `{"id": 1}`, `{"id": 2}`, `{"id": "3"}`, `{"id": 4}`)
	p, _ := enrichPipeline(t, input, Config{URL: svc.URL()})
	res := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart())).Run(p)
	if res.State != actors.JobFailed || !errors.Is(res.Err, operators.ErrDecode) ||
		!strings.Contains(res.Err.Error(), input+" line 3") || !strings.Contains(res.Err.Error(), "not an integer") {
		t.Fatalf("got %v, want a decode error naming %s line 3", res, input)
	}
}
