package clickstream

import "github.com/troupe-dev/troupe/operators"

// Session is a user's session: clicks at most the gap apart.
type Session struct {
	User   string `json:"user"`
	Start  int64  `json:"start"` // the first click
	End    int64  `json:"end"`   // the last click plus the gap
	Clicks int    `json:"clicks"`
	TimeMs int64  `json:"time_ms"` // time spent on the pages
}

// sessionAcc is a session's accumulator: it merges when sessions do.
type sessionAcc struct {
	Clicks int   `json:"clicks"`
	TimeMs int64 `json:"time_ms"`
}

// sessionStats aggregates a session's clicks incrementally: one small
// accumulator per session, however many clicks it has.
var sessionStats = operators.Aggregate(
	func() sessionAcc { return sessionAcc{} },
	func(a sessionAcc, c Click) sessionAcc {
		return sessionAcc{Clicks: a.Clicks + 1, TimeMs: a.TimeMs + c.Ms}
	},
	func(a, b sessionAcc) sessionAcc {
		return sessionAcc{Clicks: a.Clicks + b.Clicks, TimeMs: a.TimeMs + b.TimeMs}
	},
	func(a sessionAcc) sessionAcc { return a })

// sessionOf makes the session from its aggregate and its window's context.
func sessionOf(ctx *operators.WindowContext[string], a sessionAcc, out operators.Collector[Session]) error {
	w := ctx.Window()
	out.Collect(Session{User: ctx.Key(), Start: w.Start, End: w.End, Clicks: a.Clicks, TimeMs: a.TimeMs}, 0)
	return nil
}

// PageViews counts a page's views in a window.
type PageViews struct {
	Page     string `json:"page"`
	Start    int64  `json:"start"`
	End      int64  `json:"end"`
	Views    int    `json:"views"`
	Users    int    `json:"users"`    // distinct
	AllTime  int64  `json:"all_time"` // the page's views in its windows so far
	Revision int    `json:"revision"` // 1, then 2… when late clicks fire the window again
}

// Trending is a page with many views in a window.
type Trending struct {
	Page  string `json:"page"`
	Start int64  `json:"start"`
	Views int    `json:"views"`
}

// The page counter's states: per page across its windows (global), and
// per page and window.
var (
	allTimeState = operators.NewReducingDescriptor("all-time-views", func(a, b int64) int64 { return a + b })
	firedState   = operators.ValueDescriptor[fired]{Name: "fired"}
)

// fired is what a window's earlier firings did: how many, and how many
// views they counted into the page's all-time views.
type fired struct {
	Revision int `json:"revision"`
	Views    int `json:"views"`
}

// pageCounter counts a page's views per window, as a ProcessWindowFunction
// with its context: the page's all-time count is global state, got in
// Open; what the window's earlier firings did is per-window state, got
// from each firing's context (a window fires again, with a new revision,
// for clicks late but within the allowed lateness). Pages with many views
// go to the trending side output.
type pageCounter struct {
	trending int
	allTime  operators.ReducingState[int64]
}

// Open gets the global state.
func (f *pageCounter) Open(rc *operators.KeyedRuntimeContext[string]) error {
	var err error
	f.allTime, err = operators.GetReducingState(rc, allTimeState)
	return err
}

// Process counts a window's views.
func (f *pageCounter) Process(ctx *operators.WindowContext[string], clicks []Click, out operators.Collector[PageViews]) error {
	state, err := operators.GetValueState(ctx.WindowState(), firedState)
	if err != nil {
		return err
	}
	before, _ := state.Value()
	views := len(clicks)
	f.allTime.Add(int64(views - before.Views)) // a firing again counts only the clicks since
	state.Update(fired{Revision: before.Revision + 1, Views: views})
	users := map[string]bool{}
	for _, c := range clicks {
		users[c.User] = true
	}
	total, _ := f.allTime.Get()
	w := ctx.Window()
	out.Collect(PageViews{Page: ctx.Key(), Start: w.Start, End: w.End, Views: views, Users: len(users),
		AllTime: total, Revision: before.Revision + 1}, 0)
	if views >= f.trending {
		ctx.Output(TrendingTag.Of(Trending{Page: ctx.Key(), Start: w.Start, Views: views}))
	}
	return nil
}
