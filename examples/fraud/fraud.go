package fraud

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/internal/endpoint"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/watermark"
)

// Name is the pipeline's name in the registry and its job's name.
const Name = "fraud"

// Txn is one input record: a card transaction.
type Txn struct {
	ID      int64  `json:"id"`
	Account string `json:"account"`
	Amount  int64  `json:"amount"` // cents
	At      int64  `json:"at"`     // epoch milliseconds
}

// Spend is one output record: an account's spending in one window, or a
// late transaction on its own.
type Spend struct {
	Account string `json:"account"`
	Start   int64  `json:"start"` // the window's first millisecond
	End     int64  `json:"end"`   // the window's end, exclusive
	Amount  int64  `json:"amount"`
	Count   int    `json:"count"`
	Alert   bool   `json:"alert,omitempty"` // Amount above the limit
	Late    bool   `json:"late,omitempty"`  // a transaction after its window closed
}

// Config is the pipeline's configuration; New fills zero values with the
// defaults.
type Config struct {
	Input  string        // a JSON lines file of transactions
	Output string        // a directory for part files; empty: Stdout
	Window time.Duration // default DefaultWindow
	Limit  int64         // cents in a window above which it is an alert; default DefaultLimit
	// OutOfOrder is how far behind the latest transaction one may come
	// and still count in its window; default DefaultOutOfOrder.
	OutOfOrder time.Duration
	Rate       float64   // transactions read per second per source subtask; 0: unlimited
	Stdout     io.Writer // where the spends go without Output; nil: os.Stdout
}

// Defaults of Config.
const (
	DefaultWindow     = time.Minute
	DefaultLimit      = 100_000 // $1,000.00
	DefaultOutOfOrder = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Limit == 0 {
		c.Limit = DefaultLimit
	}
	if c.OutOfOrder == 0 {
		c.OutOfOrder = DefaultOutOfOrder
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	return c
}

// New builds the pipeline. Its operators are named "txns", "timestamps",
// "detector" and "spends".
func New(cfg Config) *operators.Pipeline {
	cfg = cfg.withDefaults()
	p := operators.NewPipeline(Name)
	txns := operators.ReadJSONLines[Txn](p, cfg.Input, operators.RateLimit(cfg.Rate)).Name("txns")
	timed := operators.AssignTimestamps(txns, operators.WatermarkStrategy[Txn]{
		Strategy:  watermark.ForBoundedOutOfOrderness(cfg.OutOfOrder),
		Timestamp: func(t Txn, _ int64) int64 { return t.At },
	}).Name("timestamps")
	byAccount := operators.KeyBy(timed, func(t Txn) string { return t.Account })
	spends := actors.FromKeyedActor[Txn, string, Spend](byAccount, DetectorProps(cfg.Window, cfg.Limit)).Name("detector")
	if cfg.Output != "" {
		operators.WriteFiles(spends, cfg.Output).Name("spends")
	} else {
		operators.WriteJSONLines(spends, cfg.Stdout).Name("spends")
	}
	return p
}

// DetectorProps returns the props of the detector actor: windows of size
// window, alerts above limit cents.
func DetectorProps(window time.Duration, limit int64) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &Detector{Window: window.Milliseconds(), Limit: limit}
	})
}

// Spec returns the registry entry of the pipeline, writing to os.Stdout
// when no output directory is given.
func Spec() actors.PipelineSpec { return SpecTo(os.Stdout) }

// SpecTo is Spec with another writer in place of standard output.
func SpecTo(stdout io.Writer) actors.PipelineSpec {
	return actors.PipelineSpec{
		Name:        Name,
		Description: "per-account spending per event-time window of a JSON lines file of card transactions, by a keyed actor; alerts above a limit",
		Params: []actors.Param{
			{Name: "input", Description: `JSON lines of {"id","account","amount" (cents),"at" (epoch ms)}`, Required: true},
			{Name: "output", Description: "directory for part files; empty: standard output"},
			{Name: "window", Description: "window size", Default: DefaultWindow.String()},
			{Name: "limit", Description: "cents spent in a window above which it is an alert", Default: fmt.Sprint(DefaultLimit)},
			{Name: "out-of-order", Description: "how late a transaction may come", Default: DefaultOutOfOrder.String()},
			{Name: "rate", Description: "transactions per second per source subtask; 0: unlimited", Default: "0"},
		},
		Build: func(ps actors.Params) (*operators.Pipeline, error) { return build(ps, stdout) },
	}
}

func build(ps actors.Params, stdout io.Writer) (*operators.Pipeline, error) {
	cfg := Config{Input: ps.String("input"), Output: ps.String("output"), Stdout: stdout}
	var err error
	if cfg.Window, err = positiveDuration(ps, "window"); err != nil {
		return nil, err
	}
	if cfg.OutOfOrder, err = positiveDuration(ps, "out-of-order"); err != nil {
		return nil, err
	}
	limit, err := ps.IntAtLeast("limit", 1)
	if err != nil {
		return nil, err
	}
	cfg.Limit = int64(limit)
	if cfg.Rate, err = ps.FloatAtLeast("rate", 0); err != nil {
		return nil, err
	}
	if err := endpoint.Input(ps, "input", false); err != nil {
		return nil, err
	}
	if err := endpoint.Output(ps, "output", false); err != nil {
		return nil, err
	}
	return New(cfg), nil
}

// positiveDuration reads parameter name as a duration of at least a
// millisecond.
func positiveDuration(ps actors.Params, name string) (time.Duration, error) {
	d, err := ps.Duration(name)
	if err != nil {
		return 0, err
	}
	if d < time.Millisecond {
		return 0, ps.Invalid(name, fmt.Errorf("must be at least 1ms"))
	}
	return d, nil
}
