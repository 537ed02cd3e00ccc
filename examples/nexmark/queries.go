package nexmark

import (
	"github.com/troupe-dev/troupe/operators"
)

// Q1Rate converts q1's prices from dollars to euros.
const Q1Rate = 0.908

// Q2Modulus selects q2's auctions: those whose id it divides.
const Q2Modulus = 123

// Q3Category selects q3's auctions; q3State its sellers.
const Q3Category = 10

// q3State reports whether q3 selects sellers of state s.
func q3State(s string) bool { return s == "OR" || s == "ID" || s == "CA" }

// Q0 passes every bid through (a measure of the engine's own cost).
func Q0(events operators.Stream[Event]) operators.Stream[Q0Row] {
	return operators.FlatMap(events, func(e Event, emit func(Q0Row)) {
		if b := e.Bid; b != nil {
			emit(Q0Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra})
		}
	}).Name("q0")
}

// Q1 converts every bid's price to euros.
func Q1(events operators.Stream[Event]) operators.Stream[Q1Row] {
	return operators.FlatMap(events, func(e Event, emit func(Q1Row)) {
		if b := e.Bid; b != nil {
			emit(Q1Row{Auction: b.Auction, Bidder: b.Bidder, Price: Q1Rate * float64(b.Price), DateTime: b.DateTime, Extra: b.Extra})
		}
	}).Name("q1")
}

// Q2 selects the bids on auctions whose id Q2Modulus divides.
func Q2(events operators.Stream[Event]) operators.Stream[Q2Row] {
	return operators.FlatMap(events, func(e Event, emit func(Q2Row)) {
		if b := e.Bid; b != nil && b.Auction%Q2Modulus == 0 {
			emit(Q2Row{Auction: b.Auction, Price: b.Price})
		}
	}).Name("q2")
}

// Q3 joins the auctions of category Q3Category with their sellers, when
// they live in OR, ID or CA: a regular (unwindowed) join keyed by person
// id, in which whichever side comes first waits for the other in keyed
// state.
func Q3(events operators.Stream[Event]) operators.Stream[Q3Row] {
	auctions := operators.Filter(events, func(e Event) bool {
		return e.Auction != nil && e.Auction.Category == Q3Category
	}).Name("q3-auctions")
	persons := operators.Filter(events, func(e Event) bool {
		return e.Person != nil && q3State(e.Person.State)
	}).Name("q3-persons")
	return operators.ProcessConnected(
		operators.KeyBy(auctions, func(e Event) int64 { return e.Auction.Seller }),
		operators.KeyBy(persons, func(e Event) int64 { return e.Person.ID }),
		operators.CoProcessFuncs[Event, Event, int64, Q3Row]{Process1: q3Auction, Process2: q3Person},
	).Name("q3-join")
}

// q3Seller is q3's state per person id: the person once known, and until
// then the ids of the auctions waiting for them.
type q3Seller struct {
	Person  *Person `json:"person,omitempty"`
	Waiting []int64 `json:"waiting,omitempty"`
}

// q3Sellers holds each person id's q3Seller, shared by both inputs.
var q3Sellers = operators.ValueDescriptor[q3Seller]{Name: "seller"}

func q3Auction(ctx *operators.KeyedContext[int64], e Event, out operators.Collector[Q3Row]) error {
	state, err := operators.GetValueState(ctx, q3Sellers)
	if err != nil {
		return err
	}
	s, _ := state.Value()
	if s.Person != nil {
		out.Collect(q3Row(s.Person, e.Auction.ID), ctx.Timestamp())
		return nil
	}
	s.Waiting = append(s.Waiting, e.Auction.ID)
	state.Update(s)
	return nil
}

func q3Person(ctx *operators.KeyedContext[int64], e Event, out operators.Collector[Q3Row]) error {
	state, err := operators.GetValueState(ctx, q3Sellers)
	if err != nil {
		return err
	}
	s, _ := state.Value()
	for _, id := range s.Waiting {
		out.Collect(q3Row(e.Person, id), ctx.Timestamp())
	}
	state.Update(q3Seller{Person: e.Person})
	return nil
}

func q3Row(p *Person, auction int64) Q3Row {
	return Q3Row{Name: p.Name, City: p.City, State: p.State, ID: auction}
}
