package nexmark

import (
	"encoding/json"
	"fmt"
	"slices"
)

// The reference answers: each query computed directly over the whole
// slice of events, with no engine, windows worked out by arithmetic. They
// are meant to be obviously right, not fast.

func refBids(evs []Event) []*Bid {
	var out []*Bid
	for _, e := range evs {
		if e.Type == KindBid {
			out = append(out, e.Bid)
		}
	}
	return out
}

func refQ0(evs []Event) []Q0Row {
	var rows []Q0Row
	for _, b := range refBids(evs) {
		rows = append(rows, Q0Row{b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra})
	}
	return rows
}

func refQ1(evs []Event) []Q1Row {
	var rows []Q1Row
	for _, b := range refBids(evs) {
		rows = append(rows, Q1Row{b.Auction, b.Bidder, 0.908 * float64(b.Price), b.DateTime, b.Extra})
	}
	return rows
}

func refQ2(evs []Event) []Q2Row {
	var rows []Q2Row
	for _, b := range refBids(evs) {
		if b.Auction%123 == 0 {
			rows = append(rows, Q2Row{b.Auction, b.Price})
		}
	}
	return rows
}

func refQ3(evs []Event) []Q3Row {
	var rows []Q3Row
	for _, a := range evs {
		if a.Type != KindAuction || a.Auction.Category != 10 {
			continue
		}
		for _, p := range evs {
			if p.Type == KindPerson && p.Person.ID == a.Auction.Seller && slices.Contains([]string{"OR", "ID", "CA"}, p.Person.State) {
				rows = append(rows, Q3Row{p.Person.Name, p.Person.City, p.Person.State, a.Auction.ID})
			}
		}
	}
	return rows
}

// floorTo returns the start of the window of the given size holding ts.
func floorTo(ts, size int64) int64 { return ts - ((ts%size)+size)%size }

func refQ5(evs []Event) []Q5Row {
	type cell struct{ start, auction int64 }
	counts := map[cell]int64{}
	for _, b := range refBids(evs) {
		for start := floorTo(b.DateTime, 2000); start > b.DateTime-10000; start -= 2000 {
			counts[cell{start, b.Auction}]++
		}
	}
	best := map[int64]int64{}
	for c, n := range counts {
		best[c.start] = max(best[c.start], n)
	}
	var rows []Q5Row
	for c, n := range counts {
		if n == best[c.start] {
			rows = append(rows, Q5Row{c.auction, n, c.start, c.start + 10000})
		}
	}
	return rows
}

func refQ7(evs []Event) []Q7Row {
	best := map[int64]int64{}
	bids := refBids(evs)
	for _, b := range bids {
		w := floorTo(b.DateTime, 10000)
		best[w] = max(best[w], b.Price)
	}
	var rows []Q7Row
	for _, b := range bids {
		if b.Price == best[floorTo(b.DateTime, 10000)] {
			rows = append(rows, Q7Row{b.Auction, b.Price, b.Bidder, b.DateTime, b.Extra})
		}
	}
	return rows
}

func refQ8(evs []Event) []Q8Row {
	type sale struct{ seller, window int64 }
	sold := map[sale]bool{}
	for _, e := range evs {
		if e.Type == KindAuction {
			sold[sale{e.Auction.Seller, floorTo(e.Auction.DateTime, 10000)}] = true
		}
	}
	var rows []Q8Row
	for _, e := range evs {
		if e.Type == KindPerson && sold[sale{e.Person.ID, floorTo(e.Person.DateTime, 10000)}] {
			rows = append(rows, Q8Row{e.Person.ID, e.Person.Name, floorTo(e.Person.DateTime, 10000)})
		}
	}
	return rows
}

func refQ11(evs []Event) []Q11Row {
	times := map[int64][]int64{}
	for _, b := range refBids(evs) {
		times[b.Bidder] = append(times[b.Bidder], b.DateTime)
	}
	var rows []Q11Row
	for bidder, ts := range times {
		slices.Sort(ts)
		first := 0
		for i := 1; i <= len(ts); i++ {
			if i == len(ts) || ts[i]-ts[i-1] > 10000 { // a gap longer than 10 s ends a session
				rows = append(rows, Q11Row{bidder, int64(i - first), ts[first], ts[i-1] + 10000})
				first = i
			}
		}
	}
	return rows
}

// ReferenceRows computes a query's answer over evs with no engine (plain
// Go, windows worked out by arithmetic) and returns its rows as the JSON
// lines the nexmark pipeline writes, in no particular order: compare them
// with a job's output as a multiset. Tests of clusters and of restores use
// it to check a job's whole output.
func ReferenceRows(query string, evs []Event) ([]string, error) {
	var rows []any
	switch query {
	case "q0":
		rows = anys(refQ0(evs))
	case "q1":
		rows = anys(refQ1(evs))
	case "q2":
		rows = anys(refQ2(evs))
	case "q3":
		rows = anys(refQ3(evs))
	case "q5":
		rows = anys(refQ5(evs))
	case "q7":
		rows = anys(refQ7(evs))
	case "q8":
		rows = anys(refQ8(evs))
	case "q11":
		rows = anys(refQ11(evs))
	default:
		return nil, fmt.Errorf("%w: unknown query %q", ErrConfig, query)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

func anys[T any](rows []T) []any {
	out := make([]any, len(rows))
	for i := range rows {
		out[i] = rows[i]
	}
	return out
}
