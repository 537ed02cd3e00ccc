package metrics_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cmd/node/metrics"
	"github.com/troupe-dev/troupe/operators"
)

// clock is a settable time for the handler.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Finding: a node exported the series of every job its masters ever ran
// — status (six series), restarts, uptime, checkpoint counts and three
// histograms of 15 to 17 buckets each — for as long as the node lived:
// a session cluster running a short job every few minutes grew its
// /metrics, and Prometheus's active series, without bound. As Flink
// closes a job's metric group when the job ends, a job's series leave
// once it has ended; they stay for metrics.EndedJobRetention after its
// end, so that a scrape sees how it ended and an alert on a failed job
// fires.
func TestReview14_endedJobsSeriesLeave(t *testing.T) {
	e := newEngine(t, nil)
	p := operators.NewPipeline("short")
	operators.Discard(operators.Generate(p, 10, func(i int64) int64 { return i }))
	job := submit(t, e, p)
	if err := job.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Now()}
	url := serve(t, metrics.Config{Engine: e, Jobs: func() []*actors.Job { return []*actors.Job{job} }, Now: c.Now})
	sel := map[string]string{"job_id": job.RunID()}
	if got := scrape(t, url).sum("troupe_job_status", map[string]string{"job_id": job.RunID(), "status": "finished"}); got != 1 {
		t.Fatalf("a job that has just finished: troupe_job_status{status=finished} = %v, want 1", got)
	}

	c.set(job.Ended().Add(metrics.EndedJobRetention + time.Second))
	for name := range scrape(t, url) {
		if strings.HasPrefix(name, "troupe_") && len(scrape(t, url).series(name, sel)) > 0 {
			t.Errorf("%s has series of job %s, which ended %v ago", name, job.RunID(), metrics.EndedJobRetention+time.Second)
		}
	}
}
