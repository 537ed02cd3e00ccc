// Package fraud is the example of a pipeline built around a user's own
// actor: fraud detection on card transactions, with per-account spending
// summed over event-time windows by a keyed actor (actors.FromKeyedActor)
// that keeps its sums in the engine's keyed state and closes each window
// with an event-time timer. It is registered in the node command as
// "fraud", and is exactly-once under failures and SIGKILL like the
// built-in operators' pipelines.
//
// # Shape
//
//	txns (ReadJSONLines) -> timestamps (AssignTimestamps, bounded
//	    out-of-orderness) -> KeyBy account -> detector (FromKeyedActor:
//	    MapState of window → spending, a timer per window) -> spends
//	    (WriteFiles, exactly-once)
//
// Every window with spending gives one Spend; a window whose spending is
// above the limit is an alert. A transaction later than its window's end
// (more than the out-of-orderness after a later one) is a Spend of its
// own, marked late; with an input disordered by less than the
// out-of-orderness, as Generate writes, none is, so that every run gives
// the same output (Reference computes it without the engine).
//
// # The actor
//
// Detector is a Proto.Actor actor. Its first message, Open, gives it the
// keyed state, from which it gets a MapState once; it then handles
// KeyedInput (the transactions, each with its account as the current
// key), Timers (the windows the watermark has closed, each timer with
// its account current) and EndOfInput, and answers each with the Spends
// it emits. It keeps nothing in its fields that a restart would lose:
// the sums and the timers are the engine's, checkpointed by key group.
package fraud
