package nexmark

import (
	"encoding/json"
	"fmt"

	"github.com/troupe-dev/troupe/operators"
)

// MarshalJSON writes the event in the Nexmark JSON-lines format: "type"
// followed by the fields of the person, auction or bid.
func (e Event) MarshalJSON() ([]byte, error) {
	switch {
	case e.Type == KindPerson && e.Person != nil:
		return json.Marshal(struct {
			Type string `json:"type"`
			*Person
		}{"person", e.Person})
	case e.Type == KindAuction && e.Auction != nil:
		return json.Marshal(struct {
			Type string `json:"type"`
			*Auction
		}{"auction", e.Auction})
	case e.Type == KindBid && e.Bid != nil:
		return json.Marshal(struct {
			Type string `json:"type"`
			*Bid
		}{"bid", e.Bid})
	}
	return nil, fmt.Errorf("%w: event of type %v without its %[2]v", ErrEvent, e.Type)
}

// wireEvent is the union of the three formats, so that a line decodes in
// one pass; fields that two kinds share (id, dateTime, extra) appear once.
type wireEvent struct {
	Type         string `json:"type"`
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	EmailAddress string `json:"emailAddress"`
	CreditCard   string `json:"creditCard"`
	City         string `json:"city"`
	State        string `json:"state"`
	ItemName     string `json:"itemName"`
	Description  string `json:"description"`
	InitialBid   int64  `json:"initialBid"`
	Reserve      int64  `json:"reserve"`
	Expires      int64  `json:"expires"`
	Seller       int64  `json:"seller"`
	Category     int64  `json:"category"`
	Auction      int64  `json:"auction"`
	Bidder       int64  `json:"bidder"`
	Price        int64  `json:"price"`
	Channel      string `json:"channel"`
	URL          string `json:"url"`
	DateTime     int64  `json:"dateTime"`
	Extra        string `json:"extra"`
}

// UnmarshalJSON reads an event of the Nexmark JSON-lines format. A
// missing or unknown "type" is an error wrapping ErrEvent; fields that
// the type does not have are ignored, missing ones are zero.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	switch w.Type {
	case "person":
		*e = PersonEvent(&Person{ID: w.ID, Name: w.Name, EmailAddress: w.EmailAddress, CreditCard: w.CreditCard,
			City: w.City, State: w.State, DateTime: w.DateTime, Extra: w.Extra})
	case "auction":
		*e = AuctionEvent(&Auction{ID: w.ID, ItemName: w.ItemName, Description: w.Description, InitialBid: w.InitialBid,
			Reserve: w.Reserve, DateTime: w.DateTime, Expires: w.Expires, Seller: w.Seller, Category: w.Category, Extra: w.Extra})
	case "bid":
		*e = BidEvent(&Bid{Auction: w.Auction, Bidder: w.Bidder, Price: w.Price, Channel: w.Channel, URL: w.URL,
			DateTime: w.DateTime, Extra: w.Extra})
	case "":
		return fmt.Errorf("%w: no \"type\" field", ErrEvent)
	default:
		return fmt.Errorf("%w: unknown type %q (want person, auction or bid)", ErrEvent, w.Type)
	}
	return nil
}

// ReadEvents adds a bounded source of the events of a JSON-lines file, one
// event per line, split over the source subtasks by bytes as
// operators.ReadJSONLines does. A line that is not an event fails the job
// with an error wrapping operators.ErrDecode that names the file and the
// line number (the events before it have been emitted).
func ReadEvents(p *operators.Pipeline, path string, opts ...operators.SourceOption) operators.Stream[Event] {
	return operators.ReadJSONLines[Event](p, path, opts...)
}
