package operators_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// lifecycle records the Open and Close calls of the functions of a test,
// which run on the subtasks' goroutines.
type lifecycle struct {
	mu     sync.Mutex
	opened []string // "subtask/parallelism"
	closed atomic.Int64
}

func (l *lifecycle) open(rc *operators.RuntimeContext) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opened = append(l.opened, fmt.Sprintf("%d/%d", rc.Subtask, rc.Parallelism))
}

func (l *lifecycle) openedSorted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(slices.Values(l.opened))
}

// tagger tags each record with its subtask, which it learns in Open.
type tagger struct {
	l   *lifecycle
	tag string
}

func (f *tagger) Open(rc *operators.RuntimeContext) error {
	f.l.open(rc)
	f.tag = fmt.Sprintf("subtask %d of %d", rc.Subtask+1, rc.Parallelism)
	return nil
}

func (f *tagger) Map(v int) (string, error) { return fmt.Sprintf("%d by %s", v, f.tag), nil }

func (f *tagger) Close() error {
	f.l.closed.Add(1)
	return nil
}

// Every subtask makes its own function value, opens it with its index and
// the parallelism before its first record, and closes it once at its end
// (issue 18, item 4).
func TestMapRich_openAndCloseEverySubtask(t *testing.T) {
	l := &lifecycle{}
	p := operators.NewPipeline("rich").SetParallelism(3)
	src := operators.Generate(p, 30, func(i int64) int { return int(i) }).Name("gen")
	tagged := operators.MapRich(src, func() *tagger { return &tagger{l: l} }).Name("tag")
	out := operators.Collect(tagged)
	r := testkit.NewRunner(t)
	if res := r.Run(p); res.State != actors.JobFinished {
		t.Fatalf("%v", res)
	}
	if got := l.openedSorted(); !slices.Equal(got, []string{"0/3", "1/3", "2/3"}) {
		t.Fatalf("opened %v, want every subtask of 3 once", got)
	}
	if n := l.closed.Load(); n != 3 {
		t.Fatalf("closed %d times, want 3", n)
	}
	for _, v := range out.Values() {
		var i, sub, par int
		if _, err := fmt.Sscanf(v, "%d by subtask %d of %d", &i, &sub, &par); err != nil || i%3 != sub-1 || par != 3 {
			t.Fatalf("record %q: not tagged by the subtask that Generate gave it to", v)
		}
	}
}

// sessionCounter is a keyed function with a lifecycle: its named states
// come from Open and live in its fields; OnTimer handles its timers.
type sessionCounter struct {
	l      *lifecycle
	clicks operators.ValueState[int]
	pages  operators.ListState[string]
}

func (f *sessionCounter) Open(rc *operators.KeyedRuntimeContext[string]) error {
	f.l.open(&rc.RuntimeContext)
	var err1, err2 error
	f.clicks, err1 = operators.GetValueState(rc, operators.ValueDescriptor[int]{Name: "clicks"})
	f.pages, err2 = operators.GetListState(rc, operators.ListDescriptor[string]{Name: "pages"})
	return errors.Join(err1, err2)
}

func (f *sessionCounter) ProcessElement(ctx *operators.KeyedContext[string], v visit, _ operators.Collector[string]) error {
	n, _ := f.clicks.Value()
	if n == 0 { // the session's first click: it ends 10 ms later
		ctx.RegisterEventTimer(ctx.Timestamp() + 10)
	}
	f.clicks.Update(n + 1)
	f.pages.Add(v.Page)
	return nil
}

func (f *sessionCounter) OnTimer(ctx *operators.KeyedContext[string], t operators.Timer, out operators.Collector[string]) error {
	n, _ := f.clicks.Value()
	out.Collect(fmt.Sprintf("%s: %d clicks %v", ctx.Key(), n, f.pages.Get()), t.Time)
	f.clicks.Clear()
	f.pages.Clear()
	return nil
}

func (f *sessionCounter) Close() error {
	f.l.closed.Add(1)
	return nil
}

func TestProcessKeyedRich_statesFromOpenAndTimers(t *testing.T) {
	l := &lifecycle{}
	t.Cleanup(func() { // after the harness's own cleanup, which closes the chain
		if n := l.closed.Load(); n != 1 {
			t.Errorf("closed %d times, want once", n)
		}
	})
	h := testkit.NewKeyedHarness(t, visitUser, func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
		return operators.ProcessKeyedRich(ks, func() *sessionCounter { return &sessionCounter{l: l} })
	})
	if got := l.openedSorted(); !slices.Equal(got, []string{"0/1"}) {
		t.Fatalf("opened %v before the first record, want once", got)
	}
	h.ProcessElement(visit{"ann", "home", 0}, 1)
	h.ProcessElement(visit{"bob", "cart", 0}, 2)
	h.ProcessElement(visit{"ann", "pay", 0}, 3)
	h.ProcessWatermark(20)
	want := []string{"ann: 2 clicks [home pay]", "bob: 1 clicks [cart]"}
	if got := h.Values(); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// client stands for an HTTP client: made in Open, closed in Close.
type client struct{ closed atomic.Bool }

func (c *client) lookup(ctx context.Context, id int) (string, error) {
	if c.closed.Load() {
		return "", errors.New("client closed")
	}
	return fmt.Sprintf("name-%d", id), ctx.Err()
}

// lookup is an async function with a lifecycle, as the issue's: its
// client comes from Open and goes in Close.
type lookup struct {
	c  *client
	cs *[]*client
}

func (f *lookup) Open(*operators.RuntimeContext) error {
	f.c = &client{}
	*f.cs = append(*f.cs, f.c)
	return nil
}

func (f *lookup) AsyncInvoke(ctx context.Context, id int) ([]string, error) {
	name, err := f.c.lookup(ctx, id)
	return []string{name}, err
}

func (f *lookup) Close() error {
	f.c.closed.Store(true)
	return nil
}

func TestAsyncMapRich_clientFromOpenClosedInClose(t *testing.T) {
	var clients []*client
	t.Cleanup(func() {
		if len(clients) != 1 || !clients[0].closed.Load() {
			t.Errorf("clients %v: want one, closed with the operator", clients)
		}
	})
	h := testkit.NewHarness(t, func(s operators.Stream[int]) operators.Stream[string] {
		return operators.AsyncMapRich(s, func() *lookup { return &lookup{cs: &clients} }, operators.AsyncConfig[int, string]{})
	})
	h.ProcessElement(1, 1)
	h.ProcessElement(2, 2)
	h.RunRequests()
	if got := h.Values(); !slices.Equal(got, []string{"name-1", "name-2"}) {
		t.Fatalf("got %q", got)
	}
}

// slowest keeps, per user, the slowest visit over all windows: global
// state got in Open; and counts each window's firings in per-window state.
type slowest struct {
	max operators.ReducingState[int64]
}

func (f *slowest) Open(rc *operators.KeyedRuntimeContext[string]) error {
	var err error
	f.max, err = operators.GetReducingState(rc, operators.NewReducingDescriptor("max-ms", func(a, b int64) int64 { return max(a, b) }))
	return err
}

func (f *slowest) Process(ctx *operators.WindowContext[string], vs []visit, out operators.Collector[string]) error {
	for _, v := range vs {
		f.max.Add(v.Ms)
	}
	m, _ := f.max.Get()
	out.Collect(fmt.Sprintf("%s %v: %d visits, slowest ever %d ms", ctx.Key(), ctx.Window(), len(vs), m), 0)
	return nil
}

func TestProcessWindowRich_globalStateFromOpen(t *testing.T) {
	h := testkit.NewKeyedHarness(t, visitUser, func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
		return operators.ProcessWindowRich(operators.Window(ks, window.Tumbling(10*time.Millisecond)), func() *slowest { return &slowest{} })
	})
	h.ProcessElement(visit{"ann", "a", 30}, 1)
	h.ProcessElement(visit{"ann", "b", 10}, 12)
	h.ProcessWatermark(100)
	want := []string{"ann [0, 10): 1 visits, slowest ever 30 ms", "ann [10, 20): 1 visits, slowest ever 30 ms"}
	if got := h.Values(); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// matcher joins orders with the latest price of their item, in a state
// got in Open that both inputs share.
type matcher struct{ price operators.ValueState[int] }

func (f *matcher) Open(rc *operators.KeyedRuntimeContext[string]) error {
	var err error
	f.price, err = operators.GetValueState(rc, operators.ValueDescriptor[int]{Name: "price"})
	return err
}

func (f *matcher) ProcessElement1(ctx *operators.KeyedContext[string], qty int, out operators.Collector[string]) error {
	p, ok := f.price.Value()
	if !ok {
		return nil
	}
	out.Collect(fmt.Sprintf("%s: %d", ctx.Key(), qty*p), operators.NoTimestamp)
	return nil
}

func (f *matcher) ProcessElement2(_ *operators.KeyedContext[string], price int, _ operators.Collector[string]) error {
	f.price.Update(price)
	return nil
}

func TestProcessConnectedRich_sharedStateFromOpen(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, func(orders operators.Stream[int], prices operators.Stream[int]) operators.Stream[string] {
		item := func(int) string { return "pen" }
		return operators.ProcessConnectedRich(operators.KeyBy(orders, item), operators.KeyBy(prices, item),
			func() *matcher { return &matcher{} })
	})
	h.ProcessElement1(3, 1) // no price yet
	h.ProcessElement2(2, 2)
	h.ProcessElement1(4, 3)
	if got := h.Values(); !slices.Equal(got, []string{"pen: 8"}) {
		t.Fatalf("got %q", got)
	}
}

// badOpen has an Open the operator would never call: its opening fails,
// naming the signature wanted.
type badOpen struct{}

func (badOpen) Open() error            { return nil }
func (badOpen) Map(v int) (int, error) { return v, nil }

// failingOpen fails its Open.
type failingOpen struct{ closed *bool }

func (failingOpen) Open(*operators.RuntimeContext) error { return errors.New("no connection") }
func (f failingOpen) Map(v int) (int, error)             { return v, nil }
func (f failingOpen) Close() error {
	*f.closed = true
	return nil
}

func TestMapRich_openFailures(t *testing.T) {
	msg := runOpenFailure(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.MapRich(s, func() badOpen { return badOpen{} }).Name("bad")
	})
	if !strings.Contains(msg, `"bad"`) || !strings.Contains(msg, "Open(*operators.RuntimeContext) error") {
		t.Fatalf("job error %q: want the operator and the Open it calls", msg)
	}
	var closed bool
	msg = runOpenFailure(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.MapRich(s, func() failingOpen { return failingOpen{closed: &closed} }).Name("dialer")
	})
	if !strings.Contains(msg, `"dialer"`) || !strings.Contains(msg, "no connection") || !closed {
		t.Fatalf("job error %q, closed %v: want the operator, Open's error, and Close called", msg, closed)
	}
}

func runOpenFailure(t *testing.T, op func(operators.Stream[int]) operators.Stream[int]) string {
	t.Helper()
	p := operators.NewPipeline("open-fails")
	operators.Discard(op(operators.FromSlice(p, []int{1})))
	res := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart())).Run(p)
	if res.State != actors.JobFailed {
		t.Fatalf("%v, want failed", res)
	}
	return res.Err.Error()
}

// panicOnFirstOpen is a keyed rich function whose Open panics in the
// first attempt (a client library that panics on a bad address, say) and
// succeeds in the next; it counts its Opens and Closes.
type panicOnFirstOpen struct {
	opens, closes *atomic.Int64
}

func (f *panicOnFirstOpen) Open(rc *operators.KeyedRuntimeContext[int]) error {
	if f.opens.Add(1) == 1 {
		panic("dial: bad address")
	}
	return nil
}

func (f *panicOnFirstOpen) ProcessElement(_ *operators.KeyedContext[int], v int, out operators.Collector[int]) error {
	out.Collect(v, operators.NoTimestamp)
	return nil
}

func (f *panicOnFirstOpen) Close() error {
	f.closes.Add(1)
	return nil
}

// A function whose Open panics fails its subtask, which restarts, and is
// closed like one whose Open fails: one Close per Open over the attempts
// (see TestRich_openPanicClosesFunctionAndState for the state backends).
func TestProcessKeyedRich_openPanicClosedAndRestarted(t *testing.T) {
	var opens, closes atomic.Int64
	p := operators.NewPipeline("open-panics")
	src := operators.FromSlice(p, []int{1, 2, 3})
	ks := operators.KeyBy(src, func(v int) int { return v })
	out := operators.Collect(operators.ProcessKeyedRich(ks, func() *panicOnFirstOpen {
		return &panicOnFirstOpen{opens: &opens, closes: &closes}
	}).Name("dial"))
	if res := testkit.NewRunner(t).Run(p); res.State != actors.JobFinished {
		t.Fatalf("%v", res)
	}
	if got := out.Values(); len(got) != 3 {
		t.Fatalf("output %v, want 3 records", got)
	}
	if o, c := opens.Load(), closes.Load(); o != 2 || c != o {
		t.Fatalf("Open called %d times, Close %d times: want one Close per Open (2)", o, c)
	}
}
