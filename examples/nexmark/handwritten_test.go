package nexmark

import (
	"container/heap"
	"fmt"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// Hand-written baselines: each query as a good engineer would write it
// for one goroutine and no engine, over the same generator, with the
// engine's semantics. Event time is dateTime; the watermark trails the
// highest dateTime seen by MaxOutOfOrderness + 1 ms (as the engine's
// bounded-out-of-orderness generator), here advanced at every event
// rather than every 200 ms of processing time; a window fires once the
// watermark reaches its last millisecond, and a record for a window that
// has fired is dropped, as the engine drops late records. Without late
// records (input at most MaxOutOfOrderness out of order) the rows are
// exactly the engine's; TestHandwritten checks that. BenchmarkNexmark
// measures the engine against them.

// handwritten runs a query over events 0 … n-1 of g, calling row for
// every output row, and returns the number of rows.
type handwritten func(g *Generator, n int64, row func(any)) int64

// handwrittens are the baselines by query name.
var handwrittens = map[string]handwritten{
	"q0":  func(g *Generator, n int64, row func(any)) int64 { return handQ0(g, n, emitAs[Q0Row](row)) },
	"q1":  func(g *Generator, n int64, row func(any)) int64 { return handQ1(g, n, emitAs[Q1Row](row)) },
	"q2":  func(g *Generator, n int64, row func(any)) int64 { return handQ2(g, n, emitAs[Q2Row](row)) },
	"q3":  func(g *Generator, n int64, row func(any)) int64 { return handQ3(g, n, emitAs[Q3Row](row)) },
	"q5":  func(g *Generator, n int64, row func(any)) int64 { return handQ5(g, n, emitAs[Q5Row](row)) },
	"q7":  func(g *Generator, n int64, row func(any)) int64 { return handQ7(g, n, emitAs[Q7Row](row)) },
	"q8":  func(g *Generator, n int64, row func(any)) int64 { return handQ8(g, n, emitAs[Q8Row](row)) },
	"q11": func(g *Generator, n int64, row func(any)) int64 { return handQ11(g, n, emitAs[Q11Row](row)) },
}

// emitAs adapts an untyped row function; nil (the benchmark's discarding
// sink) stays nil, so that the baselines only count their rows and pay no
// boxing.
func emitAs[T any](row func(any)) func(T) {
	if row == nil {
		return nil
	}
	return func(r T) { row(r) }
}

// watermarkDelay is the engine's: its generator emits max − delay − 1.
var watermarkDelay = MaxOutOfOrderness.Milliseconds() + 1

// clock is the hand-written watermark: the highest dateTime seen minus
// watermarkDelay.
type clock struct{ maxTs, wm int64 }

func newClock() clock { return clock{maxTs: operators.MinWatermark, wm: operators.MinWatermark} }

// see advances the clock past ts and reports whether the watermark moved.
func (c *clock) see(ts int64) bool {
	if ts <= c.maxTs {
		return false
	}
	c.maxTs = ts
	c.wm = ts - watermarkDelay
	return true
}

func handQ0(g *Generator, n int64, out func(Q0Row)) int64 { return handQ0Strided(g, 0, 1, n, out) }

// handQ0Strided is handQ0 on events from, from+step, … below n (one
// goroutine's share, for BenchmarkNexmarkScaling).
func handQ0Strided(g *Generator, from, step, n int64, out func(Q0Row)) (rows int64) {
	for i := from; i < n; i += step {
		if b := g.Event(i).Bid; b != nil {
			rows++
			if out != nil {
				out(Q0Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra})
			}
		}
	}
	return rows
}

func handQ1(g *Generator, n int64, out func(Q1Row)) int64 { return handQ1Strided(g, 0, 1, n, out) }

// handQ1Strided is handQ1 on events from, from+step, … below n (one
// goroutine's share, for BenchmarkNexmarkScaling).
func handQ1Strided(g *Generator, from, step, n int64, out func(Q1Row)) (rows int64) {
	for i := from; i < n; i += step {
		if b := g.Event(i).Bid; b != nil {
			rows++
			if out != nil {
				out(Q1Row{Auction: b.Auction, Bidder: b.Bidder, Price: Q1Rate * float64(b.Price), DateTime: b.DateTime, Extra: b.Extra})
			}
		}
	}
	return rows
}

func handQ2(g *Generator, n int64, out func(Q2Row)) int64 { return handQ2Strided(g, 0, 1, n, out) }

// handQ2Strided is handQ2 on events from, from+step, … below n (one
// goroutine's share, for BenchmarkNexmarkScaling).
func handQ2Strided(g *Generator, from, step, n int64, out func(Q2Row)) (rows int64) {
	for i := from; i < n; i += step {
		if b := g.Event(i).Bid; b != nil && b.Auction%Q2Modulus == 0 {
			rows++
			if out != nil {
				out(Q2Row{Auction: b.Auction, Price: b.Price})
			}
		}
	}
	return rows
}

// handQ3 is the unwindowed join: per person id, the person once known
// (if in one of q3's states) or the auctions waiting for them.
func handQ3(g *Generator, n int64, out func(Q3Row)) (rows int64) {
	type seller struct {
		person  *Person
		waiting []int64
	}
	sellers := map[int64]*seller{}
	get := func(id int64) *seller {
		s := sellers[id]
		if s == nil {
			s = &seller{}
			sellers[id] = s
		}
		return s
	}
	emit := func(p *Person, auction int64) {
		rows++
		if out != nil {
			out(Q3Row{Name: p.Name, City: p.City, State: p.State, ID: auction})
		}
	}
	for i := range n {
		switch e := g.Event(i); {
		case e.Auction != nil && e.Auction.Category == Q3Category:
			s := get(e.Auction.Seller)
			if s.person != nil {
				emit(s.person, e.Auction.ID)
			} else {
				s.waiting = append(s.waiting, e.Auction.ID)
			}
		case e.Person != nil && q3State(e.Person.State):
			s := get(e.Person.ID)
			for _, a := range s.waiting {
				emit(e.Person, a)
			}
			s.person, s.waiting = e.Person, nil
		}
	}
	return rows
}

// windowRing holds the open windows of a sliding (tumbling: slide = size)
// assigner, oldest first, one per slide step with no gaps between them,
// each with its state S. Fired windows' states are reset and reused.
type windowRing[S any] struct {
	size, slide int64
	first       int64 // the start of wins[0]
	wins        []*S
	free        []*S
	reset       func(*S)
	newS        func() *S
}

func newWindowRing[S any](size, slide int64, newS func() *S, reset func(*S)) *windowRing[S] {
	return &windowRing[S]{size: size, slide: slide, newS: newS, reset: reset}
}

func (r *windowRing[S]) alloc() *S {
	if k := len(r.free); k > 0 {
		s := r.free[k-1]
		r.free = r.free[:k-1]
		return s
	}
	return r.newS()
}

// at returns the state of the window starting at start, opening it (and
// any between it and the open ones) if needed; nil if it is late (has
// fired by wm).
func (r *windowRing[S]) at(start, wm int64) *S {
	if start+r.size-1 <= wm {
		return nil
	}
	if len(r.wins) == 0 {
		r.first = start
	}
	if start < r.first { // an earlier window, out of order: open it in front
		k := int((r.first - start) / r.slide)
		front := make([]*S, k, k+len(r.wins))
		for i := range front {
			front[i] = r.alloc()
		}
		r.wins, r.first = append(front, r.wins...), start
	}
	i := int((start - r.first) / r.slide)
	for len(r.wins) <= i {
		r.wins = append(r.wins, r.alloc())
	}
	return r.wins[i]
}

// fire calls fn for each open window that ends by wm + 1, oldest first,
// and retires it.
func (r *windowRing[S]) fire(wm int64, fn func(start int64, s *S)) {
	for len(r.wins) > 0 && r.first+r.size-1 <= wm {
		s := r.wins[0]
		fn(r.first, s)
		r.reset(s)
		r.free = append(r.free, s)
		r.wins[0] = nil
		r.wins = r.wins[1:]
		r.first += r.slide
	}
}

// handQ5 counts each auction's bids in every open sliding window (a map
// per window) and, when a window fires, reports the auctions with the
// highest count.
func handQ5(g *Generator, n int64, out func(Q5Row)) (rows int64) {
	size, slide := Q5Size.Milliseconds(), Q5Slide.Milliseconds()
	ring := newWindowRing(size, slide,
		func() *map[int64]int64 { m := map[int64]int64{}; return &m },
		func(m *map[int64]int64) { clear(*m) })
	fire := func(start int64, counts *map[int64]int64) {
		var best int64
		for _, c := range *counts {
			best = max(best, c)
		}
		for a, c := range *counts {
			if c == best {
				rows++
				if out != nil {
					out(Q5Row{Auction: a, Num: c, StartTime: start, EndTime: start + size})
				}
			}
		}
	}
	c := newClock()
	for i := range n {
		e := g.Event(i)
		if b := e.Bid; b != nil {
			ts := b.DateTime
			for start := floorTo(ts, slide); start > ts-size; start -= slide {
				if counts := ring.at(start, c.wm); counts != nil {
					(*counts)[b.Auction]++
				}
			}
		}
		if c.see(e.DateTime()) {
			ring.fire(c.wm, fire)
		}
	}
	ring.fire(operators.MaxWatermark, fire)
	return rows
}

// q7Best is a window's highest price so far and its bids.
type q7Best struct {
	price int64
	bids  []*Bid
}

// handQ7 keeps, per tumbling window, the highest price and its bids, and
// reports them when the window fires.
func handQ7(g *Generator, n int64, out func(Q7Row)) (rows int64) {
	size := Q7Size.Milliseconds()
	ring := newWindowRing(size, size,
		func() *q7Best { return &q7Best{price: -1} },
		func(w *q7Best) { w.price, w.bids = -1, w.bids[:0] })
	fire := func(_ int64, w *q7Best) {
		for _, b := range w.bids {
			rows++
			if out != nil {
				out(Q7Row{Auction: b.Auction, Price: b.Price, Bidder: b.Bidder, DateTime: b.DateTime, Extra: b.Extra})
			}
		}
	}
	c := newClock()
	for i := range n {
		e := g.Event(i)
		if b := e.Bid; b != nil {
			if w := ring.at(floorTo(b.DateTime, size), c.wm); w != nil {
				switch {
				case b.Price > w.price:
					w.price, w.bids = b.Price, append(w.bids[:0], b)
				case b.Price == w.price:
					w.bids = append(w.bids, b)
				}
			}
		}
		if c.see(e.DateTime()) {
			ring.fire(c.wm, fire)
		}
	}
	ring.fire(operators.MaxWatermark, fire)
	return rows
}

// handQ8 keeps, per tumbling window and person id, the person (if they
// registered in it) and whether they sold in it, and reports the persons
// who did both when the window fires.
func handQ8(g *Generator, n int64, out func(Q8Row)) (rows int64) {
	size := Q8Size.Milliseconds()
	ring := newWindowRing(size, size,
		func() *map[int64]q8Side { m := map[int64]q8Side{}; return &m },
		func(m *map[int64]q8Side) { clear(*m) })
	fire := func(start int64, sides *map[int64]q8Side) {
		for _, s := range *sides {
			if s.Person != nil && s.Sold {
				rows++
				if out != nil {
					out(Q8Row{ID: s.Person.ID, Name: s.Person.Name, StartTime: start})
				}
			}
		}
	}
	c := newClock()
	for i := range n {
		e := g.Event(i)
		var id, ts int64
		switch {
		case e.Person != nil:
			id, ts = e.Person.ID, e.Person.DateTime
		case e.Auction != nil:
			id, ts = e.Auction.Seller, e.Auction.DateTime
		default:
			ts = e.Bid.DateTime // bids only move the watermark
		}
		if e.Bid == nil {
			if m := ring.at(floorTo(ts, size), c.wm); m != nil {
				(*m)[id] = (*m)[id].add(e)
			}
		}
		if c.see(ts) {
			ring.fire(c.wm, fire)
		}
	}
	ring.fire(operators.MaxWatermark, fire)
	return rows
}

// q11Session is one session of a bidder: [start, end) and its bids.
type q11Session struct{ start, end, count int64 }

// q11Bidder is a bidder's open sessions (disjoint; more than one only
// with out-of-order bids) and the end time of their entry in the queue of
// sessions to fire (0: none).
type q11Bidder struct {
	sessions []q11Session
	queued   int64
}

// q11Due is an entry of the queue: a bidder with a session ending at end.
type q11Due struct{ end, bidder int64 }

// q11Queue is a min-heap of due entries by end time.
type q11Queue []q11Due

func (q q11Queue) Len() int           { return len(q) }
func (q q11Queue) Less(i, j int) bool { return q[i].end < q[j].end }
func (q q11Queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *q11Queue) Push(x any)        { *q = append(*q, x.(q11Due)) }
func (q *q11Queue) Pop() any {
	old := *q
	d := old[len(old)-1]
	*q = old[:len(old)-1]
	return d
}

// handQ11 keeps each bidder's sessions, merging a bid's [ts, ts+gap) with
// those it touches, and reports a session once the watermark passes its
// end. A bidder has one entry in a queue ordered by end time, for its
// earliest session as it was when queued: sessions only grow, so when an
// entry comes due the bidder's sessions are checked and the entry moved
// to the earliest end still open. A session thus costs a queue operation
// about once per gap, not once per bid.
func handQ11(g *Generator, n int64, out func(Q11Row)) (rows int64) {
	gap := Q11Gap.Milliseconds()
	bidders := map[int64]*q11Bidder{}
	var queue q11Queue
	c := newClock()
	fire := func() {
		for len(queue) > 0 && queue[0].end-1 <= c.wm {
			due := heap.Pop(&queue).(q11Due)
			bd := bidders[due.bidder]
			if bd == nil || bd.queued != due.end {
				continue // superseded by an earlier entry
			}
			open, next := bd.sessions[:0], int64(0)
			for _, s := range bd.sessions {
				if s.end-1 > c.wm {
					open = append(open, s)
					if next == 0 || s.end < next {
						next = s.end
					}
					continue
				}
				rows++
				if out != nil {
					out(Q11Row{Bidder: due.bidder, BidCount: s.count, StartTime: s.start, EndTime: s.end})
				}
			}
			if bd.sessions, bd.queued = open, next; next == 0 {
				delete(bidders, due.bidder)
			} else {
				heap.Push(&queue, q11Due{end: next, bidder: due.bidder})
			}
		}
	}
	for i := range n {
		e := g.Event(i)
		if b := e.Bid; b != nil {
			addQ11(bidders, &queue, b, gap, c.wm)
		}
		if c.see(e.DateTime()) {
			fire()
		}
	}
	c.wm = operators.MaxWatermark
	fire()
	return rows
}

// addQ11 merges a bid into its bidder's sessions, dropping it if late.
func addQ11(bidders map[int64]*q11Bidder, queue *q11Queue, b *Bid, gap, wm int64) {
	bd := bidders[b.Bidder]
	if bd == nil {
		bd = &q11Bidder{}
		bidders[b.Bidder] = bd
	}
	merged := q11Session{start: b.DateTime, end: b.DateTime + gap, count: 1}
	kept := bd.sessions[:0]
	for _, s := range bd.sessions {
		if s.start <= merged.end && merged.start <= s.end { // touching windows merge
			merged = q11Session{start: min(s.start, merged.start), end: max(s.end, merged.end), count: s.count + merged.count}
		} else {
			kept = append(kept, s)
		}
	}
	if merged.end-1 > wm { // else late: nothing open to merge with
		bd.sessions = append(kept, merged)
		if bd.queued == 0 || merged.end < bd.queued {
			bd.queued = merged.end
			heap.Push(queue, q11Due{end: merged.end, bidder: b.Bidder})
		}
	} else if len(bd.sessions) == 0 {
		delete(bidders, b.Bidder)
	}
}

// TestHandwritten checks each baseline against the engine's rows, as
// multisets, at parallelism 1 and 2: over the test events (out of order by
// up to 3 s, spread over four minutes of event time) and over the
// benchmark's configuration (the default generator, in order).
func TestHandwritten(t *testing.T) {
	gens := map[string]*Generator{"disorder": testGenerator(t), "default": testGeneratorOf(t, GeneratorConfig{})}
	for _, name := range []string{"disorder", "default"} {
		g := gens[name]
		t.Run(name, func(t *testing.T) {
			t.Run("q0", func(t *testing.T) { checkHandwritten(t, g, Q0, handQ0) })
			t.Run("q1", func(t *testing.T) { checkHandwritten(t, g, Q1, handQ1) })
			t.Run("q2", func(t *testing.T) { checkHandwritten(t, g, Q2, handQ2) })
			t.Run("q3", func(t *testing.T) { checkHandwritten(t, g, Q3, handQ3) })
			t.Run("q5", func(t *testing.T) { checkHandwritten(t, g, Q5, handQ5) })
			t.Run("q7", func(t *testing.T) { checkHandwritten(t, g, Q7, handQ7) })
			t.Run("q8", func(t *testing.T) { checkHandwritten(t, g, Q8, handQ8) })
			t.Run("q11", func(t *testing.T) { checkHandwritten(t, g, Q11, handQ11) })
		})
	}
}

// handwrittenEvents is how many events TestHandwritten runs: with the
// default generator, 4 s of event time, so that windows of 10 s are
// cut off by the end of input too.
const handwrittenEvents = 40_000

func checkHandwritten[T comparable](t *testing.T, g *Generator, query func(operators.Stream[Event]) operators.Stream[T],
	hand func(*Generator, int64, func(T)) int64) {
	var rows []T
	n := hand(g, handwrittenEvents, func(r T) { rows = append(rows, r) })
	if int(n) != len(rows) || len(rows) == 0 {
		t.Fatalf("the baseline counted %d rows and emitted %d: the test would prove nothing", n, len(rows))
	}
	if counted := hand(g, handwrittenEvents, nil); counted != n {
		t.Fatalf("the baseline counts %d rows without a sink, %d with one", counted, n)
	}
	for _, par := range []int{1, 2} {
		t.Run(fmt.Sprintf("p%d", par), func(t *testing.T) {
			equalMultisets(t, rows, runQueryN(t, g, par, handwrittenEvents, query))
		})
	}
}
