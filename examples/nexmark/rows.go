package nexmark

// Result rows of the queries, one JSON object per line each. Times are
// epoch milliseconds.

// Q0Row is a bid passed through (q0).
type Q0Row struct {
	Auction  int64  `json:"auction"`
	Bidder   int64  `json:"bidder"`
	Price    int64  `json:"price"`
	DateTime int64  `json:"dateTime"`
	Extra    string `json:"extra"`
}

// Q1Row is a bid with its price converted from dollars to euros (q1).
type Q1Row struct {
	Auction  int64   `json:"auction"`
	Bidder   int64   `json:"bidder"`
	Price    float64 `json:"price"`
	DateTime int64   `json:"dateTime"`
	Extra    string  `json:"extra"`
}

// Q2Row is a bid on one of the selected auctions (q2).
type Q2Row struct {
	Auction int64 `json:"auction"`
	Price   int64 `json:"price"`
}

// Q3Row is a seller in OR, ID or CA with an auction of category 10 (q3).
type Q3Row struct {
	Name  string `json:"name"`
	City  string `json:"city"`
	State string `json:"state"`
	ID    int64  `json:"id"` // the auction's
}

// Q5Row is an auction with the most bids of a sliding window (q5).
type Q5Row struct {
	Auction   int64 `json:"auction"`
	Num       int64 `json:"num"`
	StartTime int64 `json:"starttime"`
	EndTime   int64 `json:"endtime"`
}

// Q7Row is a bid with the highest price of its tumbling window (q7).
type Q7Row struct {
	Auction  int64  `json:"auction"`
	Price    int64  `json:"price"`
	Bidder   int64  `json:"bidder"`
	DateTime int64  `json:"dateTime"`
	Extra    string `json:"extra"`
}

// Q8Row is a person who created an auction in the tumbling window in which
// they registered (q8).
type Q8Row struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	StartTime int64  `json:"starttime"`
}

// Q11Row is a bidder's session: bids no more than the gap apart (q11).
type Q11Row struct {
	Bidder    int64 `json:"bidder"`
	BidCount  int64 `json:"bid_count"`
	StartTime int64 `json:"starttime"` // the first bid's dateTime
	EndTime   int64 `json:"endtime"`   // the last bid's dateTime + the gap
}
