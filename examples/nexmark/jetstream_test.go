package nexmark

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators/jetstream"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// Events published into a stream by kind, read back with a subject
// filter per kind (three splits, each with its own watermarks), through
// q5's sliding windows into an output stream, exactly once under
// checkpoints: the rows are the reference's.
func TestSpec_natsToNATS(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "ROWS", "rows")
	evs := testGenerator(t).Events(0, 3000)
	ep, err := jetstream.ParseURL(s.URL() + "/NEXMARK")
	if err != nil {
		t.Fatal(err)
	}
	stored, dups, err := Publish(context.Background(), ep, testGenerator(t), 0, int64(len(evs)))
	if err != nil || stored != len(evs) || dups != 0 {
		t.Fatalf("publish: %d stored, %d duplicates, %v", stored, dups, err)
	}
	// Again: the message IDs make it a no-op.
	if stored, dups, err := Publish(context.Background(), ep, testGenerator(t), 0, 100); err != nil || stored != 0 || dups != 100 {
		t.Fatalf("publish again: %d stored, %d duplicates, %v", stored, dups, err)
	}

	input := s.URL() + "/NEXMARK?subject=nexmark.person&subject=nexmark.auction&subject=nexmark.bid&bounded=true"
	p, err := registry(t, &bytes.Buffer{}).Build(Name, map[string]string{"query": "q5", "input": input, "output": s.URL() + "/ROWS"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond)).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	var lines []byte
	for _, m := range s.ReadAll(t, "ROWS") {
		lines = append(append(lines, m.Data...), '\n')
	}
	equalMultisets(t, decodeRows[Q5Row](t, lines), refQ5(evs))
}

func TestSpec_badNATSURL(t *testing.T) {
	reg := registry(t, &bytes.Buffer{})
	for name, params := range map[string]map[string]string{
		`input="nats://127.0.0.1:4222/"`:           {"query": "q1", "input": "nats://127.0.0.1:4222/"},
		`output="nats://127.0.0.1:4222/OUT?color=`: {"query": "q1", "events": "10", "output": "nats://127.0.0.1:4222/OUT?color=red"},
	} {
		if _, err := reg.Build(Name, params, 0); !errors.Is(err, actors.ErrBadParam) || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: %v, want ErrBadParam naming %s", params, err, name)
		}
	}
}
