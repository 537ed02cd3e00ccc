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
	side := operators.Aggregate(func() q8Side { return q8Side{} }, q8Side.add, nil, func(s q8Side) q8Side { return s })
	joined := operators.AggregateWindowWith(operators.Window(byPerson, tumbling), side,
		func(ctx *operators.WindowContext[int64], s q8Side, out operators.Collector[q8Match]) error {
			if s.Person == nil || !s.Sold {
				out.Collect(q8Match{}, 0)
				return nil
			}
			out.Collect(q8Match{OK: true, Row: Q8Row{ID: s.Person.ID, Name: s.Person.Name, StartTime: ctx.Window().Start}}, 0)
			return nil
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
	return operators.AggregateWindowWith(operators.Window(byBidder, sessions), countBids,
		func(ctx *operators.WindowContext[int64], n int64, out operators.Collector[Q11Row]) error {
			w := ctx.Window()
			out.Collect(Q11Row{Bidder: ctx.Key(), BidCount: n, StartTime: w.Start, EndTime: w.End}, 0)
			return nil
		}).Name("q11")
}
