package main

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/examples/wordcount"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
)

// TestNode_wordcount_JetStream_SIGKILL is the crash test with JetStream
// at both ends: wordcount reads lines from two subjects of a stream (two
// splits, one per source subtask) and publishes its running counts into
// another stream, exactly once, with 200 ms checkpoints into a state
// dir. The node is killed with SIGKILL three times at random moments and
// rerun with the same command each time; the output stream then holds
// every running count exactly once: the sources resumed at their
// checkpointed sequences, and the sinks' repeated commits were
// de-duplicated by the server.
func TestNode_wordcount_JetStream_SIGKILL(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	start := time.Now()
	s := jstest.RunServer(t)
	s.CreateStream(t, "LINES", "lines.*")
	s.CreateStream(t, "COUNTS", "counts")
	const lines, rate = 6000, 1000 // 2 subjects, 2 subtasks: about 3 s of input
	var text strings.Builder
	bySubject := map[string][][]byte{}
	for i := range lines {
		line := fmt.Sprintf("the w%d fox x%d the end%d", i%97, i%11, i%3)
		text.WriteString(line + "\n")
		subject := []string{"lines.a", "lines.b"}[i%2]
		bySubject[subject] = append(bySubject[subject], []byte(line))
	}
	for subject, payloads := range bySubject {
		s.Publish(t, subject, payloads...)
	}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	state := t.TempDir()
	args := []string{"run", "wordcount",
		"-p", "input=" + s.URL() + "/LINES?subject=lines.a&subject=lines.b&bounded=true",
		"-p", "output=" + s.URL() + "/COUNTS", "-p", fmt.Sprint("rate=", rate),
		"--parallelism", "2", "--checkpoint-interval", "200ms", "--state-dir", state}
	killThriceAndResume(t, rng, state, args)
	var out strings.Builder
	for _, m := range s.ReadAll(t, "COUNTS") {
		out.Write(m.Data)
		out.WriteByte('\n')
	}
	if err := wordcount.Verify(strings.NewReader(out.String()), wordcount.Totals(text.String())); err != nil {
		t.Error(err)
	}
	t.Logf("crash test took %v", time.Since(start).Round(time.Millisecond))
}
