// Package nexmark is the Nexmark benchmark on troupe: the auction event
// model (persons, auctions, bids), a deterministic generator modelled on
// the Nexmark generator, and the queries q0, q1, q2, q3, q5, q7, q8 and
// q11, registered in the node command as the pipeline "nexmark".
//
// # Basics
//
// Events come from a JSON-lines file ([ReadEvents]), from a JetStream
// stream (input=nats://HOST:PORT/STREAM[?subject=…]; [Publish] loads the
// generator's events into one, by kind) or from the built-in
// [Generator]; rows go to part files, to standard output or to a
// JetStream stream (output=nats://…, exactly once under checkpoints).
// Event n of the generator is a person when n mod 50 is 0,
// an auction when it is 1, 2 or 3, and a bid otherwise (1 : 3 : 46), and it
// is a pure function of n and the seed, so the set of events does not
// depend on how many source subtasks share the numbers. Event time is an
// event's dateTime (epoch milliseconds); watermarks allow 4 s of
// out-of-orderness ([MaxOutOfOrderness]).
//
// Every query is a function from the event stream to a typed stream of
// result rows ([Q0] … [Q11]); [New] adds a source and a sink around one.
// Rows are written as one JSON object per line, in no particular order.
//
// # Caveats
//
// Records later than the watermark are dropped by the windowed queries
// (and counted by the engine): give a file's events at most 4 s of
// disorder per source split. A JetStream input makes watermarks per
// subject filter, and a filter without messages for [NATSIdleTimeout]
// stops holding the others back. The regular join of q3 keeps every matching
// person and every auction still waiting for its seller, forever, as an
// unwindowed join must.
package nexmark
