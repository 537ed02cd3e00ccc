// Package clickstream is the pipeline a new user builds first: a stream of
// clicks in event time, per-user profiles and sessions, per-page views per
// window, with exactly-once files. It is registered in the node command as
// "clickstream", and shows the parts of the API a Flink user looks for:
// named keyed state of every kind, functions with Open and Close, side
// outputs and a window function with its context.
//
// # Shape
//
//	clicks (ReadJSONLines) -> validate (ProcessRich; side output: invalid)
//	    -> timestamps (AssignTimestamps, bounded out-of-orderness)
//	    -> KeyBy user -> profiles (ProcessKeyedRich: value, list, map,
//	                               reducing and aggregating state, a timer)
//	    -> KeyBy user -> sessions (session windows, AggregateWindowWith)
//	    -> KeyBy page -> page-views (tumbling windows, ProcessWindowRich:
//	                                 per-window and global state; side output:
//	                                 trending)
//	late clicks of both windows -> late
//
// Each output goes to its own directory under the output directory
// (profiles, sessions, pages, trending, invalid, late) through
// operators.WriteFiles: with checkpoints on, every record is committed
// exactly once, also after failures.
//
// # Order
//
// The source, the validation and the timestamps run in one subtask, so
// that the clicks keep the file's order: each user's clicks reach their
// subtask of profiles in that order, which is what makes a profile's
// "recent pages" the same in every run. The keyed operators take the
// pipeline's parallelism. A click later than the watermark allows for
// its window (more than the out-of-orderness after a later click) goes to
// the late output; with the input in time order, none is.
package clickstream
