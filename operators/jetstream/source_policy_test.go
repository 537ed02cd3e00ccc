package jetstream

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// malformedStream stores three messages on in.a, the second not JSON.
func malformedStream(t *testing.T) *jstest.Server {
	t.Helper()
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	s.Publish(t, "in.a", []byte(`{"key":"a","n":1}`), []byte(`not json`), []byte(`{"key":"a","n":3}`))
	return s
}

// Under FailOnDecodeError a malformed message fails the job with an
// error that names the stream, the subject and the sequence.
func TestFromJetStream_decodeErrorFails(t *testing.T) {
	s := malformedStream(t)
	p := operators.NewPipeline("malformed")
	src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "IN", Bounded: true})
	if err != nil {
		t.Fatal(err)
	}
	operators.Discard(src)
	res := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart())).Run(p)
	var de *DecodeError
	if !errors.As(res.Err, &de) || !errors.Is(res.Err, operators.ErrDecode) {
		t.Fatalf("%v; want a *DecodeError wrapping operators.ErrDecode", res)
	}
	if de.Stream != "IN" || de.Sequence != 2 || de.Subject != "in.a" {
		t.Errorf("decode error names stream %q subject %q sequence %d, want IN in.a 2", de.Stream, de.Subject, de.Sequence)
	}
	if msg := res.Err.Error(); !strings.Contains(msg, "stream IN sequence 2") {
		t.Errorf("error %q does not name the stream and sequence", msg)
	}
}

// Under DeadLetter the malformed message goes to the DeadLetters side
// output, whole, and the others go on.
func TestFromJetStream_decodeErrorToDeadLetters(t *testing.T) {
	s := malformedStream(t)
	p := operators.NewPipeline("malformed")
	src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "IN", Bounded: true, OnDecodeError: DeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	good := operators.Collect(src)
	bad := operators.Collect(operators.GetSideOutput(src, DeadLetters))
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	if got := seqs(good.Values()); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("records %v, want 1 and 3", got)
	}
	dead := bad.Values()
	if len(dead) != 1 {
		t.Fatalf("dead letters %+v, want one", dead)
	}
	d := dead[0]
	if d.Stream != "IN" || d.Subject != "in.a" || d.Sequence != 2 || string(d.Data) != "not json" || d.Error == "" {
		t.Errorf("dead letter %+v", d)
	}
}

// panicCodec panics on the message "boom".
type panicCodec struct{ operators.JSONCodec[event] }

func (c panicCodec) Decode(b []byte) (event, error) {
	if string(b) == "boom" {
		panic("codec bug")
	}
	return c.JSONCodec.Decode(b)
}

// A codec that panics fails the subtask, naming the stream and sequence,
// instead of the process: it runs on a fetcher goroutine, which recovers.
func TestFromJetStream_codecPanic(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	s.Publish(t, "in.a", []byte(`{"key":"a","n":1}`), []byte(`boom`))
	p := operators.NewPipeline("panic")
	src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "IN", Bounded: true, Codec: panicCodec{}})
	if err != nil {
		t.Fatal(err)
	}
	operators.Discard(src)
	res := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart())).Run(p)
	if !errors.Is(res.Err, ErrSourcePanic) || !strings.Contains(res.Err.Error(), "stream IN sequence 2") {
		t.Fatalf("%v; want ErrSourcePanic naming stream IN sequence 2", res)
	}
}

// Configuration errors are reported by the constructors, naming the
// field; a missing stream fails the job when it starts, naming it.
func TestFromJetStream_config(t *testing.T) {
	p := operators.NewPipeline("config")
	for name, cfg := range map[string]SourceConfig[event]{
		"URL":      {Stream: "IN"},
		"Stream":   {URL: "nats://127.0.0.1:1"},
		"Subjects": {URL: "nats://127.0.0.1:1", Stream: "IN", Subjects: []string{"a", "a"}},
	} {
		if _, err := FromJetStream(p, cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want ErrConfig naming the field", name, err)
		}
	}
	s := jstest.RunServer(t)
	src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "NOPE"})
	if err != nil {
		t.Fatal(err)
	}
	operators.Discard(src)
	res := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart())).Run(p)
	if !errors.Is(res.Err, ErrStream) || !strings.Contains(res.Err.Error(), "stream NOPE not found") {
		t.Fatalf("%v; want ErrStream naming NOPE", res)
	}
}
