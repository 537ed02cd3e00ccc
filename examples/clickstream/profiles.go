package clickstream

import (
	"errors"
	"slices"

	"github.com/troupe-dev/troupe/operators"
)

// Profile is what the pipeline knows of a user after some clicks.
type Profile struct {
	User      string   `json:"user"`
	Clicks    int      `json:"clicks"`
	FirstSeen int64    `json:"first_seen"`
	TopPage   string   `json:"top_page"`
	Recent    []string `json:"recent"` // the last pages, latest last
	TotalMs   int64    `json:"total_ms"`
	AverageMs int64    `json:"average_ms"`
	Final     bool     `json:"final"` // at the end of input
}

// recentPages is how many of a user's last pages a profile lists.
const recentPages = 3

// The profiler's named states, one of each kind, per user.
var (
	firstSeenState = operators.ValueDescriptor[int64]{Name: "first-seen"}
	recentState    = operators.ListDescriptor[string]{Name: "recent-pages"}
	pageViewState  = operators.MapDescriptor[string, int]{Name: "page-views"}
	totalMsState   = operators.NewReducingDescriptor("total-ms", func(a, b int64) int64 { return a + b })
	averageState   = operators.NewAggregatingDescriptor("average-ms", operators.Aggregate(
		func() mean { return mean{} },
		func(m mean, ms int64) mean { return mean{Sum: m.Sum + ms, N: m.N + 1} },
		func(a, b mean) mean { return mean{Sum: a.Sum + b.Sum, N: a.N + b.N} },
		func(m mean) int64 { return m.Sum / max(m.N, 1) }))
)

// mean is the accumulator of an average.
type mean struct {
	Sum int64 `json:"sum"`
	N   int64 `json:"n"`
}

// profiler keeps a profile per user in five named states, which it gets
// once in Open and keeps in its fields; they act on the key of each click
// it handles. It emits the profile every few clicks, and once more at the
// end of input through an event-time timer.
type profiler struct {
	every     int
	firstSeen operators.ValueState[int64]
	recent    operators.ListState[string]
	pageViews operators.MapState[string, int]
	totalMs   operators.ReducingState[int64]
	average   operators.AggregatingState[int64, int64]
}

// Open gets the profiler's states.
func (f *profiler) Open(rc *operators.KeyedRuntimeContext[string]) error {
	var errs [5]error
	f.firstSeen, errs[0] = operators.GetValueState(rc, firstSeenState)
	f.recent, errs[1] = operators.GetListState(rc, recentState)
	f.pageViews, errs[2] = operators.GetMapState(rc, pageViewState)
	f.totalMs, errs[3] = operators.GetReducingState(rc, totalMsState)
	f.average, errs[4] = operators.GetAggregatingState(rc, averageState)
	return errors.Join(errs[:]...)
}

// ProcessElement adds a click to its user's profile.
func (f *profiler) ProcessElement(ctx *operators.KeyedContext[string], c Click, out operators.Collector[Profile]) error {
	if _, seen := f.firstSeen.Value(); !seen {
		f.firstSeen.Update(c.At)
		ctx.RegisterEventTimer(operators.MaxWatermark) // the end of input
	}
	recent := append(f.recent.Get(), c.Page)
	f.recent.Update(recent[max(len(recent)-recentPages, 0):])
	n, _ := f.pageViews.Get(c.Page)
	f.pageViews.Put(c.Page, n+1)
	f.totalMs.Add(c.Ms)
	f.average.Add(c.Ms)
	if p := f.profile(ctx.Key(), false); p.Clicks%f.every == 0 {
		out.Collect(p, ctx.Timestamp())
	}
	return nil
}

// OnTimer emits the final profile at the end of input.
func (f *profiler) OnTimer(ctx *operators.KeyedContext[string], t operators.Timer, out operators.Collector[Profile]) error {
	out.Collect(f.profile(ctx.Key(), true), t.Time)
	return nil
}

// profile reads the current user's profile from the states.
func (f *profiler) profile(user string, final bool) Profile {
	p := Profile{User: user, Recent: f.recent.Get(), Final: final}
	p.FirstSeen, _ = f.firstSeen.Value()
	p.TotalMs, _ = f.totalMs.Get()
	p.AverageMs, _ = f.average.Get()
	top := 0
	for _, page := range slices.Sorted(keys(f.pageViews)) { // ties go to the first page by name
		views, _ := f.pageViews.Get(page)
		p.Clicks += views
		if views > top {
			p.TopPage, top = page, views
		}
	}
	return p
}

// keys iterates over a map state's keys.
func keys(m operators.MapState[string, int]) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		var ks []string // collected first: the state must not change while iterated
		for k := range m.All() {
			ks = append(ks, k)
		}
		for _, k := range ks {
			if !yield(k) {
				return
			}
		}
	}
}
