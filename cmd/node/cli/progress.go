package cli

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// How often node run reports progress: in place on a terminal, as plain
// lines otherwise (a log file would not want one a second).
const (
	terminalProgressEvery = 500 * time.Millisecond
	plainProgressEvery    = 10 * time.Second
)

// progressJob is what the progress report reads of a running job.
type progressJob interface {
	Metrics() []actors.SubtaskSample
	Checkpoints() actors.CheckpointSummary
	Done() <-chan struct{}
}

var _ progressJob = (*actors.Job)(nil)

// progress is node run's report on a running job: records read and
// written, their rates, the watermark, the last checkpoint and the
// backpressured operators. Its goroutine belongs to the command, which
// stops it and waits for it (stop) before reporting the job's end.
type progress struct {
	out      *lockedWriter
	name     string // the job's
	job      progressJob
	terminal bool
	every    time.Duration
	// last is the newest snapshot with a new sample, prev the one before:
	// rates are between them, so that reports between two samples show
	// the same rates rather than none
	last, prev progressSnapshot
	done       chan struct{}
	wg         sync.WaitGroup
}

// startProgress starts reporting on j, unless quiet.
func (c *command) startProgress(j progressJob, name string, quiet bool) *progress {
	p := &progress{out: c.stderr, name: name, job: j, terminal: c.terminal, every: c.progressEvery, done: make(chan struct{})}
	if quiet {
		return p
	}
	if p.every == 0 {
		p.every = plainProgressEvery
		if p.terminal {
			p.every = terminalProgressEvery
		}
	}
	p.wg.Add(1)
	go p.run()
	return p
}

func (p *progress) run() {
	defer p.wg.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-p.job.Done():
			return
		case <-t.C:
			p.report()
		}
	}
}

func (p *progress) report() {
	snap := snapshotOf(p.job.Metrics(), p.job.Checkpoints(), time.Now())
	if snap.at.After(p.last.at) {
		p.prev, p.last = p.last, snap
	}
	line := formatProgress(p.name, snap, p.prev)
	if p.terminal {
		p.out.setStatus(line)
		return
	}
	fmt.Fprintln(p.out, line)
}

// stop ends the reports and clears the line in place; safe to call twice.
func (p *progress) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.wg.Wait()
	p.out.setStatus("")
}

// progressSnapshot is what one report says.
type progressSnapshot struct {
	at            time.Time // the newest sample's time; zero: no sample yet
	now           time.Time
	read, written int64
	watermark     int64 // the sinks' lowest input watermark; operators.MinWatermark: none
	checkpoint    *actors.CheckpointStats
	backpressured []string // "operator (87%)"
}

// backpressureShown is the share of time backpressured from which an
// operator is named.
const backpressureShown = 0.5

func snapshotOf(samples []actors.SubtaskSample, ck actors.CheckpointSummary, now time.Time) progressSnapshot {
	s := progressSnapshot{now: now, watermark: operators.MaxWatermark, checkpoint: ck.Latest}
	bp := map[string]float64{}
	for _, m := range samples {
		s.at = later(s.at, m.At)
		if m.Source {
			s.read += m.SourceRecords
		}
		if m.Sink {
			s.written += m.SinkRecords
			s.watermark = min(s.watermark, m.InputWatermark)
		}
		bp[m.Vertex] = max(bp[m.Vertex], m.BackpressuredRatio)
	}
	if s.watermark == operators.MaxWatermark {
		s.watermark = operators.MinWatermark // no sink, or every input ended
	}
	for _, v := range slices.Sorted(maps.Keys(bp)) {
		if bp[v] >= backpressureShown {
			s.backpressured = append(s.backpressured, fmt.Sprintf("%s (%.0f%%)", v, 100*bp[v]))
		}
	}
	return s
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// formatProgress is one report: the rates are over the time since prev.
func formatProgress(name string, s, prev progressSnapshot) string {
	if s.at.IsZero() {
		return fmt.Sprintf("%s: starting", name)
	}
	parts := []string{name + ":",
		"read " + count(s.read) + rate(s.read, prev.read, s.at, prev.at) + ",",
		"written " + count(s.written) + rate(s.written, prev.written, s.at, prev.at)}
	if s.watermark != operators.MinWatermark {
		parts[len(parts)-1] += ","
		parts = append(parts, "watermark "+time.UnixMilli(s.watermark).UTC().Format("15:04:05.000"))
	}
	if c := s.checkpoint; c != nil {
		parts[len(parts)-1] += ","
		parts = append(parts, fmt.Sprintf("checkpoint %d %s ago", c.ID, s.now.Sub(c.Triggered.Add(c.Duration)).Round(time.Second)))
	}
	if len(s.backpressured) > 0 {
		parts[len(parts)-1] += ","
		parts = append(parts, "backpressured: "+strings.Join(s.backpressured, ", "))
	}
	return strings.Join(parts, " ")
}

// rate is " (12.3k/s)" from two counts, or nothing without a previous
// sample.
func rate(n, prevN int64, at, prevAt time.Time) string {
	if prevAt.IsZero() || !at.After(prevAt) {
		return ""
	}
	perSecond := float64(n-prevN) / at.Sub(prevAt).Seconds()
	return " (" + strings.TrimSuffix(countFloat(max(perSecond, 0)), ".0") + "/s)"
}

// count writes n briefly: 999, 12.3k, 4.56M.
func count(n int64) string { return countFloat(float64(n)) }

func countFloat(f float64) string {
	switch {
	case f >= 1e9:
		return fmt.Sprintf("%.2fG", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e4:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprintf("%.0f", f)
}

// isTerminal reports whether w is a terminal (a character device), where
// the progress line is updated in place.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
