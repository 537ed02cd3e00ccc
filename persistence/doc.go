// Package persistence holds the state of stream operators: the keyed
// state API (value, list, map, reducing and aggregating state, with TTL),
// the two state backends that store it (heap and bbolt), operator
// (non-keyed) list state, and the versioned, checksummed snapshot format
// of both.
//
// # Basics
//
// A keyed operator subtask owns one Backend: a HeapBackend (the default)
// or a BoltBackend. It registers its states by name with the generic
// functions Value, List, Map, Reducing and Aggregating, lazily and in any
// order, and before handing each record to user code it calls
// SetCurrentKey with the record's key: every state then reads and writes
// that key's entry. The heap backend stores values per key in Go maps; an
// access costs one map lookup and, for value state, no allocation. The
// bbolt backend stores them encoded in a bbolt file, one bucket per
// state, behind a write-back cache of decoded entries
// (BackendConfig.CacheEntries) that is written to the file in one
// transaction when it outgrows its bound and at every snapshot. Both take
// the same snapshots, so either restores the other's.
//
// Key groups are how state moves when a job is rescaled. A key's group is
// BackendConfig.KeyGroupOf(key), in [0, MaxParallelism); a subtask owns a
// contiguous Range of them. HeapBackend.Snapshot encodes the entries of
// all states by key group into a KeyedSnapshot; HeapBackend.Restore takes
// the snapshots of all old subtasks and keeps the entries of the key
// groups the backend owns. Entries of a state that is not yet registered
// stay pending until it is, and are included in snapshots meanwhile.
//
// Non-keyed state is an OperatorSnapshot of named byte lists; Redistribute
// gives each subtask back its own lists at an unchanged parallelism, deals
// their entries round robin over a new one, and copies union lists to
// every subtask.
//
// Snapshots are stored sealed: Seal wraps a payload with a magic number,
// FormatVersion, a Kind, the payload's length and a CRC-32C checksum, and
// Unseal checks all of them. Every decoder in this package validates its
// input completely and returns an error wrapping ErrCorrupt, naming what
// is wrong and at which offset, rather than panicking.
//
// An unaligned checkpoint also stores each subtask's in-flight data, a
// ChannelState (its own magic and version, inside the store's envelope);
// the metadata of such a checkpoint is sealed at FormatVersionChannels, so
// that a build that knows nothing of channel state refuses it rather than
// restore it without its in-flight records.
//
// # Invariants
//
//   - A snapshot never contains expired entries.
//   - A snapshot is a copy: changing state after Snapshot returns does
//     not change it, and Restore does not alias the snapshot's bytes.
//   - Restore either succeeds or changes nothing.
//   - A state name means one kind and type of state per backend.
//
// # Caveats
//
// A backend and its states are not safe for concurrent use: they belong
// to one subtask's mailbox loop and must never be called concurrently.
// Snapshot encodes synchronously (a copy; with bbolt, from one read
// transaction after a flush); writing the bytes out is the caller's
// business and may be asynchronous. For state larger than memory,
// BoltBackend.BeginSnapshot does only the flush and opens the read
// transaction; the BoltSnapshot it returns is encoded later, on another
// goroutine, streaming into a store's WriteStateFrom (a StateSource),
// and must be closed before the backend is.
//
// With the bbolt backend a state's value is a copy: changing a value in
// place (a map or slice inside it) without calling Update is lost once the
// entry leaves the cache. The state methods return no errors, so a
// failure to read or write the file is recorded and returned by
// BoltBackend.Err, Flush and Snapshot: the checkpoint fails, and the
// subtask recovers from the previous one.
//
// TTL cleanup is lazy: an expired entry is removed when its key is read,
// and each access to a state with TTL examines a few other keys, chosen at
// random by map iteration, so in a large state expired entries may stay in
// memory a while; the bbolt backend instead examines a few hundred
// entries of the file at each flush, going round. Expired entries stay
// invisible (unless the state is configured with
// ReturnExpiredIfNotCleanedUp) and are never snapshotted.
//
// With the heap backend the state's codecs and the backend's key codec are
// needed only by Snapshot and Restore, and a missing one is reported then;
// the bbolt backend needs them all from the start (NewBoltBackend and the
// registration functions report a missing one).
package persistence
