// Package wire holds the protobuf messages that troupe's runtime sends
// between nodes: a job master's control messages to its job agents and
// their reports (deploy, wiring, start, checkpoint trigger and
// completion, acks with state handles, failures), and the data of remote
// channels (batches of encoded records or events, and credits).
//
// The messages are generated from wire.proto (see its header for how to
// regenerate wire.pb.go). Within one process Proto.Actor passes them as
// pointers, unencoded; across nodes it encodes them with protobuf.
//
// # Invariants
//
//   - Every message carries the job run and the attempt it belongs to; a
//     receiver drops those of another run or attempt.
//   - Errors cross as text; the job master wraps them in errors that
//     name the operator, the subtask and the node.
//   - A Batch's payload never exceeds the sender's fragment cap
//     (actors.RemoteConfig.BatchBytes), far below the gRPC frame limit;
//     a larger logical batch is sent as several fragments.
package wire
