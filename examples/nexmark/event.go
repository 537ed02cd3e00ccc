package nexmark

import "fmt"

// Kind says which of the three Nexmark events an Event holds.
type Kind uint8

// The kinds of events, as the "type" field of the JSON format names them.
const (
	KindPerson  Kind = iota + 1 // "person"
	KindAuction                 // "auction"
	KindBid                     // "bid"
)

var kindNames = [...]string{KindPerson: "person", KindAuction: "auction", KindBid: "bid"}

// String returns the kind's name in the JSON format.
func (k Kind) String() string {
	if k >= KindPerson && k <= KindBid {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Person is a user who registers to sell or bid.
type Person struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	EmailAddress string `json:"emailAddress"`
	CreditCard   string `json:"creditCard"`
	City         string `json:"city"`
	State        string `json:"state"`
	DateTime     int64  `json:"dateTime"` // epoch ms
	Extra        string `json:"extra"`
}

// Auction is an item put up for sale by a seller (a person id).
type Auction struct {
	ID          int64  `json:"id"`
	ItemName    string `json:"itemName"`
	Description string `json:"description"`
	InitialBid  int64  `json:"initialBid"`
	Reserve     int64  `json:"reserve"`
	DateTime    int64  `json:"dateTime"` // epoch ms
	Expires     int64  `json:"expires"`  // epoch ms
	Seller      int64  `json:"seller"`
	Category    int64  `json:"category"`
	Extra       string `json:"extra"`
}

// Bid is a bid by a person (bidder) on an auction; prices are in cents.
type Bid struct {
	Auction  int64  `json:"auction"`
	Bidder   int64  `json:"bidder"`
	Price    int64  `json:"price"`
	Channel  string `json:"channel"`
	URL      string `json:"url"`
	DateTime int64  `json:"dateTime"` // epoch ms
	Extra    string `json:"extra"`
}

// Event is one Nexmark event: exactly the field that Type names is set.
// Events are shared between operators once emitted and must not be
// mutated. In JSON it is the fields of that event plus "type".
type Event struct {
	Type    Kind
	Person  *Person
	Auction *Auction
	Bid     *Bid
}

// PersonEvent wraps a person.
func PersonEvent(p *Person) Event { return Event{Type: KindPerson, Person: p} }

// AuctionEvent wraps an auction.
func AuctionEvent(a *Auction) Event { return Event{Type: KindAuction, Auction: a} }

// BidEvent wraps a bid.
func BidEvent(b *Bid) Event { return Event{Type: KindBid, Bid: b} }

// DateTime returns the event's time in epoch milliseconds: its event
// time. A malformed event (no field set) gives 0.
func (e Event) DateTime() int64 {
	switch {
	case e.Type == KindBid && e.Bid != nil:
		return e.Bid.DateTime
	case e.Type == KindAuction && e.Auction != nil:
		return e.Auction.DateTime
	case e.Type == KindPerson && e.Person != nil:
		return e.Person.DateTime
	}
	return 0
}
