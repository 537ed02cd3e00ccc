package wordcount

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// Lines from a stream, counts into a stream: with checkpoints and a
// failure in the counter, the output stream holds every running count
// exactly once.
func TestSpec_natsToNATS(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "LINES", "lines")
	s.CreateStream(t, "COUNTS", "counts")
	var text strings.Builder
	lines := make([][]byte, 3000)
	for i := range lines {
		lines[i] = fmt.Appendf(nil, "the w%d fox x%d the", i%41, i%5)
		text.Write(lines[i])
		text.WriteByte('\n')
	}
	s.Publish(t, "lines", lines...)

	reg := actors.NewRegistry()
	reg.MustRegister(Spec())
	p, err := reg.Build(Name, map[string]string{
		"input": s.URL() + "/LINES?bounded=true", "output": s.URL() + "/COUNTS", "rate": "20000"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond))
	r.Faults().FailAt("count", testkit.AtRecord(4000))
	if res := r.Run(p); res.Err != nil || res.Restarts != 1 {
		t.Fatalf("%v; want one failure and restart", res)
	}
	var out strings.Builder
	for _, m := range s.ReadAll(t, "COUNTS") {
		out.Write(m.Data)
		out.WriteByte('\n')
	}
	if err := Verify(strings.NewReader(out.String()), Totals(text.String())); err != nil {
		t.Fatal(err)
	}
}

func TestSpec_badNATSURL(t *testing.T) {
	reg := actors.NewRegistry()
	reg.MustRegister(Spec())
	_, err := reg.Build(Name, map[string]string{"input": "nats://127.0.0.1:4222/LINES?bounded=maybe"}, 1)
	if !errors.Is(err, actors.ErrBadParam) || !strings.Contains(err.Error(), "input=") {
		t.Fatalf("%v; want ErrBadParam naming input", err)
	}
}
