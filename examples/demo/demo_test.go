package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/demo"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// The demo's graph has the shape the dashboard shows: a source, a keyed
// window behind a hash edge, and an async enrichment behind a rebalance,
// chained to its sink.
func TestNew_graph(t *testing.T) {
	p, err := demo.New(demo.Config{Rate: 100, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		par  int
		in   operators.Partitioning
	}{
		{"events -> timestamps -> bids", 1, -1},
		{"bids-per-auction", 2, operators.Hash},
		{"enrich -> sink", 2, operators.Rebalance},
	}
	if len(g.Vertices) != len(want) {
		t.Fatalf("%d vertices, want %d", len(g.Vertices), len(want))
	}
	for i, w := range want {
		v := g.Vertices[i]
		if v.Name != w.name || v.Parallelism != w.par || (w.in >= 0 && v.Inputs[0].Partitioning != w.in) {
			t.Errorf("vertex %d: %q parallelism %d; want %q parallelism %d after a %v edge", i, v.Name, v.Parallelism, w.name, w.par, w.in)
		}
	}
}

// Windows fire and every row comes back enriched, retries included.
func TestNew_rowsAreCountedAndEnriched(t *testing.T) {
	rows := make(chan demo.AuctionBids, 1024)
	cat := demo.NewCatalog()
	// Retries, but never a record's every attempt: the pipeline makes 4
	// attempts, and with one lookup in 5 failing at random a record
	// failed all four about once in 625, which failed the job (no
	// checkpoints, so no restart) in 1 to 2 of 20 runs; one in 20 makes
	// that about one record in 160 000.
	cat.FailEvery = 20
	p, err := demo.New(demo.Config{Rate: 20_000, EventsPerSecond: 1000, Parallelism: 2, Catalog: cat,
		Sink: func(s operators.Stream[demo.AuctionBids]) operators.Sink {
			return operators.ToSink(s, "rows", func(*operators.TaskContext) (operators.SinkWriter[demo.AuctionBids], error) {
				return chanWriter(rows), nil
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	e, err := actors.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	job, err := e.Submit(g)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Cancel()
	seen := 0
	testkit.Eventually(t, 30*time.Second, func() bool {
		for {
			select {
			case r := <-rows:
				if r.Bids <= 0 || r.Info.Category == "" || r.WindowEnd%demo.WindowSize.Milliseconds() != 0 {
					t.Fatalf("row %+v: want bids, a category and a window end on a window boundary", r)
				}
				seen++
			default:
				return seen >= 100
			}
		}
	}, "100 enriched rows")
}

type chanWriter chan demo.AuctionBids

func (c chanWriter) Write(r demo.AuctionBids, _ int64) error {
	select {
	case c <- r:
	default: // the test has seen enough
	}
	return nil
}

// The catalog gives up when its caller does.
func TestCatalog_Lookup_cancelled(t *testing.T) {
	c := demo.NewCatalog()
	c.MinLatency, c.MaxLatency = time.Hour, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Lookup(ctx, 1); err == nil {
		t.Error("no error from a cancelled lookup")
	}
}
