package jetstream

// Review of issue 16 (the JetStream connectors): each test below proves a
// defect found in review and is meant to FAIL until it is fixed. Each
// test's comment says what is wrong and what the expected behaviour is.
// A hang can only be shown by a deadline: findings 1 and 2 give the
// reader 10 s (dilated) to end or fail, which a fixed reader needs a few
// milliseconds for (or, with a bounded reset back-off, a few seconds);
// nothing here sleeps to wait for a condition.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// reviewPoll polls h until the reader is done or fails, or until d
// (dilated) passes with the reader waiting for the fetchers: it returns
// the records emitted, whether the reader ended, and its error.
func reviewPoll(h *pollHarness, d time.Duration) (out []event, ended bool, err error) {
	collect := operators.CollectorFunc[event](func(e event, _ int64) { out = append(out, e) })
	deadline := time.After(testkit.Dilated(d))
	for {
		p, err := h.r.Poll(collect, 1024)
		switch {
		case err != nil:
			return out, true, err
		case p.Status == operators.PollDone:
			return out, true, nil
		case p.Status == operators.PollWait:
			select {
			case <-h.wake:
			case <-deadline:
				return out, false, nil
			}
		}
	}
}

// reviewStream looks stream name up on s.
func reviewStream(t *testing.T, s *jstest.Server, name string) jetstream.Stream {
	t.Helper()
	_, js := s.Connect(t)
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Finding 1: a bounded split never ends when the message its End names
// is no longer in the stream when the fetcher gets there.
//
// freshSplits fixes End at the last sequence that matched the filter
// (Info().State.LastSeq for an unfiltered split), and the fetcher ends
// the split only when it reads a message with sequence >= End. If that
// message is gone — deleted, purged, expired (MaxAge) or evicted by the
// stream's limits (MaxMsgs, MaxBytes, DiscardOld) — and no later message
// matches the filter, the ordered consumer waits for ever: Poll answers
// PollWait for ever and the bounded job (a backfill, a test) never
// finishes. The purged case needs no race at all: a purged stream keeps
// its LastSeq, so a bounded job started on a stream that was emptied by
// a purge (or whose messages all expired) hangs from its first poll.
//
// Expected: the split ends once no message at or below End is left to
// read (for instance: the consumer reports nothing pending — the
// NumPending of the last delivered message, or the consumer's info when
// nothing was delivered — or the stream's FirstSeq is past End), and the
// reader reports PollDone having emitted the messages that were still
// stored.
func TestReview_boundedSplitEndsWhenItsEndIsRemoved(t *testing.T) {
	cases := []struct {
		name     string
		stream   jetstream.StreamConfig
		subjects []string
		before   func(t *testing.T, s *jstest.Server) // before the reader opens (fixes End)
		after    func(t *testing.T, s *jstest.Server) // after it opened, before the first Poll
		want     int
	}{
		{
			name:     "last message deleted",
			stream:   jetstream.StreamConfig{Name: "IN", Subjects: []string{"in.>"}},
			subjects: []string{"in.a"},
			after: func(t *testing.T, s *jstest.Server) {
				if err := reviewStream(t, s, "IN").DeleteMsg(context.Background(), 10); err != nil {
					t.Fatal(err)
				}
			},
			want: 9,
		},
		{
			name:   "stream purged before the job started",
			stream: jetstream.StreamConfig{Name: "IN", Subjects: []string{"in.>"}},
			before: func(t *testing.T, s *jstest.Server) {
				if err := reviewStream(t, s, "IN").Purge(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			want: 0,
		},
		{
			name:     "evicted by the stream's MaxMsgs",
			stream:   jetstream.StreamConfig{Name: "IN", Subjects: []string{"in.>"}, MaxMsgs: 10},
			subjects: []string{"in.a"},
			after: func(t *testing.T, s *jstest.Server) {
				// The oldest ten, all of in.a, go. (jstest.Publish waits for the
				// stream's count to grow, which MaxMsgs prevents: publish with acks.)
				_, js := s.Connect(t)
				for i := range 10 {
					if _, err := js.Publish(context.Background(), "in.b", fmt.Appendf(nil, `{"key":"b","n":%d}`, i+1)); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: 0,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := jstest.RunServer(t)
			s.CreateStreamWith(t, c.stream)
			publishEvents(t, s, "in.a", "a", 10)
			if c.before != nil {
				c.before(t, s)
			}
			h := openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN", Subjects: c.subjects, Bounded: true}, 0, 1)
			end := h.r.splits[0].End
			if c.after != nil {
				c.after(t, s)
			}
			got, ended, err := reviewPoll(h, 10*time.Second)
			if err != nil {
				t.Fatalf("bounded reader failed: %v", err)
			}
			if !ended {
				t.Fatalf("bounded split (end %d) read %d records and then waited for ever: the message at its end is gone, "+
					"nothing is left to read, yet the reader never reports PollDone", end, len(got))
			}
			if len(got) != c.want {
				t.Errorf("read %d records, want %d", len(got), c.want)
			}
		})
	}
}

// Finding 2: a source whose stream is deleted while it reads neither
// fails nor can be stopped.
//
// The consumer is deleted with its stream; nats.go's ordered consumer
// then resets itself, retrying CreateOrUpdateConsumer with back-off and
// MaxResetAttempts = -1 (for ever). The retry loop runs inside the
// fetcher's it.Next and listens only to the iterator's Stop — never to
// the context the fetcher passes to Next — and only the fetcher itself
// would call Stop (defer it.Stop()). So Poll answers PollWait for ever
// (no error: the job neither fails nor restarts, contrary to docs/
// connectors.md "Failures"), and reader.Close — what a cancel, a failure
// elsewhere in the job or a restart calls — blocks in wg.Wait until the
// stream is created again: the subtask's actor hangs in Close and the
// fetcher goroutine and its connection leak. The same hang follows any
// reset that cannot succeed (a consumer limit reached, a permission
// denied, a server whose JetStream stays unavailable).
//
// Expected: the reader fails with an error wrapping ErrStream that names
// stream IN (a bounded OrderedConsumerConfig.MaxResetAttempts makes the
// reset error surface from Next), and Close returns promptly in any case
// (the reader stops the fetchers' iterators itself, which ends the
// back-off).
func TestReview_deletedStreamFailsTheSourceAndCloseReturns(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 10)
	h := openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN"}, 0, 1)
	if got := h.poll(10); len(got) != 10 {
		t.Fatalf("read %d records, want 10", len(got))
	}
	_, js := s.Connect(t)
	ctx := context.Background()
	info, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, "IN"); err != nil {
		t.Fatal(err)
	}
	// The fetcher's consumer is gone: wait until the server has refused
	// a new one (the ordered consumer's reset found no stream).
	testkit.Eventually(t, 10*time.Second, func() bool {
		now, err := js.AccountInfo(ctx)
		return err == nil && now.API.Errors > info.API.Errors
	}, "the source's attempt to recreate its consumer")

	_, ended, err := reviewPoll(h, 10*time.Second)
	if !ended {
		t.Errorf("stream IN was deleted under the source: Poll still answers PollWait, want an error wrapping ErrStream naming the stream")
	} else if !errors.Is(err, ErrStream) || !strings.Contains(fmt.Sprint(err), "IN") {
		t.Errorf("stream IN deleted: reader ended with %v, want an error wrapping ErrStream naming the stream", err)
	}

	closed := make(chan struct{})
	go func() {
		_ = h.r.Close()
		close(closed)
	}()
	select {
	case <-closed:
		return
	case <-time.After(testkit.Dilated(5 * time.Second)):
		t.Errorf("reader.Close has not returned after %v: the fetcher is stuck in the ordered consumer's endless reset "+
			"and a cancel of the job would hang", testkit.Dilated(5*time.Second))
	}
	// Let the stuck fetcher go, so that it does not outlive the test.
	s.CreateStream(t, "IN", "in.>")
	<-closed
}

// Finding 3: a subject filter added to the source's configuration is
// never read after a restore.
//
// RestoreState replaces the configured splits by the restored ones and
// never looks at cfg.Subjects again. A job restored from a savepoint (or
// a checkpoint) with a filter added to Subjects — say orders.us next to
// orders.eu — silently never reads the new subject; a bounded job even
// finishes successfully without it. Nothing is logged. (A removed filter
// likewise goes on being read.) Flink's KafkaSource discovers the
// partitions of newly subscribed topics when it is restored and reads
// them from the configured starting offsets.
//
// Expected: a filter of the configuration that no restored split covers
// becomes a fresh split (from StartSequence, bounded as configured),
// assigned to exactly one subtask — with operator list state a subtask
// sees only its own splits, so this needs the configured filter set in
// the state, or union list state (persistence.OperatorSnapshot.Union) as
// Flink's FlinkKafkaConsumer used, from which each subtask takes filter k
// when k mod n is its index. Here: the restored reader reads in.a where
// it stood (nothing left) and in.b from the start.
func TestReview_restoreReadsASubjectFilterAddedToTheConfig(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 10)
	publishEvents(t, s, "in.b", "b", 5)

	h1 := openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN", Subjects: []string{"in.a"}, Bounded: true}, 0, 1)
	if got, ended, err := reviewPoll(h1, 10*time.Second); err != nil || !ended || len(got) != 10 {
		t.Fatalf("first run: %d records, ended %v, %v; want 10 and the end", len(got), ended, err)
	}
	snap, err := h1.r.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.r.Close(); err != nil {
		t.Fatal(err)
	}

	h2 := openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN", Subjects: []string{"in.a", "in.b"}, Bounded: true}, 0, 1)
	if err := h2.r.RestoreState([]*operators.OperatorState{snap}); err != nil {
		t.Fatal(err)
	}
	got, ended, err := reviewPoll(h2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var b int
	for _, e := range got {
		if e.Key == "b" {
			b++
		}
	}
	if b != 5 {
		t.Errorf("restored with Subjects [in.a in.b] (the savepoint had [in.a]): read %d of in.b's 5 messages "+
			"(ended %v, splits %+v): the added filter is silently ignored", b, ended, h2.r.splits)
	}
}

// Finding 4: overlapping subject filters are accepted, and every message
// they share is emitted once per filter.
//
// SourceConfig.Subjects is documented "must not overlap", but
// withDefaults only rejects empty and repeated strings: ["in.>", "in.a"]
// or ["in.*", "in.a"] pass, each becomes a split with its own ordered
// consumer, and each message on in.a is read by both — duplicates that
// no sink de-duplicates (they are distinct records), in a connector
// whose point is exactly-once. The check is cheap (subject tokens, '*'
// and '>'), and the doc's own example of several filters invites
// wildcards.
//
// Expected: FromJetStream returns an error wrapping ErrConfig naming the
// two overlapping filters.
func TestReview_overlappingSubjectFiltersAreRejected(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 5)
	publishEvents(t, s, "in.b", "b", 5)

	p := operators.NewPipeline("overlap")
	src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "IN", Subjects: []string{"in.*", "in.a"}, Bounded: true})
	if errors.Is(err, ErrConfig) {
		return // the overlap is refused: fixed
	}
	if err != nil {
		t.Fatalf("FromJetStream: %v, want an error wrapping ErrConfig", err)
	}
	got := operators.Collect(src)
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	t.Errorf("Subjects [in.* in.a] accepted, want ErrConfig: the job emitted %d records for the stream's 10 messages",
		len(got.Values()))
}

// Finding 5: a restore that repeats a commit after the stream's duplicate
// window has passed stores the transaction again, silently.
//
// The sink's exactly-once rests on the server remembering Nats-Msg-Id
// for StreamConfig.Duplicates. docs/connectors.md documents the limit,
// but nothing detects it: the restored transaction carries no time, the
// sink never compares anything with the window, and RestoreState
// re-publishes and settles happily — every message of the transaction is
// stored a second time, with no error and no warning (the only log line
// is the one for duplicates, which here are none). The window is not
// only passed by "a restart slower than the window": the time that
// counts runs from the commit of the latest complete checkpoint, so
// checkpoints that fail (time out, are declined) for longer than the
// window before a crash lead to the same duplicates after a fast
// restart. Flink's FlinkKafkaProducer, in the analogous case (a
// transaction older than transaction.timeout.ms at recovery), fails the
// recovery unless told to ignore it (ignoreFailuresAfterTransactionTimeout).
//
// The scenario: checkpoint 1 completes and its transaction is committed
// (all 10 messages stored); the process dies; it is restored from
// checkpoint 1 once the window (1 s here) has passed.
//
// Expected: the restore does not store the transaction again silently —
// it fails with an error that names the stream and the duplicate window
// (e.g. from a pre-commit time kept in the transaction and compared with
// the window), unless configured to accept duplicates; or the stream
// holds each message once.
func TestReview_restoreAfterTheDuplicateWindowIsDetected(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStreamWith(t, jetstream.StreamConfig{Name: "OUT", Subjects: []string{"out", "probe"}, Duplicates: time.Second})
	cfg, err := SinkConfig[event]{URL: s.URL(), Stream: "OUT", Subject: "out", MinDuplicateWindow: 500 * time.Millisecond,
		Codec: operators.JSONCodec[event]{}}.withDefaults(operators.Stream[event]{})
	if err != nil {
		t.Fatal(err)
	}
	open := func() *txnWriter[event] {
		var slot error
		tc := operators.NewTaskContext(operators.TaskInfo{Job: "window", Operator: "out", Parallelism: 1}, nil, func() {}, &slot)
		tc.Checkpointing = true
		w, err := openWriter(tc, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tw := w.(*txnWriter[event])
		t.Cleanup(func() { _ = tw.Close() })
		return tw
	}
	stored := func() uint64 {
		info, err := reviewStream(t, s, "OUT").Info(context.Background(), jetstream.WithSubjectFilter("out"))
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Subjects["out"]
	}

	w1 := open()
	for i := range 10 {
		if err := w1.Write(event{Key: "a", N: i + 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := w1.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w1.NotifyCheckpointComplete(1); err != nil {
		t.Fatal(err)
	}
	if err := w1.settle(); err != nil { // what the next snapshot would do
		t.Fatal(err)
	}
	if n := stored(); n != 10 {
		t.Fatalf("checkpoint 1 committed %d messages, want 10", n)
	}
	_ = w1.Close() // the process dies

	// Poll the server until it has forgotten an ID stored after the
	// commit: it has then forgotten the commit's IDs too.
	_, js := s.Connect(t)
	ctx := context.Background()
	if _, err := js.Publish(ctx, "probe", nil, jetstream.WithMsgID("probe")); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		ack, err := js.Publish(ctx, "probe", nil, jetstream.WithMsgID("probe"))
		return err == nil && !ack.Duplicate
	}, "the stream's duplicate window to pass")

	var dups atomic.Int64
	w2 := open()
	w2.hooks = &sinkHooks{committed: func(_ []int64, _, d int) { dups.Add(int64(d)) }}
	err = w2.RestoreState([]*operators.OperatorState{snap})
	if err != nil && strings.Contains(err.Error(), "duplicate window") {
		return // detected and reported: fixed
	}
	if n := stored(); err != nil || n != 10 {
		t.Errorf("restore of checkpoint 1 after the 1s duplicate window: RestoreState returned %v and the stream holds %d "+
			"messages of the 10 (%d recognised as duplicates): the transaction was stored twice without a word, "+
			"want an error naming the duplicate window (or each message once)", err, n, dups.Load())
	}
}

// Finding 6: a lookup Client whose connection nats.go has closed for
// good never connects again, so the job cannot recover by restarting.
//
// Client.connect dials once and keeps the *nats.Conn for ever ("a failed
// connection is not kept" covers only the first dial). nats.go closes a
// connection for good when its reconnect attempts are exhausted — with
// the defaults Client uses, 60 attempts 2 s apart: an outage of about
// two minutes. From then on every KVLookup and Request fails with
// ErrUnavailable ("connection closed"), also once the server is back:
// the async operator's retries fail, the job fails, and its restarts
// fail the same way, because the Client is shared and built outside the
// job (the source and the sink, which dial per subtask, do recover). The
// job can only be saved by restarting the process.
//
// The test puts the Client in the state nats.go leaves it in after an
// outage of that length (its connection closed) rather than waiting two
// minutes; the server is up.
//
// Expected: a Client whose connection is closed (not by Client.Close)
// dials again at the next lookup — dropping its cached key-value handles,
// which belong to the old connection — or its connection never gives up
// (nats.MaxReconnects(-1)); here the lookup finds "Ann".
func TestReview_lookupClientConnectsAgainAfterItsConnectionClosed(t *testing.T) {
	s := jstest.RunServer(t)
	_, js := s.Connect(t)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "names"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "a", []byte("Ann")); err != nil {
		t.Fatal(err)
	}
	client := NewClient(s.URL())
	defer client.Close()
	lookup := KVLookup(client, "names", func(e event) string { return e.Key },
		func(e event, v []byte, found bool) ([]string, error) {
			if !found {
				return nil, fmt.Errorf("key %s not found", e.Key)
			}
			return []string{string(v)}, nil
		})
	if got, err := lookup(ctx, event{Key: "a"}); err != nil || len(got) != 1 || got[0] != "Ann" {
		t.Fatalf("first lookup: %v, %v; want Ann", got, err)
	}

	client.mu.Lock()
	nc := client.nc
	client.mu.Unlock()
	nc.Close() // as nats.go does once its reconnect attempts are exhausted

	got, err := lookup(ctx, event{Key: "a"})
	if err != nil || len(got) != 1 || got[0] != "Ann" {
		t.Errorf("lookup after the connection was closed for good, with the server up: %v, %v; want Ann "+
			"(the Client never dials again: every later lookup, and every restart of the job, fails)", got, err)
	}
}
