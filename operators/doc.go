// Package operators is troupe's pipeline API: typed streams built with
// generics, the built-in operators, sources and sinks, and the compiled job
// graph that the runtime (package actors) deploys.
//
// # Building a pipeline
//
// A [Pipeline] is a directed acyclic graph of nodes. Sources create
// [Stream] values; functions such as [Map], [Filter], [FlatMap], [KeyBy],
// [Reduce] and [ProcessKeyed] add nodes; sinks such as [Print], [Collect] and
// [WriteFiles] end a branch. [Pipeline.Build] validates the graph and
// compiles it to a [JobGraph]: nodes joined by forward edges of equal
// parallelism are chained into one vertex, so records pass between them as
// plain function calls, and every other edge becomes a set of channels
// between subtasks. [Stream.StartNewChain] keeps an operator out of the
// chain before it. A chain of operators that emit at most one record per
// record (map, filter, reduce, sinks), over records without pointers,
// passes them on in runs of up to 16, one call per operator and run; the
// functions are still called once per record, in order (the batch path,
// batch_path.go).
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
// Sources of one's own implement [Reader] (added with [FromReader]),
// sinks [SinkWriter] (added with [ToSink]); async I/O calls a service
// without waiting for each reply ([AsyncMap], [AsyncMapBatch]).
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
//
// # For runtimes
//
// The rest of the exported API is the seam between a pipeline and the
// runtime that runs it — package actors, and testkit's harness in tests.
// Pipelines never need it.
//
//   - The graph: a [JobGraph]'s [Vertex] values, their [VertexEdge]s and
//     channels ([Vertex.InputChannels], [Vertex.OutputChannels]); an edge
//     encodes and decodes batches for other nodes ([VertexEdge.EncodeBatch]);
//     [Vertex.AsyncOperators] tells what its async operators may hold, for a
//     memory budget.
//   - A subtask: [Vertex.Open] opens one subtask's operators as a [Chain]
//     from a [ChainConfig]. The runtime drives it from one goroutine: it
//     feeds input batches ([Chain.Consume]), watermarks and statuses,
//     processing time, and messages for its operators
//     ([Chain.HandleMessage]); polls its source ([SourceRunner]); ends and
//     closes it. Output leaves through the runtime's [Shipper]. When the
//     output waits for credit ([ChainConfig.OutputFull]) or the runtime
//     has urgent mail ([ChainConfig.Urgent]), the chain stops between two
//     records (two runs, on the batch path) and holds the rest until
//     [Chain.Resume] ([Chain.Pending]).
//   - Checkpoints: [Chain.PrepareSnapshot] (and [Chain.AbortSnapshot]
//     for one prepared and never taken), [Chain.Snapshot] and
//     [Chain.NotifyCheckpointComplete]; restored state comes in
//     [ChainConfig.Restore]. What the chain holds is in-flight data for
//     an unaligned checkpoint: the rest of an input batch
//     ([Chain.HeldInput], [VertexEdge.EncodeBatchFrom]) and the rest of a
//     source's poll ([Chain.HeldSource], [Chain.PrepareUnalignedSnapshot],
//     [Chain.RestoreHeldSource]).
//   - Runtime services: a [Host] in [TaskContext.Host] runs what built-in
//     operators cannot run on the subtask's goroutine — async I/O's calls
//     and sequencer ([AsyncInvoker], [AsyncSequencer], [AsyncCall]). A
//     runtime may offer more through interfaces its operators find by type
//     assertion (the actors runtime's ActorHost); [External] and
//     [KeyedExternal] add such operators, with [ExternalState] for the
//     keyed state they lend to code off the subtask's goroutine.
//   - Tests inject failures through [FaultInjector] and
//     [PointFaultInjector].
package operators
