package jetstream_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream"
	"github.com/troupe-dev/troupe/watermark"
)

type order struct {
	ID       string  `json:"id"`
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
	PlacedAt int64   `json:"placedAt"` // epoch ms
}

type total struct {
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
}

// Orders from two subjects of a stream, totals per customer into another
// stream, exactly once under checkpoints. It needs a NATS server with
// JetStream and the two streams.
func Example() {
	p := operators.NewPipeline("totals")
	wm := watermark.ForBoundedOutOfOrderness(5 * time.Second)
	wm.IdleTimeout = 10 * time.Second // a quiet region does not hold the others back
	orders, err := jetstream.FromJetStream(p, jetstream.SourceConfig[order]{
		URL:           "nats://127.0.0.1:4222",
		Stream:        "ORDERS",
		Subjects:      []string{"orders.eu", "orders.us"},
		Timestamp:     func(o order, _ time.Time) int64 { return o.PlacedAt },
		Watermarks:    wm,
		OnDecodeError: jetstream.DeadLetter,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	operators.Print(operators.GetSideOutput(orders, jetstream.DeadLetters)) // the malformed ones
	totals := operators.Reduce(
		operators.KeyBy(operators.Map(orders, func(o order) total { return total{o.Customer, o.Amount} }),
			func(t total) string { return t.Customer }),
		func(acc, t total) total { acc.Amount += t.Amount; return acc })
	if _, err := jetstream.ToJetStream(totals, jetstream.SinkConfig[total]{
		URL: "nats://127.0.0.1:4222", Stream: "TOTALS", Subject: "totals",
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}

	cfg := actors.DefaultConfig()
	cfg.Checkpoint.Interval = time.Second // exactly once
	engine, err := actors.NewEngine(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer engine.Close()
	if err := engine.Run(context.Background(), p); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
