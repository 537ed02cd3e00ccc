package nexmark

import (
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
)

// Q8 finds the persons who created an auction, as seller, in the tumbling
// window of Q8Size in which they registered: a window join of persons and
// auctions on person id = seller. Since a person registers once, each
// window of a person id needs only the person and whether an auction came,
// so the join aggregates instead of keeping every auction.
func Q8(events operators.Stream[Event]) operators.Stream[Q8Row] {
	sides := operators.Filter(events, func(e Event) bool { return e.Person != nil || e.Auction != nil }).Name("q8-sides")
	byPerson := operators.KeyBy(sides, func(e Event) int64 {
		if e.Person != nil {
			return e.Person.ID
		}
		return e.Auction.Seller
	})
	tumbling := window.Tumbling(Q8Size)
	joined := operators.AggregateWindow(operators.Window(byPerson, tumbling), operators.WindowAggregate[Event, int64, q8Side, q8Match]{
		Create: func() q8Side { return q8Side{} },
		Add:    q8Side.add,
		Result: func(ctx *operators.WindowContext[int64], s q8Side) q8Match {
			if s.Person == nil || !s.Sold {
				return q8Match{}
			}
			return q8Match{OK: true, Row: Q8Row{ID: s.Person.ID, Name: s.Person.Name, StartTime: ctx.Window().Start}}
		},
	}).Name("q8-join")
	return operators.FlatMap(joined, func(m q8Match, emit func(Q8Row)) {
		if m.OK {
			emit(m.Row)
		}
	}).Name("q8")
}

// q8Side is what q8 keeps of a person id's window: the person, if they
// registered in it, and whether they sold in it.
type q8Side struct {
	Person *Person `json:"person,omitempty"`
	Sold   bool    `json:"sold,omitempty"`
}

func (s q8Side) add(e Event) q8Side {
	if e.Person != nil {
		s.Person = e.Person
	} else {
		s.Sold = true
	}
	return s
}

// q8Match is a window's join result; OK false means no row.
type q8Match struct {
	Row Q8Row
	OK  bool
}

// Q11 counts each bidder's bids per session: bids at most Q11Gap apart
// belong to one session, which runs from the first bid to the last bid
// plus Q11Gap — exactly the bounds of the merged session window.
func Q11(events operators.Stream[Event]) operators.Stream[Q11Row] {
	byBidder := operators.KeyBy(bids(events), func(b *Bid) int64 { return b.Bidder })
	sessions := window.Session(Q11Gap)
	return operators.AggregateWindow(operators.Window(byBidder, sessions), operators.WindowAggregate[*Bid, int64, int64, Q11Row]{
		Create: func() int64 { return 0 },
		Add:    func(n int64, _ *Bid) int64 { return n + 1 },
		Merge:  func(a, b int64) int64 { return a + b },
		Result: func(ctx *operators.WindowContext[int64], n int64) Q11Row {
			w := ctx.Window()
			return Q11Row{Bidder: ctx.Key(), BidCount: n, StartTime: w.Start, EndTime: w.End}
		},
	}).Name("q11")
}
