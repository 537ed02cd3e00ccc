package jetstream

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// A split whose consumer cannot be created for a while (the server has
// no responders for JetStream: a restart, an election) tries again and
// reads every message once.
func TestFetcher_replacesAConsumerThatCannotBeCreated(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 10)
	var attempts atomic.Int32
	hooks := &sourceHooks{createConsumer: func(string) error {
		if attempts.Add(1) <= 3 {
			return nats.ErrNoResponders
		}
		return nil
	}}
	h := openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN", Bounded: true, hooks: hooks}, 0, 1)
	got, ended, err := reviewPoll(h, 30*time.Second)
	if err != nil || !ended {
		t.Fatalf("reader: ended %v, %v; want the end after the consumer could be created", ended, err)
	}
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(seqs(got), want) {
		t.Errorf("read %v, want %v", seqs(got), want)
	}
	if n := attempts.Load(); n != 4 {
		t.Errorf("%d attempts at the consumer, want 4 (three refused)", n)
	}
}

// A split whose consumer cannot be created for longer than RetryTimeout
// fails the subtask, naming the stream and the server's answer.
func TestFetcher_failsAfterRetryTimeout(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 10)
	var attempts atomic.Int32
	hooks := &sourceHooks{createConsumer: func(string) error {
		attempts.Add(1)
		return nats.ErrNoResponders
	}}
	h := openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN", Subjects: []string{"in.a"},
		RetryTimeout: time.Second, hooks: hooks}, 0, 1)
	_, ended, err := reviewPoll(h, 30*time.Second)
	if !ended || !errors.Is(err, ErrStream) || !strings.Contains(err.Error(), "stream IN subject in.a") ||
		!strings.Contains(err.Error(), nats.ErrNoResponders.Error()) {
		t.Fatalf("reader: ended %v, %v; want an error wrapping ErrStream naming stream IN, subject in.a and the cause", ended, err)
	}
	if n := attempts.Load(); n < 2 {
		t.Errorf("%d attempts at the consumer within RetryTimeout, want several", n)
	}
}

// A connection closed for good (nats.go gave up reconnecting) fails the
// subtask at once with ErrConnect: no new consumer can help.
func TestFetcher_failsAtOnceWhenTheConnectionIsClosed(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 10)
	h := openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN", RetryTimeout: time.Hour}, 0, 1)
	if got := h.poll(10); len(got) != 10 {
		t.Fatalf("read %d records, want 10", len(got))
	}
	h.r.conn.nc.Close() // as nats.go does once its reconnect attempts are exhausted
	_, ended, err := reviewPoll(h, 10*time.Second)
	if !ended || !errors.Is(err, ErrConnect) || !strings.Contains(err.Error(), "stream IN") {
		t.Fatalf("connection closed: ended %v, %v; want an error wrapping ErrConnect naming stream IN", ended, err)
	}
}

// Close does not wait for a split's back-off: it ends with the reader's
// context.
func TestConsumerRetry_waitEndsWithTheContext(t *testing.T) {
	r := &consumerRetry{timeout: 2 * time.Hour, first: time.Hour, longest: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() { done <- r.wait(ctx) }()
	cancel()
	select {
	case ok := <-done:
		if ok {
			t.Error("wait reported true after its context ended, want false")
		}
	case <-time.After(testkit.Dilated(10 * time.Second)):
		t.Fatal("wait still waits for its hour of back-off after its context ended")
	}
}

// The back-off doubles up to its longest, gives up once the next attempt
// would come after the timeout, and starts again after progress.
func TestConsumerRetry_backOff(t *testing.T) {
	r := &consumerRetry{timeout: time.Hour, first: time.Millisecond, longest: 4 * time.Millisecond}
	var delays []time.Duration
	for range 4 {
		if !r.wait(context.Background()) {
			t.Fatal("wait gave up within its timeout")
		}
		delays = append(delays, r.delay)
	}
	if want := []time.Duration{2, 4, 4, 4}; !slices.Equal(delays, scaled(want, time.Millisecond)) {
		t.Errorf("next delays %v, want %v ms", delays, want)
	}
	r.since = r.since.Add(-time.Hour) // the first failure an hour ago
	if r.wait(context.Background()) {
		t.Error("wait went on an hour after the first failure, want false (RetryTimeout passed)")
	}
	r.progressed()
	if !r.wait(context.Background()) || r.delay != 2*time.Millisecond {
		t.Errorf("after progress: delay %v, want a fresh back-off", r.delay)
	}
}

func scaled(ds []time.Duration, unit time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d * unit
	}
	return out
}

// endRemoved says a bounded split is over only when nothing matching its
// filter is stored from its position up to its end: an unfiltered split
// looks at every subject, a filtered one only at its own.
func TestFetcher_endRemoved(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 5) // 1..5
	publishEvents(t, s, "in.b", "b", 5) // 6..10
	publishEvents(t, s, "in.a", "a", 2) // 11, 12
	st := reviewStream(t, s, "IN")
	cases := []struct {
		subject     string
		resume, end uint64
		gone        bool
	}{
		{"", 6, 10, false},
		{"", 11, 10, true},
		{"in.a", 6, 5, true},   // the next in.a is 11, past the end
		{"in.a", 6, 12, false}, // 11 is still to read
		{"in.b", 6, 10, false},
		{"in.c", 1, 12, true},
	}
	for _, c := range cases {
		f := &fetcher[event]{sp: split{Stream: "IN", Subject: c.subject, Bounded: true, End: c.end},
			stream: st, resume: c.resume, log: slog.New(slog.DiscardHandler)}
		gone, err := f.endRemoved(context.Background())
		if err != nil || gone != c.gone {
			t.Errorf("split %q at %d, end %d: gone %v, %v; want %v", c.subject, c.resume, c.end, gone, err, c.gone)
		}
	}
}
