// Package jstest runs an embedded NATS server with JetStream for the
// tests of the JetStream connectors and of the pipelines that use them.
// Only tests import it (deps_test.go enforces this): it links the whole
// nats-server, which production binaries do without. It is ranked above
// testkit, whose polling helpers it uses.
//
// Every helper takes a testing.TB, fails the test on error and registers
// its cleanup; nothing here sleeps.
package jstest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/testkit"
)

// readyTimeout bounds the wait for a fresh server to accept clients
// (about 30 ms here; generous for loaded CI machines).
const readyTimeout = 10 * time.Second

// Server is an embedded NATS server with JetStream on a random local
// port, storing its streams under a test's temporary directory.
type Server struct {
	srv *server.Server
	url string
}

// RunServer starts a server and shuts it down when the test ends.
func RunServer(t testing.TB) *Server {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1, // a random free port
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("jstest: new server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		t.Fatalf("jstest: server not ready within %v", readyTimeout)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return &Server{srv: srv, url: srv.ClientURL()}
}

// URL returns the client URL, such as "nats://127.0.0.1:41234".
func (s *Server) URL() string { return s.url }

// Connect returns a client connection, closed when the test ends.
func (s *Server) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.url)
	if err != nil {
		t.Fatalf("jstest: connect %s: %v", s.url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jstest: jetstream: %v", err)
	}
	return nc, js
}

// CreateStream creates a file-backed stream named name over subjects.
func (s *Server) CreateStream(t testing.TB, name string, subjects ...string) {
	t.Helper()
	s.CreateStreamWith(t, jetstream.StreamConfig{Name: name, Subjects: subjects})
}

// CreateStreamWith creates a stream of any configuration.
func (s *Server) CreateStreamWith(t testing.TB, cfg jetstream.StreamConfig) {
	t.Helper()
	_, js := s.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatalf("jstest: create stream %s: %v", cfg.Name, err)
	}
}

// publishChunk is how many messages Publish sends before it waits for the
// server to have stored them: core NATS publishes are not flow
// controlled, and a JetStream stream's inbound queue drops what overflows
// it.
const publishChunk = 10_000

// Publish stores each payload on subject, in order, and waits until the
// stream that takes subject holds them all. It publishes without
// acknowledgements (core NATS, one connection, hence in order), in chunks
// it waits for, which is many times faster than JetStream publishes under
// the race detector; the subject must belong to exactly one stream, which
// nothing else writes to meanwhile.
func (s *Server) Publish(t testing.TB, subject string, payloads ...[]byte) {
	t.Helper()
	nc, js := s.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	name, err := js.StreamNameBySubject(ctx, subject)
	if err != nil {
		t.Fatalf("jstest: the stream of %s: %v", subject, err)
	}
	stream, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("jstest: stream %s: %v", name, err)
	}
	count := func() uint64 {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatalf("jstest: stream %s: %v", name, err)
		}
		return info.State.Msgs
	}
	want := count()
	for len(payloads) > 0 {
		chunk := payloads[:min(publishChunk, len(payloads))]
		payloads = payloads[len(chunk):]
		for i, p := range chunk {
			if err := nc.Publish(subject, p); err != nil {
				t.Fatalf("jstest: publish %d to %s: %v", i, subject, err)
			}
		}
		if err := nc.FlushTimeout(readyTimeout); err != nil {
			t.Fatalf("jstest: flush to %s: %v", subject, err)
		}
		// The server stores what it received asynchronously: poll its count.
		want += uint64(len(chunk))
		testkit.Eventually(t, time.Minute, func() bool { return count() >= want },
			"stream %s holds %d messages", name, want)
	}
}

// Msg is a stored message as ReadAll returns it.
type Msg struct {
	Subject  string
	Sequence uint64
	Data     []byte
	Header   nats.Header
}

// ReadAll returns every message stored in stream, in sequence order.
func (s *Server) ReadAll(t testing.TB, stream string) []Msg {
	t.Helper()
	_, js := s.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("jstest: stream %s: %v", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("jstest: stream %s info: %v", stream, err)
	}
	var out []Msg
	if info.State.Msgs == 0 {
		return out
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("jstest: consumer on %s: %v", stream, err)
	}
	for uint64(len(out)) < info.State.Msgs {
		want := min(info.State.Msgs-uint64(len(out)), 1000)
		batch, err := cons.Fetch(int(want), jetstream.FetchMaxWait(readyTimeout))
		if err != nil {
			t.Fatalf("jstest: read %s: %v", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				t.Fatalf("jstest: read %s: %v", stream, err)
			}
			out = append(out, Msg{Subject: m.Subject(), Sequence: meta.Sequence.Stream, Data: m.Data(), Header: m.Headers()})
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			t.Fatalf("jstest: read %s: %v", stream, err)
		}
		if n == 0 {
			t.Fatalf("jstest: read %s: %d of %d messages, then nothing within %v", stream, len(out), info.State.Msgs, readyTimeout)
		}
	}
	return out
}
