package nexmark_test

import (
	"fmt"

	"github.com/troupe-dev/troupe/examples/nexmark"
)

// Event numbers decide the kind and the id of each event, whatever the
// parallelism of the source.
func ExampleGenerator_Event() {
	g, err := nexmark.NewGenerator(nexmark.GeneratorConfig{EventsPerSecond: 1000})
	if err != nil {
		panic(err)
	}
	for _, n := range []int64{0, 1, 3, 4, 50} {
		e := g.Event(n)
		switch e.Type {
		case nexmark.KindPerson:
			fmt.Println(n, e.Type, "id", e.Person.ID, "at +", e.DateTime()-g.Config().BaseTime, "ms")
		case nexmark.KindAuction:
			fmt.Println(n, e.Type, "id", e.Auction.ID, "at +", e.DateTime()-g.Config().BaseTime, "ms")
		case nexmark.KindBid:
			fmt.Println(n, e.Type, "at +", e.DateTime()-g.Config().BaseTime, "ms")
		}
	}
	// Output:
	// 0 person id 1000 at + 0 ms
	// 1 auction id 1000 at + 1 ms
	// 3 auction id 1002 at + 3 ms
	// 4 bid at + 4 ms
	// 50 person id 1001 at + 50 ms
}
