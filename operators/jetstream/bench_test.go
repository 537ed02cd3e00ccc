package jetstream

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
)

// The benchmarks compare the connectors with plain nats.go doing the same
// I/O, on one embedded server, in one run (go test -bench; see
// docs/benchmarks.md). Records are raw 100-byte payloads (bytesCodec), so
// that what is measured is the connector, not a decoder.

const (
	benchMessages = 200_000
	benchPayload  = 100
)

// bytesCodec passes payloads through.
type bytesCodec struct{}

func (bytesCodec) Append(dst []byte, v []byte) ([]byte, error) { return append(dst, v...), nil }
func (bytesCodec) Decode(b []byte) ([]byte, error)             { return b, nil }

func benchEngine(b *testing.B, checkpoint time.Duration) *actors.Engine {
	b.Helper()
	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	cfg.Checkpoint.Interval = checkpoint
	e, err := actors.NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close() })
	return e
}

func runJob(b *testing.B, e *actors.Engine, p *operators.Pipeline) {
	b.Helper()
	if err := e.Run(context.Background(), p); err != nil {
		b.Fatal(err)
	}
}

func reportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSource reads a stream of benchMessages messages to its end:
// with an ordered consumer of nats.go, and with FromJetStream (bounded)
// into a discarding sink on the engine.
func BenchmarkSource(b *testing.B) {
	s := jstest.RunServer(b)
	s.CreateStream(b, "IN", "in")
	payload := make([]byte, benchPayload)
	payloads := make([][]byte, benchMessages)
	for i := range payloads {
		payloads[i] = payload
	}
	s.Publish(b, "in", payloads...)

	b.Run("nats.go-ordered-consumer", func(b *testing.B) {
		_, js := s.Connect(b)
		for b.Loop() {
			ctx := context.Background()
			cons, err := js.OrderedConsumer(ctx, "IN", jetstream.OrderedConsumerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			it, err := cons.Messages(jetstream.PullMaxMessages(DefaultFetchBatch))
			if err != nil {
				b.Fatal(err)
			}
			for range benchMessages {
				m, err := it.Next()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.Metadata(); err != nil { // the sequence, as a source needs
					b.Fatal(err)
				}
			}
			it.Stop()
		}
		reportRate(b, benchMessages)
	})
	b.Run("troupe-FromJetStream", func(b *testing.B) {
		e := benchEngine(b, 0)
		for b.Loop() {
			p := operators.NewPipeline("bench-source")
			src, err := FromJetStream(p, SourceConfig[[]byte]{URL: s.URL(), Stream: "IN", Bounded: true, Codec: bytesCodec{}})
			if err != nil {
				b.Fatal(err)
			}
			operators.Discard(src)
			runJob(b, e, p)
		}
		reportRate(b, benchMessages)
	})
}

// BenchmarkSink stores benchMessages messages and waits until the server
// has acknowledged them all: with nats.go's async publisher (without and
// with message IDs), and with ToJetStream fed by a generator, at least
// once and exactly once (checkpoints every 100 ms, each epoch published
// with message IDs when its checkpoint completes).
func BenchmarkSink(b *testing.B) {
	s := jstest.RunServer(b)
	payload := make([]byte, benchPayload)
	stream := 0
	_, admin := s.Connect(b)
	// fresh deletes the last run's stream and makes a new one, so that
	// runs neither share message IDs nor carry the server's
	// de-duplication tables of earlier runs (which would slow the later
	// variants).
	fresh := func(b *testing.B) string {
		b.Helper()
		if stream > 0 {
			if err := admin.DeleteStream(context.Background(), fmt.Sprintf("OUT%d", stream)); err != nil {
				b.Fatal(err)
			}
		}
		stream++
		name := fmt.Sprintf("OUT%d", stream)
		s.CreateStream(b, name, "out"+fmt.Sprint(stream))
		return name
	}
	// plain publishes with nats.go alone: PublishAsync (or PublishMsgAsync
	// with a Nats-Msg-Id header), then PublishAsyncComplete.
	plain := func(ids bool) func(b *testing.B) {
		return func(b *testing.B) {
			_, js := s.Connect(b)
			for b.Loop() {
				b.StopTimer()
				subject := "out" + fresh(b)[3:]
				b.StartTimer()
				for i := range benchMessages {
					var err error
					if ids {
						m := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
						m.Header.Set(jetstream.MsgIDHeader, "id-"+strconv.Itoa(i))
						_, err = js.PublishMsgAsync(m)
					} else {
						_, err = js.PublishAsync(subject, payload)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				select {
				case <-js.PublishAsyncComplete():
				case <-time.After(time.Minute):
					b.Fatal("no acknowledgements")
				}
			}
			reportRate(b, benchMessages)
		}
	}
	b.Run("nats.go-PublishAsync", plain(false))
	b.Run("nats.go-PublishAsync-msgid", plain(true))
	sink := func(d Delivery, checkpoint time.Duration) func(b *testing.B) {
		return func(b *testing.B) {
			e := benchEngine(b, checkpoint)
			for b.Loop() {
				b.StopTimer()
				name := fresh(b)
				p := operators.NewPipeline("bench-sink")
				in := operators.Generate(p, benchMessages, func(int64) []byte { return payload })
				if _, err := ToJetStream(in, SinkConfig[[]byte]{URL: s.URL(), Stream: name, Delivery: d, Codec: bytesCodec{}}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				runJob(b, e, p)
			}
			reportRate(b, benchMessages)
		}
	}
	b.Run("troupe-ToJetStream-at-least-once", sink(AtLeastOnce, 100*time.Millisecond))
	b.Run("troupe-ToJetStream-exactly-once", sink(ExactlyOnce, 100*time.Millisecond))
}
