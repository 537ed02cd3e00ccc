// Package operators is troupe's pipeline API: typed streams built with
// generics, the built-in operators, sources and sinks, and the compiled job
// graph that the runtime (package actors) deploys.
//
// # Model
//
// A [Pipeline] is a directed acyclic graph of nodes. Sources create
// [Stream] values; functions such as [Map], [Filter], [FlatMap], [KeyBy],
// [Reduce] and [ProcessKeyed] add nodes; sinks such as [Print], [Collect] and
// [WriteFiles] end a branch. [Pipeline.Build] validates the graph and
// compiles it to a [JobGraph]: nodes joined by forward edges of equal
// parallelism are chained into one vertex, so records pass between them as
// plain function calls, and every other edge becomes a set of channels
// between subtasks.
//
// # User functions
//
// Functions get a context with each call ([ProcessContext],
// [KeyedContext], [WindowContext]): the timestamp, the watermark, side
// outputs (ctx.Output(tag.Of(v))) and, on keyed streams, any number of
// named states got through descriptors ([GetValueState], [GetListState],
// [GetMapState], [GetReducingState], [GetAggregatingState]), as Flink's
// keyed state. The …Rich constructors ([MapRich], [ProcessKeyedRich],
// [AsyncMapRich], …) take a constructor of the user's function type, made
// once per subtask, whose Open and Close run once per subtask, as Flink's
// rich functions ([RuntimeContext]). Type parameters are in one order:
// the record type first, then the key, then the rest.
//
// # Invariants
//
//   - This package never imports the runtime: operators are plain Go values
//     that a subtask drives from a single goroutine. Nothing here is ever
//     called concurrently for one subtask, so operators need no locks.
//   - Records travel in batches ([Batch]) of [Element] values; the hot path
//     is typed end to end and uses no reflection and no interface boxing per
//     record.
//   - Key groups are hash(key) mod max parallelism with a hash that is the
//     same in every process, so that state can later move between nodes and
//     parallelisms by key group.
//   - A value handed to a [Collector] belongs to the receiver: an operator
//     must not mutate a value after emitting it.
package operators
