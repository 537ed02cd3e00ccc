package enrich

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators/async"
)

// BenchmarkEnrich compares the enrich pipeline (file source, enrich at
// capacity 100, JSON lines sink) with a plain Go client that keeps 100
// requests in flight, against the same local HTTP service whose latency is
// 10–30 ms, in the same run. records/s is the pipeline's throughput,
// plain-records/s the plain client's and ratio the first over the second.
// On few cores the HTTP stack's CPU cost caps both below C/L (5 000/s at a
// mean latency of 20 ms), so compare them rather than quote C/L.
//
// The plain client frees a slot as soon as any reply comes, as unordered
// mode does; ordered mode frees one only when the oldest record has left,
// so a slow record holds up the window behind it. ideal-records/s is the
// mode's ceiling with these latencies and no overhead at all (see
// idealRate), and ideal-ratio the share of it the pipeline reached.
//
//	go test -run '^$' -bench BenchmarkEnrich -benchtime 3x ./examples/enrich/
func BenchmarkEnrich(b *testing.B) {
	const n, capacity = 4000, 100
	svc := newFakeService(b, n, 42, 10*time.Millisecond, 30*time.Millisecond)
	input := writeInput(b, n)
	for _, mode := range []async.Mode{async.Unordered, async.Ordered} {
		b.Run(mode.String(), func(b *testing.B) {
			e := benchEngine(b)
			var pipeline, plain time.Duration
			runs := 0
			for b.Loop() {
				pipeline += runPipelineOnce(b, e, Config{Input: input, URL: svc.URL(), Mode: mode, Capacity: capacity})
				plain += runPlainClient(b, svc.URL(), n, capacity)
				runs++
			}
			pr := float64(n*runs) / pipeline.Seconds()
			cr := float64(n*runs) / plain.Seconds()
			b.ReportMetric(pr, "records/s")
			b.ReportMetric(cr, "plain-records/s")
			b.ReportMetric(pr/cr, "ratio")
			ideal := idealRate(svc.latency, capacity, mode)
			b.ReportMetric(ideal, "ideal-records/s")
			b.ReportMetric(pr/ideal, "ideal-ratio")
		})
	}
}

func benchEngine(b *testing.B) *actors.Engine {
	b.Helper()
	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	e, err := actors.NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close() })
	return e
}

// runPipelineOnce runs the enrich pipeline over the whole input with a
// fresh client, writing to io.Discard, and returns how long it took.
func runPipelineOnce(b *testing.B, e *actors.Engine, cfg Config) time.Duration {
	b.Helper()
	cfg.Client, cfg.Stdout = NewClient(cfg.Capacity), io.Discard
	defer cfg.Client.CloseIdleConnections()
	p, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := e.Run(ctx, p); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// runPlainClient fetches and decodes ids 0..n-1 with inFlight goroutines,
// each keeping one request in flight, and returns how long it took.
func runPlainClient(b *testing.B, url string, n, inFlight int) time.Duration {
	b.Helper()
	client := NewClient(inFlight)
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, inFlight)
	start := time.Now()
	for range inFlight {
		wg.Go(func() {
			for id := next.Add(1) - 1; id < int64(n); id = next.Add(1) - 1 {
				if err := plainGet(client, url+"&id="+strconv.FormatInt(id, 10)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return elapsed
}

func plainGet(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply map[string]json.RawMessage
	return json.NewDecoder(resp.Body).Decode(&reply)
}

// idealRate is the throughput of an async operator of the given capacity
// that costs nothing, over records whose calls take lat: in ordered mode
// record i starts when record i-capacity has been emitted, and is emitted
// once it and every record before it have completed; in unordered mode it
// starts as soon as any earlier call completes.
func idealRate(lat []time.Duration, capacity int, mode async.Mode) float64 {
	emitted := make([]time.Duration, len(lat)) // ordered: when record i left
	var inFlight []time.Duration               // unordered: completion times
	var end time.Duration
	for i, l := range lat {
		var start time.Duration
		if mode == async.Ordered {
			if i >= capacity {
				start = emitted[i-capacity]
			}
			emitted[i] = max(start+l, end)
			end = emitted[i]
			continue
		}
		if len(inFlight) >= capacity {
			j := slices.Index(inFlight, slices.Min(inFlight))
			start = inFlight[j]
			inFlight = slices.Delete(inFlight, j, j+1)
		}
		inFlight = append(inFlight, start+l)
		end = max(end, start+l)
	}
	return float64(len(lat)) / end.Seconds()
}
