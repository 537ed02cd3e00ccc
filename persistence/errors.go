package persistence

import "errors"

// Sentinel errors. Functions wrap them with %w and a detail naming what is
// wrong and where, so test them with errors.Is.
var (
	// ErrCorrupt is returned by Unseal, UnmarshalKeyedSnapshot,
	// UnmarshalOperatorSnapshot and a backend's Restore when bytes are not
	// a well-formed snapshot: bad magic, truncated data, a length or
	// checksum mismatch, an unknown kind, a malformed or duplicated entry.
	ErrCorrupt = errors.New("persistence: corrupt snapshot")

	// ErrVersion is returned by Unseal when the snapshot was written in a
	// format version this build cannot read.
	ErrVersion = errors.New("persistence: unsupported snapshot format version")

	// ErrMaxParallelism is returned by a backend's Restore when a snapshot
	// was taken with another max parallelism (number of key groups) than
	// the backend's: keys would map to other key groups.
	ErrMaxParallelism = errors.New("persistence: max parallelism mismatch")

	// ErrKeyGroup is returned by a backend's Snapshot when a key's group
	// (BackendConfig.KeyGroupOf) lies outside the backend's owned range,
	// and by its Restore when a key group is out of range or is
	// present in more than one of the snapshots being restored.
	ErrKeyGroup = errors.New("persistence: bad key group")

	// ErrStateExists is returned when a state name is registered a second
	// time with another kind, value type or TTL configuration.
	ErrStateExists = errors.New("persistence: state already registered differently")

	// ErrIncompatible is returned when restored entries do not fit the
	// state registered under their name: another kind of state, or bytes
	// the descriptor's (or the backend's key) codec cannot decode. It is
	// returned by a backend's Restore for states already registered and by
	// the registration functions (Value, List, …) for entries restored
	// before their state was registered.
	ErrIncompatible = errors.New("persistence: state incompatible with snapshot")

	// ErrConfig is returned when a BackendConfig or a state descriptor is
	// invalid, or lacks a codec that Snapshot or Restore needs; the detail
	// names the field (and the state).
	ErrConfig = errors.New("persistence: invalid configuration")

	// ErrStorage is returned by NewBoltBackend when the file cannot be
	// opened (or is not a bbolt file), and by the other methods of a
	// BoltBackend when reading or writing it fails; the detail names the
	// file. The state methods, which return no errors, record it for
	// BoltBackend.Err, Flush and Snapshot.
	ErrStorage = errors.New("persistence: state storage failed")

	// ErrClosed is returned by a BoltBackend used after Close.
	ErrClosed = errors.New("persistence: state backend closed")

	// ErrNoCheckpoint is returned by a checkpoint store asked for a
	// checkpoint it does not hold (or holds no longer).
	ErrNoCheckpoint = errors.New("persistence: no such checkpoint")

	// ErrDiscarded is returned by a checkpoint store's WriteState and
	// WriteStateFrom for a checkpoint it has discarded: the write came
	// after the checkpoint's abort, and what it would store has no
	// reader and no later discard.
	ErrDiscarded = errors.New("persistence: checkpoint discarded")

	// ErrRecordNotFound, ErrRecordExists and ErrStaleRevision are the
	// answers of a job store (cluster.JobStore; DirJobStore, the NATS
	// key-value store) to a key without a value, a create of a key that
	// has one, and a compare-and-set whose revision is no longer the
	// key's.
	ErrRecordNotFound = errors.New("persistence: no record under that key")
	ErrRecordExists   = errors.New("persistence: record already exists")
	ErrStaleRevision  = errors.New("persistence: record was written since that revision")
)
