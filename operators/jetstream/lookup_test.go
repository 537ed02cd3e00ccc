package jetstream

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// enriched is an event with what a lookup found for its key.
type enriched struct {
	event
	Name string
}

// AsyncMap with a KVLookup enriches each record from a key-value bucket;
// a key without value is left to the join function (here: dropped).
func TestKVLookup_enrich(t *testing.T) {
	s := jstest.RunServer(t)
	_, js := s.Connect(t)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "names"})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"a": "Ann", "b": "Bob"} {
		if _, err := kv.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	client := NewClient(s.URL())
	defer client.Close()

	p := operators.NewPipeline("kv")
	in := operators.FromSlice(p, []event{{"a", 1}, {"zed", 2}, {"b", 3}, {"a", 4}})
	lookup := KVLookup(client, "names", func(e event) string { return e.Key },
		func(e event, v []byte, found bool) ([]enriched, error) {
			if !found {
				return nil, nil
			}
			return []enriched{{e, string(v)}}, nil
		})
	out := operators.Collect(operators.AsyncMap(in, lookup, operators.AsyncConfig[event, enriched]{Timeout: 5 * time.Second}))
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	want := []enriched{{event{"a", 1}, "Ann"}, {event{"b", 3}, "Bob"}, {event{"a", 4}, "Ann"}}
	if got := out.Values(); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A missing bucket is an error naming it.
func TestKVLookup_missingBucket(t *testing.T) {
	s := jstest.RunServer(t)
	client := NewClient(s.URL())
	defer client.Close()
	fn := KVLookup(client, "nope", func(e event) string { return e.Key },
		func(e event, v []byte, found bool) ([]event, error) { return nil, nil })
	_, err := fn(context.Background(), event{Key: "a"})
	if !errors.Is(err, ErrStream) || !errorContains(err, "bucket nope") {
		t.Fatalf("%v; want ErrStream naming the bucket", err)
	}
}

// Request calls a NATS service per record. The first call finds no
// responder (ErrUnavailable) and is retried by the async operator's
// retry strategy; an error reply of the service fails the record with
// ErrService.
func TestRequest_withRetries(t *testing.T) {
	s := jstest.RunServer(t)
	nc, _ := s.Connect(t)
	var calls atomic.Int64
	var sub *nats.Subscription
	client := NewClient(s.URL())
	defer client.Close()
	fn := Request(client, "names.get",
		func(e event) ([]byte, error) { return []byte(e.Key), nil },
		func(e event, reply []byte) ([]enriched, error) { return []enriched{{e, string(reply)}}, nil })
	first := func(ctx context.Context, e event) ([]enriched, error) {
		out, err := fn(ctx, e)
		if calls.Add(1) == 1 {
			// The service starts only now: the first attempt found nobody.
			var serr error
			sub, serr = nc.Subscribe("names.get", func(m *nats.Msg) {
				if string(m.Data) == "bad" {
					reply := nats.NewMsg(m.Reply)
					reply.Header.Set("Nats-Service-Error", "no such name")
					reply.Header.Set("Nats-Service-Error-Code", "404")
					_ = m.RespondMsg(reply)
					return
				}
				_ = m.Respond([]byte("name of " + string(m.Data)))
			})
			if serr != nil {
				t.Error(serr)
			}
			if serr := nc.Flush(); serr != nil {
				t.Error(serr)
			}
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("first call: %v, want ErrUnavailable", err)
			}
		}
		return out, err
	}
	retry := async.FixedDelay(3, time.Millisecond, async.RetryOnError(func(err error) bool { return errors.Is(err, ErrUnavailable) }))
	p := operators.NewPipeline("request")
	in := operators.FromSlice(p, []event{{"a", 1}, {"b", 2}})
	out := operators.Collect(operators.AsyncMap(in, first, operators.AsyncConfig[event, enriched]{Timeout: 5 * time.Second, Retry: retry}))
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	want := []enriched{{event{"a", 1}, "name of a"}, {event{"b", 2}, "name of b"}}
	if got := out.Values(); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	_, err := fn(context.Background(), event{Key: "bad"})
	if !errors.Is(err, ErrService) || !errorContains(err, "no such name") {
		t.Errorf("error reply: %v, want ErrService with the service's message", err)
	}
	_ = sub.Unsubscribe()
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fn(context.Background(), event{Key: "a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// A call whose context ends (the async operator's timeout) returns the
// context's error, not ErrUnavailable.
func TestRequest_contextEnds(t *testing.T) {
	s := jstest.RunServer(t)
	nc, _ := s.Connect(t)
	if _, err := nc.Subscribe("slow", func(*nats.Msg) {}); err != nil { // never answers
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	client := NewClient(s.URL())
	defer client.Close()
	fn := Request(client, "slow", func(e event) ([]byte, error) { return nil, nil },
		func(e event, _ []byte) ([]event, error) { return nil, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := fn(ctx, event{}); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("%v; want the context's error", err)
	}
}

func errorContains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }
