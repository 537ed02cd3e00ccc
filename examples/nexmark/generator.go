package nexmark

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// Proportions of the event kinds by event number, as in Nexmark: of every
// 50 consecutive events, 1 is a person, 3 are auctions and 46 are bids.
const (
	personProportion  = 1
	auctionProportion = 3
	bidProportion     = 46
	totalProportion   = personProportion + auctionProportion + bidProportion
)

// First ids and the category range, as in Nexmark: q3 asks for category
// 10, the first of five.
const (
	FirstPersonID   = 1000
	FirstAuctionID  = 1000
	FirstCategoryID = 10
	numCategories   = 5
)

// GeneratorConfig says what a Generator makes. The zero value of a field
// means its default (see DefaultGeneratorConfig).
type GeneratorConfig struct {
	// Seed varies the events while keeping ids, kinds and times; 0 is a
	// seed like any other.
	Seed uint64
	// EventsPerSecond is the rate of event time: event n happens at
	// BaseTime + n·1000/EventsPerSecond ms. Default 10 000 (Nexmark's).
	EventsPerSecond int64
	// BaseTime is the dateTime of event 0 in epoch ms. Default
	// 2025-01-01T00:00:00Z.
	BaseTime int64
	// MaxDisorder moves each event's dateTime back by a random amount in
	// [0, MaxDisorder], for tests of out-of-order input. Whole
	// milliseconds; default 0 (events in order).
	MaxDisorder time.Duration
	// HotAuctionRatio: a bid goes to the hot auction (the first of the
	// latest hundred) unless a draw of 1 in HotAuctionRatio says
	// otherwise. Likewise HotBidderRatio for bidders and HotSellerRatio
	// for the sellers of auctions. Defaults 2, 4 and 4 (Nexmark's).
	HotAuctionRatio, HotBidderRatio, HotSellerRatio int64
}

// DefaultGeneratorConfig returns the defaults, as Nexmark's generator has
// them.
func DefaultGeneratorConfig() GeneratorConfig {
	return GeneratorConfig{
		EventsPerSecond: 10_000,
		BaseTime:        time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		HotAuctionRatio: 2, HotBidderRatio: 4, HotSellerRatio: 4,
	}
}

// withDefaults fills the zero fields.
func (c GeneratorConfig) withDefaults() GeneratorConfig {
	d := DefaultGeneratorConfig()
	fill := func(v *int64, def int64) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&c.EventsPerSecond, d.EventsPerSecond)
	fill(&c.BaseTime, d.BaseTime)
	fill(&c.HotAuctionRatio, d.HotAuctionRatio)
	fill(&c.HotBidderRatio, d.HotBidderRatio)
	fill(&c.HotSellerRatio, d.HotSellerRatio)
	return c
}

func (c GeneratorConfig) validate() error {
	bad := func(field string, v any) error {
		return fmt.Errorf("%w: %s=%v", ErrConfig, field, v)
	}
	switch {
	case c.EventsPerSecond < 0:
		return bad("EventsPerSecond", c.EventsPerSecond)
	case c.MaxDisorder < 0 || c.MaxDisorder%time.Millisecond != 0:
		return bad("MaxDisorder", c.MaxDisorder)
	case c.HotAuctionRatio < 0:
		return bad("HotAuctionRatio", c.HotAuctionRatio)
	case c.HotBidderRatio < 0:
		return bad("HotBidderRatio", c.HotBidderRatio)
	case c.HotSellerRatio < 0:
		return bad("HotSellerRatio", c.HotSellerRatio)
	}
	return nil
}

// Generator makes Nexmark events by number. Event(n) depends only on n
// and the configuration, so any set of subtasks sharing the numbers makes
// the same events. It is immutable and safe for concurrent use.
type Generator struct {
	cfg       GeneratorConfig
	disorder  int64 // ms
	auctionMs int64 // mean auction lifetime
}

// NewGenerator returns a generator, or an error wrapping ErrConfig that
// names a negative or fractional field.
func NewGenerator(cfg GeneratorConfig) (*Generator, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// An auction lives, on average, as long as the generator takes to
	// make the auctions in flight (Nexmark keeps about 100 open).
	life := inFlightAuctions * totalProportion / auctionProportion * 1000 / cfg.EventsPerSecond
	return &Generator{cfg: cfg, disorder: cfg.MaxDisorder.Milliseconds(), auctionMs: max(life, 1)}, nil
}

// Config returns the configuration, defaults filled in.
func (g *Generator) Config() GeneratorConfig { return g.cfg }

// Event returns event number n (n ≥ 0).
func (g *Generator) Event(n int64) Event {
	r := newRNG(g.cfg.Seed, n)
	ts := g.cfg.BaseTime + n*1000/g.cfg.EventsPerSecond
	if g.disorder > 0 {
		ts -= r.intn(g.disorder + 1)
	}
	switch off := n % totalProportion; {
	case off < personProportion:
		return PersonEvent(g.person(n, ts, &r))
	case off < personProportion+auctionProportion:
		return AuctionEvent(g.auction(n, ts, &r))
	default:
		return BidEvent(g.bid(n, ts, &r))
	}
}

// Events returns events from, from+1, …, to-1.
func (g *Generator) Events(from, to int64) []Event {
	evs := make([]Event, 0, max(to-from, 0))
	for n := from; n < to; n++ {
		evs = append(evs, g.Event(n))
	}
	return evs
}

// Source adds a generator source of events 0 … count-1 (unbounded for a
// negative count): with parallelism p, subtask i makes the numbers i,
// i+p, i+2p, … in order.
func (g *Generator) Source(p *operators.Pipeline, count int64, opts ...operators.SourceOption) operators.Stream[Event] {
	return operators.Generate(p, count, g.Event, opts...)
}
