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

// session is state as Go code writes it: unexported fields.
type session struct {
	clicks int
	last   string
}

// sessionCodec encodes a session as "clicks,last".
type sessionCodec struct{}

func (sessionCodec) Append(dst []byte, s session) ([]byte, error) {
	return fmt.Appendf(dst, "%d,%s", s.clicks, s.last), nil
}

func (sessionCodec) Decode(b []byte) (session, error) {
	n, last, _ := strings.Cut(string(b), ",")
	clicks, err := strconv.Atoi(n)
	return session{clicks: clicks, last: last}, err
}

// sessions counts each user's clicks in a value state of session, with
// the codec given (nil: none).
func sessions(codec operators.Codec[session]) func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
	desc := operators.ValueDescriptor[session]{Name: "session", Codec: codec}
	return func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
		return operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[string], v visit, out operators.Collector[string]) error {
			st, err := operators.GetValueState(ctx, desc)
			if err != nil {
				return err
			}
			s, _ := st.Value()
			s.clicks++
			s.last = v.Page
			st.Update(s)
			out.Collect(fmt.Sprintf("%s: %d clicks, last %s", ctx.Key(), s.clicks, s.last), operators.NoTimestamp)
			return nil
		})
	}
}

// State of a type JSON would not round-trip (unexported fields encode as
// {}) is refused when the function asks for it, naming the state, the
// type and the field, unless the descriptor gives a codec — with which it
// survives a restore. Before, it worked until the first restore and was
// then silently reset.
func TestGetValueState_typeJSONWouldLose(t *testing.T) {
	for _, backend := range []string{operators.StateBackendHeap, operators.StateBackendBolt} {
		t.Run(backend, func(t *testing.T) {
			h := testkit.NewKeyedHarness(t, visitUser, sessions(nil), testkit.WithStateBackend(backend), testkit.ExpectFailure())
			h.ProcessElement(visit{"ann", "home", 0}, 1)
			if err := h.Err(); !errors.Is(err, operators.ErrLossyJSON) ||
				!strings.Contains(err.Error(), `state "session"`) || !strings.Contains(err.Error(), "unexported field clicks") ||
				!strings.Contains(err.Error(), "ValueDescriptor.Codec") {
				t.Fatalf("Err = %v, want ErrLossyJSON naming the state, the field and the codec to give", err)
			}

			h = testkit.NewKeyedHarness(t, visitUser, sessions(sessionCodec{}), testkit.WithStateBackend(backend))
			h.ProcessElement(visit{"ann", "home", 0}, 1)
			h.ProcessElement(visit{"ann", "cart", 0}, 2)
			r := testkit.NewKeyedHarness(t, visitUser, sessions(sessionCodec{}), testkit.WithStateBackend(backend),
				testkit.RestoreFrom(h.Snapshot(1)))
			r.ProcessElement(visit{"ann", "pay", 0}, 3)
			if got, want := r.Values(), []string{"ann: 3 clicks, last pay"}; !slices.Equal(got, want) {
				t.Fatalf("after restore: %q, want %q", got, want)
			}
		})
	}
}

// Every getter, per-window ones included, refuses a type JSON would not
// round-trip where no codec is given.
func TestGetState_everyKindRefusesLossyJSON(t *testing.T) {
	getters := map[string]func(operators.StateStore[string]) error{
		"value": func(s operators.StateStore[string]) error {
			_, err := operators.GetValueState(s, operators.ValueDescriptor[session]{Name: "s"})
			return err
		},
		"list": func(s operators.StateStore[string]) error {
			_, err := operators.GetListState(s, operators.ListDescriptor[session]{Name: "s"})
			return err
		},
		"map key": func(s operators.StateStore[string]) error {
			_, err := operators.GetMapState(s, operators.MapDescriptor[session, int]{Name: "s"})
			return err
		},
		"map value": func(s operators.StateStore[string]) error {
			_, err := operators.GetMapState(s, operators.MapDescriptor[int, session]{Name: "s"})
			return err
		},
		"reducing": func(s operators.StateStore[string]) error {
			_, err := operators.GetReducingState(s, operators.NewReducingDescriptor("s", func(a, _ session) session { return a }))
			return err
		},
		"aggregating": func(s operators.StateStore[string]) error {
			_, err := operators.GetAggregatingState(s, operators.NewAggregatingDescriptor("s", operators.Aggregate(
				func() session { return session{} }, func(a session, _ visit) session { return a }, nil,
				func(a session) int { return a.clicks })))
			return err
		},
	}
	for name, get := range getters {
		for _, scope := range []string{"keyed", "window", "global"} {
			t.Run(name+"/"+scope, func(t *testing.T) {
				h := testkit.NewKeyedHarness(t, visitUser, func(ks operators.KeyedStream[visit, string]) operators.Stream[int] {
					if scope == "keyed" {
						return operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[string], _ visit, _ operators.Collector[int]) error {
							return get(ctx)
						})
					}
					return operators.ProcessWindow(operators.Window(ks, window.Tumbling(10*time.Millisecond)),
						func(ctx *operators.WindowContext[string], _ []visit, _ operators.Collector[int]) error {
							if scope == "window" {
								return get(ctx.WindowState())
							}
							return get(ctx.GlobalState())
						})
				}, testkit.ExpectFailure())
				h.ProcessElement(visit{User: "ann"}, 1)
				if scope != "keyed" {
					h.ProcessWatermark(100) // fires the window
				}
				if err := h.Err(); !errors.Is(err, operators.ErrLossyJSON) || !strings.Contains(err.Error(), `state "s"`) {
					t.Fatalf("Err = %v, want ErrLossyJSON naming the state", err)
				}
			})
		}
	}
}

// A per-window list state takes its elements' codec (before, it refused
// one and encoded with JSON), and keeps the window's list across a
// restore.
func TestGetListState_perWindowWithCodec(t *testing.T) {
	clicks := operators.ListDescriptor[session]{Name: "clicks", Codec: sessionCodec{}}
	fn := func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
		ws := operators.Window(ks, window.Tumbling(10*time.Millisecond), operators.WithAllowedLateness(10*time.Millisecond))
		return operators.ProcessWindow(ws, func(ctx *operators.WindowContext[string], vs []visit, out operators.Collector[string]) error {
			l, err := operators.GetListState(ctx.WindowState(), clicks)
			if err != nil {
				return err
			}
			l.Add(session{clicks: len(vs), last: vs[len(vs)-1].Page})
			out.Collect(fmt.Sprint(l.Get()), 0)
			return nil
		})
	}
	h := testkit.NewKeyedHarness(t, visitUser, fn, testkit.WithStateBackend(operators.StateBackendBolt))
	h.ProcessElement(visit{User: "ann", Page: "a"}, 1)
	h.ProcessWatermark(9) // fires [0, 10)
	r := testkit.NewKeyedHarness(t, visitUser, fn, testkit.WithStateBackend(operators.StateBackendBolt),
		testkit.RestoreFrom(h.Snapshot(1)))
	r.ProcessWatermark(9)
	r.ProcessElement(visit{User: "ann", Page: "b"}, 2) // late, within the lateness: fires again
	if got, want := r.Values(), []string{"[{1 a} {2 b}]"}; !slices.Equal(got, want) {
		t.Fatalf("after restore: %q, want %q", got, want)
	}
}

// user is a key type JSON would encode as {} for every user.
type user struct{ id string }

// Keys and window accumulators, which the operators keep in state with
// JSON, are checked when the pipeline is built: a type JSON would not
// round-trip fails Build naming the operator, before the job starts.
func TestPipeline_Build_lossyKeyOrAccumulator(t *testing.T) {
	for name, build := range map[string]func(p *operators.Pipeline){
		"key": func(p *operators.Pipeline) {
			ks := operators.KeyBy(operators.FromSlice(p, []visit{{User: "ann"}}), func(v visit) user { return user{v.User} })
			operators.Discard(operators.Reduce(ks, func(a, _ visit) visit { return a }).Name("under-test"))
		},
		"accumulator": func(p *operators.Pipeline) {
			ks := operators.KeyBy(operators.FromSlice(p, []visit{{User: "ann"}}), visitUser)
			operators.Discard(operators.AggregateWindow(operators.Window(ks, window.Tumbling(time.Second)), operators.Aggregate(
				func() session { return session{} }, func(a session, _ visit) session { return a }, nil,
				func(a session) int { return a.clicks })).Name("under-test"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := operators.NewPipeline("lossy")
			build(p)
			_, err := p.Build()
			if !errors.Is(err, operators.ErrLossyJSON) || !strings.Contains(err.Error(), `"under-test"`) {
				t.Fatalf("Build: %v, want ErrLossyJSON naming the operator", err)
			}
		})
	}
}
