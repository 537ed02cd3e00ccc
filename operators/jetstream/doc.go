// Package jetstream connects troupe pipelines to NATS JetStream: a
// replayable source, an exactly-once sink, and lookups for AsyncMap (a
// key-value bucket, a request/reply service).
//
// # Basics
//
// [FromJetStream] reads a stream, split by subject filters over the
// source's subtasks. Each split is read by an ordered consumer from the
// stream sequence its checkpoint recorded, on a fetcher goroutine of the
// subtask; nothing is acknowledged, the checkpoint is the position. With
// [SourceConfig].Watermarks each split makes its own watermarks, and a
// split without messages for the idle timeout stops holding the
// subtask's watermark back. Messages that do not decode fail the job,
// naming the stream and sequence, or go to the [DeadLetters] side
// output.
//
// [ToJetStream] publishes records into a stream. Under checkpoints it is
// exactly-once by two-phase commit: an epoch's records are staged in the
// checkpoint and published when it completes, each with a Nats-Msg-Id
// that a repeated commit reuses, so that the server drops the copies. It
// can also publish at once, at least once.
//
// [KVLookup] and [Request] build async functions for
// operators.AsyncMap from a [Client]: enrichment from a key-value bucket,
// and calls to a NATS service.
//
// [ParseURL] reads the nats://HOST:PORT/STREAM?subject=… URLs that the
// node's pipelines take as input and output; [Load] stores records into
// a stream (the node's publish command uses it).
//
// # Caveats
//
//   - Exactly-once output relies on the server's de-duplication, which
//     lasts the stream's duplicate window (2 minutes by default): a
//     commit repeated later than that after its first attempt (a restart
//     slower than the window, a restore from an old savepoint) would
//     store its messages again. A restore detects it and, by default,
//     fails (ErrLateCommit); SinkConfig.LateCommit can republish or skip
//     instead. See ToJetStream.
//   - A checkpoint holds the sink's output since the previous one:
//     choose the checkpoint interval with the output rate in mind.
//   - A source resumes from its stream sequence; messages the stream's
//     limits removed meanwhile are lost to the job (a warning names them
//     for unfiltered splits).
//   - Subject filters of one source must not overlap.
//
// The package imports operators, never the other way round; NATS appears
// only here (and in jstest, the embedded server for tests).
package jetstream
