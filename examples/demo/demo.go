package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/nexmark"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
	"github.com/troupe-dev/troupe/operators/window"
)

// Name is the demo pipeline's registered name.
const Name = "demo"

// WindowSize is the size of the demo's tumbling windows.
const WindowSize = 5 * time.Second

// AuctionBids is one auction's bids in one window, enriched.
type AuctionBids struct {
	Auction   int64       `json:"auction"`
	Bids      int64       `json:"bids"`
	WindowEnd int64       `json:"windowEnd"` // epoch ms
	Info      AuctionInfo `json:"info"`
}

// Config configures the demo pipeline.
type Config struct {
	// Rate is the events per second of the generator.
	Rate float64
	// EventsPerSecond is the rate of event time: event n happens at
	// Start + n/EventsPerSecond. Zero: Rate, so event time follows the
	// clock (tests make it run faster).
	EventsPerSecond int64
	// Start is the event time of event 0: the job's start, so that event
	// time follows the clock. Zero: the Nexmark generator's base time.
	Start time.Time
	// Parallelism of the window and the enrichment (the source has one
	// subtask).
	Parallelism int
	// Catalog is the service the enrichment calls; nil: NewCatalog().
	Catalog *Catalog
	// Sink receives the rows; nil: they are discarded.
	Sink func(operators.Stream[AuctionBids]) operators.Sink
}

// New builds the demo pipeline.
func New(cfg Config) (*operators.Pipeline, error) {
	if cfg.Rate <= 0 || cfg.Parallelism < 1 {
		return nil, fmt.Errorf("%w: rate %v and parallelism %d must be positive", actors.ErrBadParam, cfg.Rate, cfg.Parallelism)
	}
	if cfg.Catalog == nil {
		cfg.Catalog = NewCatalog()
	}
	gc := nexmark.DefaultGeneratorConfig()
	gc.EventsPerSecond = cfg.EventsPerSecond
	if gc.EventsPerSecond == 0 {
		gc.EventsPerSecond = max(int64(cfg.Rate), 1)
	}
	if !cfg.Start.IsZero() {
		gc.BaseTime = cfg.Start.UnixMilli()
	}
	g, err := nexmark.NewGenerator(gc)
	if err != nil {
		return nil, err
	}
	p := operators.NewPipeline(Name).SetParallelism(cfg.Parallelism)
	events := g.Source(p, -1, operators.RateLimit(cfg.Rate)).Name("events").Parallelism(1)
	bids := operators.FlatMap(nexmark.WithEventTime(events).Parallelism(1), func(e nexmark.Event, emit func(*nexmark.Bid)) {
		if e.Bid != nil {
			emit(e.Bid)
		}
	}).Name("bids").Parallelism(1)
	byAuction := operators.KeyBy(bids, func(b *nexmark.Bid) int64 { return b.Auction })
	counts := operators.AggregateWindowWith(operators.Window(byAuction, window.Tumbling(WindowSize)), countBids,
		func(ctx *operators.WindowContext[int64], n int64, out operators.Collector[AuctionBids]) error {
			out.Collect(AuctionBids{Auction: ctx.Key(), Bids: n, WindowEnd: ctx.Window().End}, 0)
			return nil
		}).Name("bids-per-auction")
	enriched := operators.AsyncMap(counts.Rebalance(), lookup(cfg.Catalog), asyncConfig()).Name("enrich")
	if cfg.Sink != nil {
		cfg.Sink(enriched).Name("sink")
	} else {
		operators.Discard(enriched).Name("sink")
	}
	return p, nil
}

var countBids = operators.Aggregate(
	func() int64 { return 0 },
	func(n int64, _ *nexmark.Bid) int64 { return n + 1 },
	func(a, b int64) int64 { return a + b },
	func(n int64) int64 { return n })

func lookup(c *Catalog) operators.AsyncFunc[AuctionBids, AuctionBids] {
	return func(ctx context.Context, r AuctionBids) ([]AuctionBids, error) {
		info, err := c.Lookup(ctx, r.Auction)
		if err != nil {
			return nil, err
		}
		r.Info = info
		return []AuctionBids{r}, nil
	}
}

// asyncConfig: up to 64 lookups in flight per subtask, 2 s for all the
// attempts of one, up to 4 attempts 5 ms apart, then doubling.
func asyncConfig() operators.AsyncConfig[AuctionBids, AuctionBids] {
	cfg := operators.DefaultAsyncConfig[AuctionBids, AuctionBids]()
	cfg.Capacity, cfg.Timeout = 64, 2*time.Second
	cfg.Retry = async.ExponentialBackoff(4, 5*time.Millisecond, 100*time.Millisecond, 2,
		async.RetryOnError(func(err error) bool { return errors.Is(err, ErrUnavailable) }))
	return cfg
}
