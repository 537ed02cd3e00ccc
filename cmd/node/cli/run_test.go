package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

func TestParseRun(t *testing.T) {
	tests := []struct {
		args []string
		want runArgs
	}{
		{[]string{"wc"}, runArgs{pipeline: "wc", jobFlags: jobFlags{params: map[string]string{}}}},
		{[]string{"wc", "--param", "a=1", "-p", "b=x=y", "--parallelism", "4"},
			runArgs{pipeline: "wc", jobFlags: jobFlags{params: map[string]string{"a": "1", "b": "x=y"}, parallelism: 4}}},
		{[]string{"-p=a=", "--parallelism=2", "wc", "--param=b=2"},
			runArgs{pipeline: "wc", jobFlags: jobFlags{params: map[string]string{"a": "", "b": "2"}, parallelism: 2}}},
	}
	for _, tt := range tests {
		got, err := parseRun(tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if got.pipeline != tt.want.pipeline || got.parallelism != tt.want.parallelism || !mapsEqual(got.params, tt.want.params) {
			t.Errorf("%q: got %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// fakeJob ends by itself when done is closed beforehand, on Stop when
// stopEnds, and always on Cancel. A stop with savepoint returns
// savepoint and cancels the job, or fails with spErr, or, with spBlocks,
// waits for its context. await calls it from one goroutine at a time.
type fakeJob struct {
	done           chan struct{}
	err            error
	stopEnds       bool
	stops, cancels int
	savepoint      string
	spErr          error // returned by every stop with savepoint, or by the first spFails
	spFails        int
	spBlocks       bool
	spCalls        int
}

func (f *fakeJob) StopWithSavepoint(ctx context.Context) (string, error) {
	switch {
	case f.spBlocks:
		<-ctx.Done()
		return "", ctx.Err()
	case f.spErr != nil && (f.spFails == 0 || f.spCalls < f.spFails):
		f.spCalls++
		return "", f.spErr
	}
	f.Cancel()
	return f.savepoint, nil
}

func (f *fakeJob) Done() <-chan struct{} { return f.done }

func (f *fakeJob) Stop() {
	f.stops++
	if f.stopEnds {
		close(f.done)
	}
}

func (f *fakeJob) Cancel() {
	f.cancels++
	f.err = actors.ErrCancelled
	close(f.done)
}

func (f *fakeJob) Wait(context.Context) error {
	<-f.done
	return f.err
}

func TestCommand_await(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name           string
		job            fakeJob
		ended          bool // the job has ended before any signal
		savepoint      bool // stop with a savepoint
		signals        int
		want           error
		wantPath       string
		stops, cancels int
	}{
		{name: "ends by itself", ended: true, job: fakeJob{err: boom}, want: boom},
		{name: "one signal stops", job: fakeJob{stopEnds: true}, signals: 1, stops: 1},
		{name: "second signal cancels", signals: 2, want: actors.ErrCancelled, stops: 1, cancels: 1},
		{name: "signal stops with savepoint", savepoint: true, job: fakeJob{savepoint: "/sp/chk-3"}, signals: 1,
			wantPath: "/sp/chk-3", cancels: 1},
		{name: "savepoint tried again", savepoint: true, job: fakeJob{spErr: boom, spFails: 2, savepoint: "/sp/chk-5"}, signals: 1,
			wantPath: "/sp/chk-5", cancels: 1},
		{name: "failed savepoint stops gracefully", savepoint: true, job: fakeJob{spErr: boom, stopEnds: true}, signals: 1, stops: 1},
		{name: "second signal cancels a savepoint", savepoint: true, job: fakeJob{spBlocks: true}, signals: 2,
			want: actors.ErrCancelled, cancels: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &tt.job
			j.done = make(chan struct{})
			if tt.ended {
				close(j.done)
			}
			sigs := make(chan os.Signal, 2)
			for range tt.signals {
				sigs <- syscall.SIGTERM
			}
			c := newCommand(nil, io.Discard, io.Discard, nil)
			path, err := c.await(j, sigs, tt.savepoint)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) || path != tt.wantPath {
				t.Errorf("await = %q, %v; want %q, %v", path, err, tt.wantPath, tt.want)
			}
			if j.stops != tt.stops || j.cancels != tt.cancels {
				t.Errorf("%d stops, %d cancels; want %d, %d", j.stops, j.cancels, tt.stops, tt.cancels)
			}
		})
	}
}

// An unbounded job stopped by a signal drains and exits 0; its output is a
// gap-free prefix of each subtask's sequence.
func TestCommand_run_signalStops(t *testing.T) {
	out := newSyncBuffer()
	sigs := make(chan os.Signal, 2)
	var stderr bytes.Buffer
	c := newCommand(testRegistry(t, out), io.Discard, &stderr, func() (<-chan os.Signal, func()) { return sigs, func() {} })
	codes := make(chan int, 1)
	go func() { codes <- c.main([]string{"run", "numbers", "--parallelism", "2"}) }()
	select {
	case <-out.first:
	case <-time.After(30 * time.Second):
		t.Fatal("no output within 30s")
	}
	sigs <- os.Interrupt
	select {
	case code := <-codes:
		if code != ExitOK {
			t.Fatalf("exit %d, want 0; stderr %q", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not stop within 30s of the signal")
	}
	checkPrefixes(t, out.String(), 2)
}

// checkPrefixes checks that lines of integers written by par subtasks, of
// which subtask i makes i, i+par, i+2par, …, hold each subtask's sequence
// in order and without a gap.
func checkPrefixes(t testing.TB, out string, par int64) {
	t.Helper()
	next := make([]int64, par)
	for i := range next {
		next[i] = int64(i)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for ; sc.Scan(); n++ {
		v, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			t.Fatalf("line %d %q: %v", n+1, sc.Text(), err)
		}
		if sub := v % par; v != next[sub] {
			t.Fatalf("line %d: %d, want %d next from subtask %d", n+1, v, next[sub], sub)
		}
		next[v%par] += par
	}
	if n == 0 {
		t.Fatal("no output")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1048576": 1 << 20, "512MiB": 512 << 20, "512mib": 512 << 20, "2GiB": 2 << 30, "1.5GiB": 3 << 29,
		"64Mi": 64 << 20, "1TiB": 1 << 40, "100KiB": 100 << 10, "2GB": 2e9, "500MB": 5e8, "64kB": 64e3,
		"300 MiB": 300 << 20, "4096B": 4096,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "512M", "1g", "-1GiB", "0", "x1MiB", "1..5GiB", "9999999TiB", "12 bytes"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseRun_memory(t *testing.T) {
	ra, err := parseRun([]string{"wc", "--memory", "512MiB"})
	if err != nil || ra.memory != 512<<20 {
		t.Fatalf("--memory 512MiB: memory %d, err %v", ra.memory, err)
	}
	if ra, err := parseRun([]string{"wc"}); err != nil || ra.memory != 0 || ra.gcPercent != 0 {
		t.Fatalf("no --memory: memory %d, GC percent %d, err %v; want no budget and the default target", ra.memory, ra.gcPercent, err)
	}
	for arg, want := range map[string]int{"off": actors.GCOff, "1600": 1600} {
		if ra, err := parseRun([]string{"wc", "--memory", "64MiB", "--gc-percent", arg}); err != nil || ra.gcPercent != want {
			t.Errorf("--gc-percent %s: %d, %v; want %d", arg, ra.gcPercent, err, want)
		}
	}
}
