// Package demo is the job `node start --demo` runs, registered in the
// node command as "demo": a continuous Nexmark auction stream through a
// keyed event-time window and an async enrichment, so that the
// dashboard has something to show.
//
// # Shape
//
//	events -> timestamps -> bids  (Nexmark generator, rate-limited)
//	  --hash by auction-->  bids-per-auction  (tumbling 5 s event-time window, count)
//	  --rebalance-->        enrich -> sink    (async lookup of each auction in a catalog)
//
// The generator's event time follows the clock from the job's start
// parameter (the submission time), at rate events per second, so the
// watermark moves in real time, about MaxOutOfOrderness behind. The
// catalog is an in-process service ([Catalog]) that answers after a
// short random delay and fails a small share of calls, which the async
// operator retries: its in-flight count, latency and retries show in the
// metrics. The sink discards the enriched rows: the demo is about the
// engine, not its output.
//
// # Caveats
//
// With the rate above what the node can do, the source is backpressured
// and event time falls behind the clock: the watermark lag grows. That is
// the demo too.
package demo
