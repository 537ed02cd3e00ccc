package nexmark

import (
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
)

// Window sizes of the windowed queries.
const (
	Q5Size  = 10 * time.Second // q5's sliding windows...
	Q5Slide = 2 * time.Second  // ...start every Q5Slide
	Q7Size  = 10 * time.Second // q7's tumbling windows
	Q8Size  = 10 * time.Second // q8's tumbling windows
	Q11Gap  = 10 * time.Second // q11's session gap
)

// bids keeps the bids of an event stream.
func bids(events operators.Stream[Event]) operators.Stream[*Bid] {
	return operators.FlatMap(events, func(e Event, emit func(*Bid)) {
		if e.Bid != nil {
			emit(e.Bid)
		}
	}).Name("bids")
}

// Q5 finds, for every sliding window of Q5Size starting every Q5Slide,
// the auctions with the most bids. Stage one counts each auction's bids
// per window (keyed by auction); stage two, keyed by window start, keeps
// the maximum count and its auctions until the watermark passes the
// window, when every count of the window has come.
func Q5(events operators.Stream[Event]) operators.Stream[Q5Row] {
	byAuction := operators.KeyBy(bids(events), func(b *Bid) int64 { return b.Auction })
	sliding := window.Sliding(Q5Size, Q5Slide)
	counts := operators.AggregateWindowWith(operators.Window(byAuction, sliding), countBids,
		func(ctx *operators.WindowContext[int64], n int64, out operators.Collector[Q5Row]) error {
			w := ctx.Window()
			out.Collect(Q5Row{Auction: ctx.Key(), Num: n, StartTime: w.Start, EndTime: w.End}, 0)
			return nil
		}).Name("q5-count")
	byWindow := operators.KeyBy(counts, func(r Q5Row) int64 { return r.StartTime })
	return operators.ProcessKeyedWithTimers(byWindow, q5Add, q5Fire).Name("q5-max")
}

// countBids counts the bids of a window.
var countBids = operators.Aggregate(
	func() int64 { return 0 },
	func(n int64, _ *Bid) int64 { return n + 1 },
	func(a, b int64) int64 { return a + b },
	func(n int64) int64 { return n })

// q5Best is q5's state per window: the highest count so far and the
// auctions that have it.
type q5Best struct {
	Num      int64   `json:"num"`
	End      int64   `json:"end"`
	Auctions []int64 `json:"auctions"`
}

// q5Bests holds each window's q5Best.
var q5Bests = operators.ValueDescriptor[q5Best]{Name: "best"}

func q5Add(ctx *operators.KeyedContext[int64], r Q5Row, _ operators.Collector[Q5Row]) error {
	state, err := operators.GetValueState(ctx, q5Bests)
	if err != nil {
		return err
	}
	best, ok := state.Value()
	switch {
	case !ok:
		ctx.RegisterEventTimer(r.EndTime - 1)
		best = q5Best{Num: r.Num, End: r.EndTime, Auctions: []int64{r.Auction}}
	case r.Num > best.Num:
		best.Num, best.Auctions = r.Num, append(best.Auctions[:0], r.Auction)
	case r.Num == best.Num:
		best.Auctions = append(best.Auctions, r.Auction)
	}
	state.Update(best)
	return nil
}

func q5Fire(ctx *operators.KeyedContext[int64], t operators.Timer, out operators.Collector[Q5Row]) error {
	state, err := operators.GetValueState(ctx, q5Bests)
	if err != nil {
		return err
	}
	best, _ := state.Value()
	for _, a := range best.Auctions {
		out.Collect(Q5Row{Auction: a, Num: best.Num, StartTime: ctx.Key(), EndTime: best.End}, t.Time)
	}
	state.Clear()
	return nil
}

// q7Shards is how many parts stage one of q7 splits each window into. Bids
// go to part price mod q7Shards, so equal prices meet in one part.
const q7Shards = 64

// Q7 finds, for every tumbling window of Q7Size, the bids with the highest
// price. Stage one keeps, per window and part of the bids (keyed by
// price mod q7Shards), the highest price and its bids; stage two, keyed by
// window start, keeps the best of the parts until the watermark passes
// the window.
func Q7(events operators.Stream[Event]) operators.Stream[Q7Row] {
	byShard := operators.KeyBy(bids(events), func(b *Bid) int64 { return b.Price % q7Shards })
	tumbling := window.Tumbling(Q7Size)
	highest := operators.Aggregate(func() q7Top { return q7Top{Price: -1} }, q7Top.add, nil, func(t q7Top) q7Top { return t })
	tops := operators.AggregateWindowWith(operators.Window(byShard, tumbling), highest,
		func(ctx *operators.WindowContext[int64], top q7Top, out operators.Collector[q7Top]) error {
			top.Start, top.End = ctx.Window().Start, ctx.Window().End
			out.Collect(top, 0)
			return nil
		}).Name("q7-top")
	byWindow := operators.KeyBy(tops, func(t q7Top) int64 { return t.Start })
	return operators.ProcessKeyedWithTimers(byWindow, q7Merge, q7Fire).Name("q7-max")
}

// q7Top is the highest price among some bids of a window, and those bids.
type q7Top struct {
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	Price int64  `json:"price"`
	Bids  []*Bid `json:"bids"`
}

func (t q7Top) add(b *Bid) q7Top {
	switch {
	case b.Price > t.Price:
		t.Price, t.Bids = b.Price, append(t.Bids[:0], b)
	case b.Price == t.Price:
		t.Bids = append(t.Bids, b)
	}
	return t
}

// q7Tops holds each window's best q7Top so far.
var q7Tops = operators.ValueDescriptor[q7Top]{Name: "top"}

func q7Merge(ctx *operators.KeyedContext[int64], part q7Top, _ operators.Collector[Q7Row]) error {
	state, err := operators.GetValueState(ctx, q7Tops)
	if err != nil {
		return err
	}
	top, ok := state.Value()
	switch {
	case !ok:
		ctx.RegisterEventTimer(part.End - 1)
		top = q7Top{Start: part.Start, End: part.End, Price: part.Price, Bids: append([]*Bid(nil), part.Bids...)}
	case part.Price > top.Price:
		top.Price, top.Bids = part.Price, append(top.Bids[:0], part.Bids...)
	case part.Price == top.Price:
		top.Bids = append(top.Bids, part.Bids...)
	}
	state.Update(top)
	return nil
}

func q7Fire(ctx *operators.KeyedContext[int64], t operators.Timer, out operators.Collector[Q7Row]) error {
	state, err := operators.GetValueState(ctx, q7Tops)
	if err != nil {
		return err
	}
	top, _ := state.Value()
	for _, b := range top.Bids {
		out.Collect(Q7Row{Auction: b.Auction, Price: b.Price, Bidder: b.Bidder, DateTime: b.DateTime, Extra: b.Extra}, t.Time)
	}
	state.Clear()
	return nil
}
