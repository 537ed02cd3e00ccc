package operators_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// Operators that keep records in state (interval join buffers, window
// contents, running reductions) encode them with their stream's codec.

// invoice is a record whose type needs the codec its stream is given: its
// fields are unexported.
type invoice struct{ id int }

// invoiceCodec encodes an invoice as its id.
type invoiceCodec struct{}

func (invoiceCodec) Append(dst []byte, o invoice) ([]byte, error) {
	return strconv.AppendInt(dst, int64(o.id), 10), nil
}

func (invoiceCodec) Decode(b []byte) (invoice, error) {
	n, err := strconv.Atoi(string(b))
	return invoice{id: n}, err
}

func invoiceKey(invoice) string { return "k" }

// invoices gives s its codec, unless without.
func invoices(s operators.Stream[invoice], without bool) operators.Stream[invoice] {
	if without {
		return s
	}
	return operators.WithCodec(s, operators.Codec[invoice](invoiceCodec{}))
}

func invoiceJoin(a, b operators.Stream[invoice]) operators.Stream[string] {
	a, b = invoices(a, false), invoices(b, false)
	return operators.IntervalJoin(operators.KeyBy(a, invoiceKey), operators.KeyBy(b, invoiceKey), 0, 10*time.Millisecond,
		func(x, y invoice) string { return fmt.Sprintf("%d+%d", x.id, y.id) })
}

// An interval join's buffered records are encoded with their streams'
// codecs: the record buffered before the restore joins as itself.
// Before, the buffers were JSON whatever the streams' codecs, and the
// record came back as its zero value ("0+8").
func TestIntervalJoin_buffersUseStreamCodec(t *testing.T) {
	for _, backend := range []string{operators.StateBackendHeap, operators.StateBackendBolt} {
		t.Run(backend, func(t *testing.T) {
			h := testkit.NewTwoInputHarness(t, invoiceJoin, testkit.WithStateBackend(backend))
			h.ProcessElement1(invoice{7}, 1) // waits in the join's buffer for a partner
			h.ProcessElement2(invoice{3}, 2)
			r := testkit.NewTwoInputHarness(t, invoiceJoin, testkit.WithStateBackend(backend), testkit.RestoreFrom(h.Snapshot(1)))
			r.ProcessElement2(invoice{8}, 5)
			r.ProcessElement1(invoice{9}, 1)
			got := r.Values()
			slices.Sort(got) // a record pairs with the buffered ones in no set order, as in Flink
			if want := []string{"7+8", "9+3", "9+8"}; !slices.Equal(got, want) {
				t.Fatalf("after restore: %q, want %q: the buffered records lost their values", got, want)
			}
		})
	}
}

// invoiceWindows are the window functions that keep records as their
// contents, each over a tumbling window of 10 ms of invoices.
var invoiceWindows = map[string]func(operators.WindowedStream[invoice, string]) operators.Stream[string]{
	"process": func(ws operators.WindowedStream[invoice, string]) operators.Stream[string] {
		return operators.ProcessWindow(ws, func(_ *operators.WindowContext[string], vs []invoice, out operators.Collector[string]) error {
			out.Collect(fmt.Sprint(vs), 0)
			return nil
		})
	},
	"reduce": func(ws operators.WindowedStream[invoice, string]) operators.Stream[string] {
		sums := operators.ReduceWindow(ws, func(a, b invoice) invoice { return invoice{a.id + b.id} })
		return operators.Map(sums, func(v invoice) string { return fmt.Sprint([]invoice{v}) })
	},
}

// A window's contents made of records are encoded with the input
// stream's codec, kept by a restore: plain lists, reductions and the
// timestamped lists of evicting windows.
func TestWindow_contentsUseStreamCodec(t *testing.T) {
	for name, fn := range invoiceWindows {
		for _, evicting := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/evicting=%v", name, evicting), func(t *testing.T) {
				op := func(s operators.Stream[invoice]) operators.Stream[string] {
					var opts []operators.WindowOption
					if evicting {
						opts = append(opts, operators.WithEvictor(window.KeepLast(10)))
					}
					return fn(operators.Window(operators.KeyBy(invoices(s, false), invoiceKey), window.Tumbling(10*time.Millisecond), opts...))
				}
				opts := []testkit.HarnessOption{testkit.WithStateBackend(operators.StateBackendBolt)}
				h := testkit.NewHarness(t, op, opts...)
				h.ProcessElement(invoice{7}, 1)
				h.ProcessElement(invoice{8}, 2)
				r := testkit.NewHarness(t, op, append(opts, testkit.RestoreFrom(h.Snapshot(1)))...)
				r.ProcessWatermark(9)
				want := "[{7} {8}]"
				if name == "reduce" {
					want = "[{15}]"
				}
				if got := r.Values(); !slices.Equal(got, []string{want}) {
					t.Fatalf("after restore: %q, want [%s]", got, want)
				}
			})
		}
	}
}

// A keyed Reduce's running values are encoded with the stream's codec.
func TestReduce_runningValuesUseStreamCodec(t *testing.T) {
	op := func(s operators.Stream[invoice]) operators.Stream[int] {
		sums := operators.Reduce(operators.KeyBy(invoices(s, false), invoiceKey), func(a, b invoice) invoice { return invoice{a.id + b.id} })
		return operators.Map(sums, func(v invoice) int { return v.id })
	}
	h := testkit.NewHarness(t, op)
	h.ProcessElement(invoice{7}, 1)
	r := testkit.NewHarness(t, op, testkit.RestoreFrom(h.Snapshot(1)))
	r.ProcessElement(invoice{8}, 2)
	if got, want := r.Values(), []int{15}; !slices.Equal(got, want) {
		t.Fatalf("after restore: %v, want %v", got, want)
	}
}

// Records that an operator keeps in state, of a type JSON would not
// round-trip, on a stream without a codec fail Build naming the
// operator: at the first restore they would come back as zero values.
func TestPipeline_Build_recordsInStateNeedACodec(t *testing.T) {
	builds := map[string]func(s operators.Stream[invoice]) operators.Stream[string]{
		"join": func(s operators.Stream[invoice]) operators.Stream[string] {
			ks := operators.KeyBy(s, invoiceKey)
			return operators.IntervalJoin(ks, ks, 0, time.Millisecond, func(a, b invoice) string { return "" })
		},
		"reduce": func(s operators.Stream[invoice]) operators.Stream[string] {
			r := operators.Reduce(operators.KeyBy(s, invoiceKey), func(a, _ invoice) invoice { return a })
			return operators.Map(r, func(invoice) string { return "" })
		},
	}
	for name, fn := range invoiceWindows {
		builds["window "+name] = func(s operators.Stream[invoice]) operators.Stream[string] {
			return fn(operators.Window(operators.KeyBy(s, invoiceKey), window.Tumbling(time.Second)))
		}
	}
	for name, build := range builds {
		t.Run(name, func(t *testing.T) {
			for _, without := range []bool{true, false} {
				p := operators.NewPipeline("records")
				src := invoices(operators.FromSlice(p, []invoice{{1}}), without)
				operators.Discard(build(src))
				_, err := p.Build()
				if !without {
					if err != nil {
						t.Fatalf("Build with a codec: %v", err)
					}
					continue
				}
				if !errors.Is(err, operators.ErrLossyJSON) || !strings.Contains(err.Error(), "WithCodec") {
					t.Fatalf("Build without a codec: %v, want ErrLossyJSON asking for WithCodec", err)
				}
			}
		})
	}
}
