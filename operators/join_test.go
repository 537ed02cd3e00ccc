package operators_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

type order struct {
	ID, User int
}

type payment struct {
	User, Amount int
}

func byOrderUser(o order) int     { return o.User }
func byPaymentUser(p payment) int { return p.User }

func TestIntervalJoin_harness_pairsWithinBoundsAndCleansUp(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, func(a operators.Stream[order], b operators.Stream[payment]) operators.Stream[string] {
		return operators.IntervalJoin(operators.KeyBy(a, byOrderUser), operators.KeyBy(b, byPaymentUser),
			-2*time.Millisecond, 5*time.Millisecond, func(o order, p payment) string {
				return fmt.Sprintf("order %d paid %d", o.ID, p.Amount)
			})
	})
	h.ProcessElement1(order{ID: 1, User: 7}, 10)
	h.ProcessElement2(payment{User: 7, Amount: 30}, 15) // 15 ∈ [8, 15]: pairs, at 15
	h.ProcessElement2(payment{User: 7, Amount: 31}, 16) // out of bounds
	h.ProcessElement2(payment{User: 8, Amount: 32}, 12) // other key
	h.ProcessElement1(order{ID: 2, User: 7}, 17)        // pairs with 16 (∈ [15, 22]) and 15
	got := h.Values()
	sort.Strings(got)
	want := []string{"order 1 paid 30", "order 2 paid 30", "order 2 paid 31"}
	if !slices.Equal(got, want) {
		t.Fatalf("pairs %q, want %q", got, want)
	}
	if h.StateEntries() != 2 {
		t.Fatalf("state entries %d before cleanup, want 2 keys", h.StateEntries())
	}
	h.ProcessWatermark1(100)
	h.ProcessWatermark2(100)
	if h.StateEntries() != 0 || h.Timers() != 0 {
		t.Fatalf("after the watermark passed: %d state entries, %d timers; want none", h.StateEntries(), h.Timers())
	}
}

func TestWindowJoin_engine_pairsPerKeyAndWindow(t *testing.T) {
	p := operators.NewPipeline("window-join").SetParallelism(2)
	orders := operators.FromSlice(p, []order{{1, 1}, {2, 1}, {3, 2}, {4, 1}})
	pays := operators.FromSlice(p, []payment{{1, 10}, {2, 20}, {1, 11}})
	ts := func(v int64) int64 { return v }
	ordersT := operators.AssignTimestamps(orders, operators.WatermarkStrategy[order]{
		Strategy: watermarkFor(), Timestamp: func(o order, _ int64) int64 { return ts(int64(o.ID) * 4) }})
	paysT := operators.AssignTimestamps(pays, operators.WatermarkStrategy[payment]{
		Strategy: watermarkFor(), Timestamp: func(p payment, _ int64) int64 { return int64(p.Amount) / 2 }})
	tumbling := window.Tumbling(10 * time.Millisecond)
	joined := operators.WindowJoin(operators.KeyBy(ordersT, byOrderUser), operators.KeyBy(paysT, byPaymentUser), tumbling,
		func(o order, p payment) string { return fmt.Sprintf("o%d-u%d-%d", o.ID, p.User, p.Amount) })
	out := operators.Collect(joined)
	e, err := actors.NewEngine(quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Run(ctx, p); err != nil {
		t.Fatal(err)
	}
	got := out.Values()
	sort.Strings(got)
	// orders at 4, 8 (window 0) and 16 (window 10) for user 1, 12 for user 2;
	// payments at 5 (user 1), 10 (user 2), 5 (user 1): window 0 for user 1,
	// window 10 for user 2.
	want := []string{"o1-u1-10", "o1-u1-11", "o2-u1-10", "o2-u1-11", "o3-u2-20"}
	if !slices.Equal(got, want) {
		t.Fatalf("pairs %q, want %q", got, want)
	}
}

func watermarkFor() watermark.Strategy {
	return watermark.ForBoundedOutOfOrderness(20 * time.Millisecond)
}

// A regular (unwindowed) join: whichever side comes first waits in state.
func TestProcessConnected_harness_regularJoinEitherOrder(t *testing.T) {
	type seen struct {
		Name   string
		Orders []int
	}
	seenState := operators.ValueDescriptor[seen]{Name: "seen"}
	h := testkit.NewTwoInputHarness(t, func(a operators.Stream[order], b operators.Stream[string]) operators.Stream[string] {
		return operators.ProcessConnected(operators.KeyBy(a, byOrderUser), operators.KeyBy(b, userOfName),
			operators.CoProcessFuncs[order, string, int, string]{
				Process1: func(ctx *operators.KeyedContext[int], o order, out operators.Collector[string]) error {
					st, err := operators.GetValueState(ctx, seenState)
					if err != nil {
						return err
					}
					s, _ := st.Value()
					if s.Name != "" {
						out.Collect(fmt.Sprintf("%s ordered %d", s.Name, o.ID), operators.NoTimestamp)
						return nil
					}
					s.Orders = append(s.Orders, o.ID)
					st.Update(s)
					return nil
				},
				Process2: func(ctx *operators.KeyedContext[int], name string, out operators.Collector[string]) error {
					st, err := operators.GetValueState(ctx, seenState)
					if err != nil {
						return err
					}
					s, _ := st.Value()
					for _, id := range s.Orders {
						out.Collect(fmt.Sprintf("%s ordered %d", name[2:], id), operators.NoTimestamp)
					}
					st.Update(seen{Name: name[2:]})
					return nil
				},
			})
	})
	h.ProcessElement1(order{ID: 1, User: 1}, 1)
	h.ProcessElement2("1:ann", 2)
	h.ProcessElement1(order{ID: 2, User: 1}, 3)
	h.ProcessElement1(order{ID: 3, User: 2}, 4)
	if got, want := h.Values(), []string{"ann ordered 1", "ann ordered 2"}; !slices.Equal(got, want) {
		t.Fatalf("joined %q, want %q", got, want)
	}
	if h.StateEntries() != 2 {
		t.Fatalf("state entries %d, want 2 (ann's name, user 2's waiting order)", h.StateEntries())
	}
}

func userOfName(s string) int { return int(s[0] - '0') }
