package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// A transaction survives its encoding: messages, subjects and IDs.
func TestTxn_roundTrip(t *testing.T) {
	tx := newTxn("abc", 3, 0, 0)
	tx.add("out.a", []byte(`{"n":1}`))
	tx.add("out.b", nil)
	tx.add("out.a", []byte("three"))
	tx.close(42)
	got, err := decodeTxn(tx.encoded())
	if err != nil {
		t.Fatal(err)
	}
	// The end of the job is no checkpoint's number (14 is "e" in base 36).
	end, c14 := newTxn("w", 0, 0, 0), newTxn("w", 0, 0, 0)
	end.close(operators.EndOfJob)
	c14.close(14)
	if id, other := end.msgID(40), c14.msgID(40); id != "w.0._.14" || id == other {
		t.Errorf("end-of-job message ID %q; checkpoint 14's %q", id, other)
	}
	if got.count() != 3 || got.Writer != tx.Writer || got.Subtask != 3 || got.Checkpoint != 42 {
		t.Fatalf("decoded %+v", got)
	}
	for i := range 3 {
		s1, d1 := tx.msg(i)
		s2, d2 := got.msg(i)
		if s1 != s2 || string(d1) != string(d2) || tx.msgID(i) != got.msgID(i) {
			t.Errorf("message %d: %s %q %s, want %s %q %s", i, s2, d2, got.msgID(i), s1, d1, tx.msgID(i))
		}
	}
	if id := tx.msgID(2); id != "abc.3.16.2" {
		t.Errorf("message ID %q", id)
	}
}

// Every truncation and a flipped version byte are errors, never panics.
func TestTxn_malformed(t *testing.T) {
	tx := newTxn("w", 0, 0, 0)
	tx.add("s", []byte("payload"))
	tx.close(1)
	b := tx.encoded()
	for n := range len(b) {
		if _, err := decodeTxn(b[:n]); !errors.Is(err, errTxnFormat) {
			t.Errorf("truncated to %d bytes: %v", n, err)
		}
	}
	bad := slices.Clone(b)
	bad[0] = 9
	if _, err := decodeTxn(bad); !errors.Is(err, errTxnFormat) {
		t.Errorf("version 9: %v", err)
	}
	if _, err := decodeTxn(append(slices.Clone(b), 0)); !errors.Is(err, errTxnFormat) {
		t.Errorf("trailing byte: %v", err)
	}
}

func FuzzDecodeTxn(f *testing.F) {
	tx := newTxn("w", 1, 0, 0)
	tx.add("s", []byte("x"))
	tx.add("t", []byte("yz"))
	tx.close(7)
	f.Add(tx.encoded())
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeTxn(b)
		if err != nil {
			return
		}
		for i := range got.count() {
			got.msg(i) // in bounds
		}
	})
}

// The sink checks its stream when it opens: a stream with a duplicate
// window shorter than the minimum is refused for exactly-once output, a
// stream with several subjects needs a subject, a missing stream is
// named.
func TestToJetStream_openChecks(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStreamWith(t, jetstream.StreamConfig{Name: "SHORT", Subjects: []string{"short"}, Duplicates: time.Second})
	s.CreateStream(t, "MANY", "many.a", "many.b")
	cases := []struct {
		name   string
		cfg    SinkConfig[event]
		target error
		text   string
	}{
		{"short window", SinkConfig[event]{Stream: "SHORT"}, ErrConfig, "keeps message IDs for 1s"},
		{"several subjects", SinkConfig[event]{Stream: "MANY"}, ErrConfig, "set SinkConfig.Subject"},
		{"missing", SinkConfig[event]{Stream: "NOPE"}, ErrStream, "stream NOPE not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := operators.NewPipeline("open")
			c.cfg.URL = s.URL()
			if _, err := ToJetStream(operators.FromSlice(p, []event{{"a", 1}}), c.cfg); err != nil {
				t.Fatal(err)
			}
			r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond), testkit.WithRestart(actors.NoRestart()))
			res := r.Run(p)
			if !errors.Is(res.Err, c.target) || !strings.Contains(res.Err.Error(), c.text) {
				t.Fatalf("%v; want %v with %q", res, c.target, c.text)
			}
		})
	}
}

// An at-least-once sink accepts the short window, and SubjectOf routes
// records to the stream's subjects.
func TestToJetStream_subjectOf(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStreamWith(t, jetstream.StreamConfig{Name: "MANY", Subjects: []string{"many.*"}, Duplicates: time.Second})
	p := operators.NewPipeline("subjects")
	_, err := ToJetStream(operators.FromSlice(p, []event{{"a", 1}, {"b", 2}, {"a", 3}}), SinkConfig[event]{
		URL: s.URL(), Stream: "MANY", Delivery: AtLeastOnce, SubjectOf: func(e event) string { return "many." + e.Key }})
	if err != nil {
		t.Fatal(err)
	}
	if res := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond)).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	var got []string
	for _, m := range s.ReadAll(t, "MANY") {
		got = append(got, fmt.Sprintf("%s %s", m.Subject, m.Data))
	}
	want := []string{`many.a {"key":"a","n":1}`, `many.b {"key":"b","n":2}`, `many.a {"key":"a","n":3}`}
	if !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

func TestToJetStream_config(t *testing.T) {
	p := operators.NewPipeline("config")
	in := operators.FromSlice(p, []event{})
	for field, cfg := range map[string]SinkConfig[event]{
		"URL":        {Stream: "OUT"},
		"Stream":     {URL: "nats://x:1"},
		"Delivery":   {URL: "nats://x:1", Stream: "OUT", Delivery: 7},
		"SubjectOf":  {URL: "nats://x:1", Stream: "OUT", Subject: "a", SubjectOf: func(event) string { return "b" }},
		"Subject":    {URL: "nats://x:1", Stream: "OUT", Subject: "a.*"},
		"LateCommit": {URL: "nats://x:1", Stream: "OUT", LateCommit: 3},
	} {
		if _, err := ToJetStream(in, cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want ErrConfig naming it", field, err)
		}
	}
}

// Load stores records with IDs; a repeated load stores nothing twice.
func TestLoad_idempotentWithIDs(t *testing.T) {
	s := jstest.RunServer(t)
	cfg := LoadConfig[event]{URL: s.URL(), Stream: "EVENTS", Subject: "events", Create: true,
		MsgID: func(i int64, _ event) string { return fmt.Sprint("e", i) }}
	all := func(yield func(event) bool) {
		for i := range 100 {
			if !yield(event{"k", i}) {
				return
			}
		}
	}
	ctx := context.Background()
	for round, want := range [][2]int{{100, 0}, {0, 100}} {
		stored, dups, err := Load(ctx, cfg, all)
		if err != nil || stored != want[0] || dups != want[1] {
			t.Fatalf("load %d: stored %d, duplicates %d, %v; want %v", round+1, stored, dups, err, want)
		}
	}
	if got := len(s.ReadAll(t, "EVENTS")); got != 100 {
		t.Fatalf("stream holds %d messages, want 100", got)
	}
}
