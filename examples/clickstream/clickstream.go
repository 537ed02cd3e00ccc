package clickstream

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/watermark"
)

// Name is the pipeline's name in the registry and its job's name.
const Name = "clickstream"

// Click is one input record: a user's view of a page.
type Click struct {
	User string `json:"user"`
	Page string `json:"page"`
	At   int64  `json:"at"` // epoch milliseconds
	Ms   int64  `json:"ms"` // time spent on the page
}

// Config is the pipeline's configuration; New fills zero durations and
// counts with the defaults.
type Config struct {
	Input, Output string        // a JSON lines file of clicks; the output directory
	Window        time.Duration // page-views window; default DefaultWindow
	Gap           time.Duration // session gap; default DefaultGap
	OutOfOrder    time.Duration // how late a click may come; default DefaultOutOfOrder
	Lateness      time.Duration // page-views windows' allowed lateness; default 0
	Trending      int           // views of a page in a window that make it trend; default DefaultTrending
	ProfileEvery  int           // a profile is emitted every ProfileEvery clicks of a user; default DefaultProfileEvery
	Rate          float64       // clicks read per second; 0: unlimited
}

// Defaults of Config.
const (
	DefaultWindow       = time.Minute
	DefaultGap          = 30 * time.Minute
	DefaultOutOfOrder   = 5 * time.Second
	DefaultTrending     = 20
	DefaultProfileEvery = 10
)

func (c Config) withDefaults() Config {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Gap == 0 {
		c.Gap = DefaultGap
	}
	if c.OutOfOrder == 0 {
		c.OutOfOrder = DefaultOutOfOrder
	}
	if c.Trending == 0 {
		c.Trending = DefaultTrending
	}
	if c.ProfileEvery == 0 {
		c.ProfileEvery = DefaultProfileEvery
	}
	return c
}

// The side outputs.
var (
	// InvalidTag carries the clicks the validation refused.
	InvalidTag = operators.NewOutputTag[Invalid]("invalid")
	// LateTag carries the clicks too late for their windows.
	LateTag = operators.NewOutputTag[Click]("late")
	// TrendingTag carries the pages with at least Config.Trending views in
	// a window.
	TrendingTag = operators.NewOutputTag[Trending]("trending")
)

// The output directories under Config.Output.
const (
	ProfilesDir = "profiles"
	SessionsDir = "sessions"
	PagesDir    = "pages"
	TrendingDir = "trending"
	InvalidDir  = "invalid"
	LateDir     = "late"
)

// New builds the pipeline (see the package documentation). Its operators
// are named clicks, validate, timestamps, profiles, sessions, page-views,
// late and, for the sinks, the output directories' names with "-files".
func New(cfg Config) *operators.Pipeline {
	cfg = cfg.withDefaults()
	p := operators.NewPipeline(Name)
	raw := operators.ReadJSONLines[Click](p, cfg.Input, operators.RateLimit(cfg.Rate)).Name("clicks").Parallelism(1)
	valid := operators.ProcessRich(raw, newValidator).Name("validate").Parallelism(1)
	timed := operators.AssignTimestamps(valid, operators.WatermarkStrategy[Click]{
		Strategy:  watermark.ForBoundedOutOfOrderness(cfg.OutOfOrder),
		Timestamp: func(c Click, _ int64) int64 { return c.At },
	}).Name("timestamps").Parallelism(1)

	byUser := operators.KeyBy(timed, func(c Click) string { return c.User })
	profiles := operators.ProcessKeyedRich(byUser, func() *profiler { return &profiler{every: cfg.ProfileEvery} }).Name("profiles")
	sessions := operators.AggregateWindowWith(
		operators.Window(byUser, window.Session(cfg.Gap), operators.WithLateOutput(LateTag)),
		sessionStats, sessionOf).Name("sessions")

	byPage := operators.KeyBy(timed, func(c Click) string { return c.Page })
	pages := operators.ProcessWindowRich(
		operators.Window(byPage, window.Tumbling(cfg.Window),
			operators.WithAllowedLateness(cfg.Lateness), operators.WithLateOutput(LateTag)),
		func() *pageCounter { return &pageCounter{trending: cfg.Trending} }).Name("page-views")

	late := operators.Union(operators.GetSideOutput(sessions, LateTag), operators.GetSideOutput(pages, LateTag)).Name("late")
	write(profiles, cfg.Output, ProfilesDir)
	write(sessions, cfg.Output, SessionsDir)
	write(pages, cfg.Output, PagesDir)
	write(operators.GetSideOutput(pages, TrendingTag), cfg.Output, TrendingDir)
	write(operators.GetSideOutput(valid, InvalidTag), cfg.Output, InvalidDir)
	write(late, cfg.Output, LateDir)
	return p
}

// write sends s to part files in the named directory under out, through
// a sink named after it ("profiles-files").
func write[T any](s operators.Stream[T], out, name string) {
	operators.WriteFiles(s, filepath.Join(out, name)).Name(name + "-files")
}

// Spec returns the registry entry of the pipeline.
func Spec() actors.PipelineSpec {
	return actors.PipelineSpec{
		Name:        Name,
		Description: "per-user profiles and sessions and per-page views of a JSON lines file of clicks, in event time",
		Params: []actors.Param{
			{Name: "input", Description: `JSON lines of {"user","page","at" (epoch ms),"ms"}, in time order`, Required: true},
			{Name: "output", Description: "directory for the outputs, one subdirectory each", Required: true},
			{Name: "window", Description: "page-views window", Default: DefaultWindow.String()},
			{Name: "gap", Description: "session gap", Default: DefaultGap.String()},
			{Name: "out-of-order", Description: "how late a click may come", Default: DefaultOutOfOrder.String()},
			{Name: "trending", Description: "views in a window that make a page trend", Default: fmt.Sprint(DefaultTrending)},
			{Name: "rate", Description: "clicks per second; 0: unlimited", Default: "0"},
		},
		Build: build,
	}
}

func build(ps actors.Params) (*operators.Pipeline, error) {
	var errs [4]error
	cfg := Config{Input: ps.String("input"), Output: ps.String("output")}
	cfg.Window, errs[0] = ps.Duration("window")
	cfg.Gap, errs[1] = ps.Duration("gap")
	cfg.OutOfOrder, errs[2] = ps.Duration("out-of-order")
	cfg.Trending, errs[3] = ps.Int("trending")
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	rate, err := ps.Float("rate")
	if err != nil {
		return nil, err
	}
	if rate < 0 || cfg.Trending < 1 || cfg.OutOfOrder < 0 {
		return nil, fmt.Errorf("%w: rate must not be negative, trending must be at least 1, out-of-order not negative", actors.ErrBadParam)
	}
	cfg.Rate = rate
	if err := operators.CheckOutputDir(cfg.Output); err != nil {
		return nil, fmt.Errorf("%w: output: %w", actors.ErrBadParam, err)
	}
	return New(cfg), nil
}
