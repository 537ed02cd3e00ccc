package nexmark

import (
	"math"
	"strconv"
)

// Mean lengths of the extra field: about the padding that brings events
// to Nexmark's mean sizes (person 200, auction 500, bid 100 bytes).
const (
	personExtra  = 100
	auctionExtra = 300
	bidExtra     = 40
)

var (
	firstNames = []string{"Ada", "Bram", "Cleo", "Dario", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kaia"}
	lastNames  = []string{"Abe", "Brandt", "Costa", "Diaz", "Eriksen", "Fox", "Gupta", "Haas", "Ito", "Jansen"}
	// States and cities of the western United States, chosen
	// independently; q3 looks for OR, ID and CA.
	usStates = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities = []string{"Phoenix", "Sacramento", "Fresno", "Boise", "Nampa", "Portland", "Eugene", "Salem", "Seattle", "Spokane", "Casper"}
	channels = []string{"Google", "Facebook", "Baidu", "Apple"} // hot channels
)

// Precomputed strings, so that making a bid allocates only the bid.
var (
	names       = allNames()
	channelName = make([]string, 0, 104)
	channelURL  = make([]string, 0, 104)
	letters     = letterPool(4096)
)

func init() {
	channelName = append(channelName, channels...)
	for k := range 100 {
		channelName = append(channelName, "channel-"+strconv.Itoa(k))
	}
	for k, c := range channelName {
		channelURL = append(channelURL, "https://www.nexmark.com/"+c+"/item.htm?query=1&channel_id="+strconv.Itoa(k))
	}
}

func allNames() []string {
	var out []string
	for _, f := range firstNames {
		for _, l := range lastNames {
			out = append(out, f+" "+l)
		}
	}
	return out
}

// letterPool returns n pseudo-random lowercase letters, the same in every
// process.
func letterPool(n int) string {
	r := rng{s: 42}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.intn(26))
	}
	return string(b)
}

// word returns a string of 1 to maxLen letters, a slice of the pool.
func word(r *rng, maxLen int64) string {
	n := 1 + r.intn(maxLen)
	at := r.intn(int64(len(letters)) - n)
	return letters[at : at+n]
}

// extra returns padding of a random length with the given mean.
func extra(r *rng, mean int64) string {
	n := r.intn(2*mean + 1)
	at := r.intn(int64(len(letters)) - n)
	return letters[at : at+n]
}

// price returns a price in cents, log-uniform between 1 and 1 000 000
// dollars, as Nexmark's: 10^(6u) dollars, computed as e^(6u·ln 10),
// which is cheaper than math.Pow.
func price(r *rng) int64 { return int64(math.Round(math.Exp(r.float()*6*math.Ln10) * 100)) }

func (g *Generator) person(n, ts int64, r *rng) *Person {
	card := make([]byte, 0, 19)
	for i := range 4 {
		if i > 0 {
			card = append(card, ' ')
		}
		card = strconv.AppendInt(card, 1000+r.intn(9000), 10)
	}
	return &Person{
		ID:           FirstPersonID + lastPerson(n),
		Name:         names[r.intn(int64(len(names)))],
		EmailAddress: word(r, 7) + "@" + word(r, 5) + ".com",
		CreditCard:   string(card),
		City:         usCities[r.intn(int64(len(usCities)))],
		State:        usStates[r.intn(int64(len(usStates)))],
		DateTime:     ts,
		Extra:        extra(r, personExtra),
	}
}

func (g *Generator) auction(n, ts int64, r *rng) *Auction {
	initial := price(r)
	return &Auction{
		ID:          FirstAuctionID + lastAuction(n),
		ItemName:    word(r, 20),
		Description: word(r, 100),
		InitialBid:  initial,
		Reserve:     initial + price(r),
		DateTime:    ts,
		Expires:     ts + 1 + r.intn(2*g.auctionMs),
		Seller:      FirstPersonID + hotPerson(n, g.cfg.HotSellerRatio, 0, r),
		Category:    FirstCategoryID + r.intn(numCategories),
		Extra:       extra(r, auctionExtra),
	}
}

func (g *Generator) bid(n, ts int64, r *rng) *Bid {
	ch := r.intn(int64(len(channels)))
	if r.intn(2) == 0 { // half the bids come through the many other channels
		ch = int64(len(channels)) + r.intn(int64(len(channelName)-len(channels)))
	}
	return &Bid{
		Auction:  FirstAuctionID + bidAuction(n, g.cfg.HotAuctionRatio, r),
		Bidder:   FirstPersonID + hotPerson(n, g.cfg.HotBidderRatio, 1, r),
		Price:    price(r),
		Channel:  channelName[ch],
		URL:      channelURL[ch],
		DateTime: ts,
		Extra:    extra(r, bidExtra),
	}
}
