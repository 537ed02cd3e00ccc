package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

func TestFormatProgress(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	prev := progressSnapshot{at: t0, read: 1000, written: 500}
	ck := &actors.CheckpointStats{ID: 7, Triggered: t0, Duration: time.Second}
	tests := []struct {
		name       string
		snap, prev progressSnapshot
		want       string
	}{
		{"no sample yet", progressSnapshot{}, progressSnapshot{}, "wc: starting"},
		{"first sample: no rates", progressSnapshot{at: t0, read: 1000, written: 500, watermark: operators.MinWatermark},
			progressSnapshot{}, "wc: read 1000, written 500"},
		{"rates, watermark, checkpoint, backpressure",
			progressSnapshot{at: t0.Add(2 * time.Second), now: t0.Add(4 * time.Second), read: 61000, written: 2_500_500,
				watermark: t0.Add(-time.Second).UnixMilli(), checkpoint: ck, backpressured: []string{"map (87%)"}},
			prev, "wc: read 61.0k (30.0k/s), written 2.50M (1.25M/s), watermark 09:59:59.000, checkpoint 7 3s ago, backpressured: map (87%)"},
	}
	for _, tt := range tests {
		if got := formatProgress("wc", tt.snap, tt.prev); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestSnapshotOf_sumsSourcesAndSinks(t *testing.T) {
	t0 := time.Unix(1000, 0)
	samples := []actors.SubtaskSample{
		{SubtaskMetrics: actors.SubtaskMetrics{Vertex: "src", Source: true, SourceRecords: 10, At: t0, InputWatermark: operators.MinWatermark}, BackpressuredRatio: 0.9},
		{SubtaskMetrics: actors.SubtaskMetrics{Vertex: "src", Source: true, SourceRecords: 5, At: t0.Add(time.Second)}, BackpressuredRatio: 0.2},
		{SubtaskMetrics: actors.SubtaskMetrics{Vertex: "map", At: t0}, BackpressuredRatio: 0.4},
		{SubtaskMetrics: actors.SubtaskMetrics{Vertex: "sink", Sink: true, SinkRecords: 7, At: t0, InputWatermark: 300}},
		{SubtaskMetrics: actors.SubtaskMetrics{Vertex: "sink", Sink: true, SinkRecords: 1, At: t0, InputWatermark: 200}},
	}
	s := snapshotOf(samples, actors.CheckpointSummary{}, t0)
	if s.read != 15 || s.written != 8 || s.watermark != 200 || !s.at.Equal(t0.Add(time.Second)) {
		t.Errorf("read %d written %d watermark %d at %v; want 15, 8, 200, the newest sample's time", s.read, s.written, s.watermark, s.at)
	}
	if len(s.backpressured) != 1 || s.backpressured[0] != "src (90%)" {
		t.Errorf("backpressured %q, want only src at its worst subtask's 90%%", s.backpressured)
	}
}

// Output written while a status line shows goes above it, and the line
// is drawn again under it.
func TestLockedWriter_statusLine(t *testing.T) {
	var b bytes.Buffer
	w := &lockedWriter{w: &b}
	w.setStatus("progress 1")
	io.WriteString(w, "a log line\n")
	w.setStatus("progress 2")
	w.setStatus("")
	io.WriteString(w, "after\n")
	want := clearLine + "progress 1" + clearLine + "a log line\n" + "progress 1" + clearLine + "progress 2" + clearLine + "after\n"
	if b.String() != want {
		t.Errorf("wrote %q\nwant %q", b.String(), want)
	}
}

// runNumbers runs the unbounded numbers pipeline with args until it has
// written output and stderr matches until (nil: at once), then stops it;
// it returns stderr.
func runNumbers(t *testing.T, until *regexp.Regexp, args ...string) string {
	t.Helper()
	out := newSyncBuffer()
	errOut := newSyncBuffer()
	sigs := make(chan os.Signal, 2)
	c := newCommand(testRegistry(t, out), io.Discard, errOut, func() (<-chan os.Signal, func()) { return sigs, func() {} })
	c.progressEvery = 20 * time.Millisecond
	codes := make(chan int, 1)
	go func() { codes <- c.main(append([]string{"run", "numbers"}, args...)) }()
	testkit.Eventually(t, 30*time.Second, func() bool {
		return out.String() != "" && (until == nil || until.MatchString(errOut.String()))
	}, "output, and stderr matching %v: %q", until, errOut)
	sigs <- os.Interrupt
	select {
	case code := <-codes:
		if code != ExitOK {
			t.Fatalf("exit %d, want 0; stderr %q", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not stop within 30s of the signal")
	}
	return errOut.String()
}

var progressLine = regexp.MustCompile(`(?m)^numbers: read [0-9.kM]+ \([0-9.kM]+/s\), written [0-9.kM]+ \([0-9.kM]+/s\)`)

// Off a terminal, progress comes as plain lines, with rates once there
// are two samples.
func TestCommand_run_progressLines(t *testing.T) {
	stderr := runNumbers(t, progressLine)
	if strings.Contains(stderr, clearLine) {
		t.Errorf("in-place updates off a terminal:\n%q", stderr)
	}
}

func TestCommand_run_quiet(t *testing.T) {
	stderr := runNumbers(t, nil, "--quiet")
	if strings.Contains(stderr, "numbers:") {
		t.Errorf("progress with --quiet:\n%s", stderr)
	}
}

// --http serves the job's metrics while it runs; --log-format json logs
// JSON (the address it serves at, at info level); --memory is the soft
// memory limit, and raises the collector's target to its default.
func TestCommand_run_httpMetricsAndJSONLogs(t *testing.T) {
	served := regexp.MustCompile(`"msg":"serving metrics","addr":"([^"]+)"`)
	out := newSyncBuffer()
	errOut := newSyncBuffer()
	sigs := make(chan os.Signal, 2)
	c := newCommand(testRegistry(t, out), io.Discard, errOut, func() (<-chan os.Signal, func()) { return sigs, func() {} })
	codes := make(chan int, 1)
	go func() {
		codes <- c.main([]string{"run", "numbers", "--quiet", "--http", "127.0.0.1:0", "--log-format", "json", "--log-level", "info", "--memory", "256MiB"})
	}()
	defer func() {
		sigs <- os.Interrupt
		if code := <-codes; code != ExitOK {
			t.Errorf("exit %d; stderr %q", code, errOut.String())
		}
	}()
	testkit.Eventually(t, 30*time.Second, func() bool { return served.MatchString(errOut.String()) }, "the metrics address logged: %q", errOut)
	url := "http://" + served.FindStringSubmatch(errOut.String())[1] + "/metrics"
	testkit.Eventually(t, 30*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if _, env := os.LookupEnv("GOGC"); !env && !strings.Contains(string(body), "\ngo_gc_gogc_percent 800\n") ||
			!strings.Contains(string(body), "\ngo_gc_gomemlimit_bytes 2.68435456e+08\n") {
			t.Fatalf("--memory 256MiB: want GOGC 800 (the default with a budget) and a 256 MiB soft limit in /metrics:\n%s", body)
		}
		return regexp.MustCompile(`troupe_source_records_read_total\{job="numbers",job_id="[^"]+",operator="seq -> sink",subtask="0"\} [1-9]`).Match(body) &&
			strings.Contains(string(body), `troupe_job_status{job="numbers"`)
	}, "the job's counters at %s", url)
	for _, line := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("not a JSON log line: %q", line)
		}
	}
}

func TestParseRun_logFlags(t *testing.T) {
	for _, args := range [][]string{
		{"wordcount", "--log-format", "xml"},
		{"wordcount", "--log-level", "loud"},
		// slog's offsets and an empty level are not levels a user means.
		{"wordcount", "--log-level", "info+2"},
		{"wordcount", "--log-level", ""},
	} {
		if _, err := parseRun(args); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
