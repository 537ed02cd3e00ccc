// Package natsstore keeps a cluster's durable state in NATS JetStream:
// the job records in a key-value bucket, with compare-and-set by
// revision (JobStore), and the checkpoints and savepoints of every job
// run (CheckpointStore): the subtasks' states in an object store, the
// checkpoints' metadata in a key-value bucket. It is what `--store
// nats://HOST:PORT[,…]` opens (see cluster.OpenStore); the servers may
// be an external NATS cluster or the ones the nodes embed
// (cluster/natsembed).
//
// # Basics
//
// Open connects to the servers and returns a Store; its buckets,
// <Prefix>-jobs and <Prefix>-checkpoints, are found or created with
// Config.Replicas at the first operation. With three servers and
// Replicas 3 every bucket survives the loss of one server: JetStream
// replicates each write to a majority before it answers.
//
// The checkpoint stores follow persistence.DirStore: a checkpoint is
// complete exactly when its metadata is stored, which happens last;
// retention keeps the newest Retain complete checkpoints of a run and
// every savepoint, and never removes a checkpoint in progress; Discard
// removes what an aborted checkpoint wrote. A checkpoint's path,
// nats://<bucket>/<job>/<run>/chk-<id>, opens from any run's store of the
// same bucket and from Store.OpenCheckpoint.
//
// Listing (job keys, a run's checkpoints) reads the subjects of a
// bucket's stream in one request, so a list is complete or the call
// fails: a restart never takes an older checkpoint than the newest
// complete one for want of having seen it.
//
// # Security
//
// Config.Security secures the connection: TLS (a CA to verify the
// servers, a client certificate for mutual TLS) and one kind of
// credentials (a token, a user and password, an nkey seed, a .creds
// file); Security.Check reads and checks its files beforehand. A
// connection the servers refuse — credentials, a certificate one end
// does not trust, TLS on one end only — fails an operation at once with
// ErrRefused and the servers' answer, instead of being retried until
// Config.Timeout: trying again does not mend it. The embedded server
// (cluster/natsembed) takes the same Security to require it of its
// clients and routes (Security.CheckServer).
//
// # Caveats
//
// Every operation is retried through the answers of a cluster that is
// electing a leader or a client that reconnects (see Config.Timeout);
// after that it fails with ErrUnavailable. Creating the buckets is also
// retried while the cluster cannot place their replicas ("no suitable
// peers for placement", as just after the cluster started): Replicas
// larger than the cluster fails so after Timeout, naming that answer. Reads are answered by the
// leader of a bucket's stream (direct gets, which followers answer and
// which may miss the latest write, are turned off on the buckets), so a
// job record or a checkpoint reads as last acknowledged.
//
// An object (a subtask's state) is written chunk by chunk, each
// acknowledged in order; chunks lost while the bucket's leader changes
// are sent again, and the object's description, which makes it exist,
// is written only once every chunk is proven stored once, in order (see
// chunks.go) — a write that reports success reads back. A state
// streamed from a StateSource can be encoded only once: a failure the
// writer cannot repair after its first byte fails that write (the
// checkpoint fails, and the next one is tried).
//
// Retention lists the run's checkpoints, not the bucket's; an instance
// lists the whole object store once (the first time it applies
// retention) to remove what crashed processes left, and Discard lists
// it each time. Checkpoints of finished runs stay until removed by hand,
// as on a file system: see docs/operations.md.
//
// JetStream writes to disk without fsync by default (it syncs every two
// minutes); a replicated bucket is safe against the loss of a minority of
// servers, a single server (Replicas 1) against a crash of the process
// but not of the machine.
package natsstore
