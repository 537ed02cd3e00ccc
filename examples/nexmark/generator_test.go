package nexmark

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

func TestGenerator_proportionsAndIDs(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50_000
	kinds := map[Kind]int{}
	var persons, auctions int64 = FirstPersonID, FirstAuctionID // next ids expected
	hotAuction := 0
	for i, e := range g.Events(0, n) {
		kinds[e.Type]++
		switch e.Type {
		case KindPerson:
			if e.Person.ID != persons {
				t.Fatalf("event %d: person id %d, want %d", i, e.Person.ID, persons)
			}
			persons++
		case KindAuction:
			if e.Auction.ID != auctions || e.Auction.Category < 10 || e.Auction.Category > 14 || e.Auction.Seller >= persons+personLead {
				t.Fatalf("event %d: auction %+v (next id %d)", i, *e.Auction, auctions)
			}
			auctions++
		case KindBid:
			b := e.Bid
			if b.Auction >= auctions+auctionLead || b.Bidder >= persons+personLead || b.Price < 100 || b.Price > 100_000_000 {
				t.Fatalf("event %d: bid %+v refers beyond the lead or has a bad price", i, *b)
			}
			if b.Auction == (auctions-1-FirstAuctionID)/hotRatio*hotRatio+FirstAuctionID {
				hotAuction++
			}
		}
	}
	if kinds[KindPerson] != n/50 || kinds[KindAuction] != 3*n/50 || kinds[KindBid] != 46*n/50 {
		t.Errorf("kinds %v, want 1 : 3 : 46", kinds)
	}
	if share := float64(hotAuction) / float64(kinds[KindBid]); share < 0.45 || share > 0.6 {
		t.Errorf("%.2f of bids on the hot auction, want about half", share)
	}
}

func TestGenerator_timeAndDisorder(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{EventsPerSecond: 100, MaxDisorder: 3 * time.Second, BaseTime: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i, e := range g.Events(0, 5000) {
		exact := 1_000_000 + int64(i)*10
		if d := exact - e.DateTime(); d < 0 || d > 3000 {
			t.Fatalf("event %d at %d, %d ms before its time %d", i, e.DateTime(), d, exact)
		} else if d > 0 {
			moved++
		}
	}
	if moved < 4000 {
		t.Errorf("only %d events moved back", moved)
	}
}

func TestGenerator_deterministic(t *testing.T) {
	cfg := GeneratorConfig{Seed: 3}
	a, _ := NewGenerator(cfg)
	b, _ := NewGenerator(cfg)
	c, _ := NewGenerator(GeneratorConfig{Seed: 4})
	if !reflect.DeepEqual(a.Events(0, 300), b.Events(0, 300)) {
		t.Error("two generators of one config differ")
	}
	if reflect.DeepEqual(a.Events(0, 300), c.Events(0, 300)) {
		t.Error("another seed makes the same events")
	}
}

// The source makes the same set of events at any parallelism.
func TestGenerator_Source_parallelism(t *testing.T) {
	g := testGenerator(t)
	want := encodeAll(t, g.Events(0, 3000))
	for _, par := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("p%d", par), func(t *testing.T) {
			p := operators.NewPipeline("gen")
			out := operators.Collect(g.Source(p, 3000))
			p.SetParallelism(par)
			if res := testkit.NewRunner(t, testkit.WithBatchSize(128)).Run(p); res.Err != nil {
				t.Fatal(res)
			}
			equalMultisets(t, encodeAll(t, out.Values()), want)
		})
	}
}

func TestNewGenerator_badConfig(t *testing.T) {
	for _, cfg := range []GeneratorConfig{{EventsPerSecond: -1}, {MaxDisorder: -time.Second}, {MaxDisorder: time.Microsecond}, {HotBidderRatio: -2}} {
		if _, err := NewGenerator(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
