package nexmark

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// testEvents is how many events each query test generates, with up to
// testDisorder of out-of-orderness (below MaxOutOfOrderness, so that no
// record is late and the engine must match the reference exactly).
const (
	testEvents   = 12000
	testDisorder = 3 * time.Second
)

// testGenerator makes events slowly in event time (50 per second), so
// that a few thousand span many windows and sessions end.
func testGenerator(t testing.TB) *Generator {
	return testGeneratorOf(t, GeneratorConfig{Seed: 7, EventsPerSecond: 50, MaxDisorder: testDisorder})
}

func testGeneratorOf(t testing.TB, cfg GeneratorConfig) *Generator {
	t.Helper()
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// runQuery runs query over the test events at the given parallelism and
// returns its rows.
func runQuery[T any](t *testing.T, g *Generator, parallelism int, query func(operators.Stream[Event]) operators.Stream[T]) []T {
	t.Helper()
	return runQueryN(t, g, parallelism, testEvents, query)
}

// runQueryN is runQuery over the first n events.
func runQueryN[T any](t *testing.T, g *Generator, parallelism int, n int64, query func(operators.Stream[Event]) operators.Stream[T]) []T {
	t.Helper()
	p := operators.NewPipeline("nexmark-test")
	out := operators.Collect(query(WithEventTime(g.Source(p, n))))
	p.SetParallelism(parallelism)
	r := testkit.NewRunner(t, testkit.WithBatchSize(128), testkit.WithRunTimeout(time.Minute))
	if res := r.Run(p); res.Err != nil {
		t.Fatal(res)
	}
	return out.Values()
}

// checkQuery runs a query at parallelism 1 and 4 and compares its rows
// with the reference's as multisets.
func checkQuery[T comparable](t *testing.T, query func(operators.Stream[Event]) operators.Stream[T], ref func([]Event) []T) {
	checkQueryOn(t, testGenerator(t), query, ref)
}

// checkQueryOn is checkQuery on the events of g.
func checkQueryOn[T comparable](t *testing.T, g *Generator, query func(operators.Stream[Event]) operators.Stream[T], ref func([]Event) []T) {
	want := ref(g.Events(0, testEvents))
	if len(want) == 0 {
		t.Fatal("the reference has no rows: the test would prove nothing")
	}
	for _, par := range []int{1, 4} {
		t.Run(fmt.Sprintf("p%d", par), func(t *testing.T) {
			equalMultisets(t, runQuery(t, g, par, query), want)
		})
	}
}

// equalMultisets fails the test unless got and want hold the same rows
// the same number of times, showing a few differences.
func equalMultisets[T comparable](t testing.TB, got, want []T) {
	t.Helper()
	diff := map[T]int{}
	for _, r := range got {
		diff[r]++
	}
	for _, r := range want {
		diff[r]--
	}
	shown := 0
	for r, n := range diff {
		if n == 0 {
			continue
		}
		if shown++; shown <= 5 {
			t.Errorf("row %+v: %+d times more than the reference", r, n)
		}
	}
	if shown > 0 {
		t.Fatalf("%d rows differ (got %d rows, want %d)", shown, len(got), len(want))
	}
}

func TestQ0(t *testing.T) { checkQuery(t, Q0, refQ0) }
func TestQ1(t *testing.T) { checkQuery(t, Q1, refQ1) }
func TestQ2(t *testing.T) { checkQuery(t, Q2, refQ2) }

// Some auctions come before their seller registers, so both sides of
// q3's join must wait.
func TestQ3(t *testing.T) {
	early := 0
	registered := map[int64]bool{}
	for _, e := range testGenerator(t).Events(0, testEvents) {
		switch e.Type {
		case KindPerson:
			registered[e.Person.ID] = true
		case KindAuction:
			if e.Auction.Category == Q3Category && !registered[e.Auction.Seller] {
				early++
			}
		}
	}
	if early == 0 {
		t.Fatal("no auction precedes its seller")
	}
	checkQuery(t, Q3, refQ3)
}
func TestQ5(t *testing.T) { checkQuery(t, Q5, refQ5) }
func TestQ7(t *testing.T) { checkQuery(t, Q7, refQ7) }

// Without a hot auction, several auctions often share a window's highest
// count: q5 must report every one of them.
func TestQ5_ties(t *testing.T) {
	g := testGeneratorOf(t, GeneratorConfig{Seed: 9, EventsPerSecond: 100, MaxDisorder: testDisorder, HotAuctionRatio: 1})
	var ties int
	seen := map[int64]int{}
	for _, r := range refQ5(g.Events(0, testEvents)) {
		if seen[r.StartTime]++; seen[r.StartTime] == 2 {
			ties++
		}
	}
	if ties < 5 {
		t.Fatalf("only %d windows with ties", ties)
	}
	checkQueryOn(t, g, Q5, refQ5)
}
func TestQ8(t *testing.T)  { checkQuery(t, Q8, refQ8) }
func TestQ11(t *testing.T) { checkQuery(t, Q11, refQ11) }
