package natsstore

import "errors"

// Sentinel errors, wrapped with %w and a detail naming the store's
// servers, the bucket and the key or checkpoint. Besides these, the
// store's methods return persistence's: ErrRecordNotFound,
// ErrRecordExists, ErrStaleRevision (job records), ErrNoCheckpoint
// (checkpoints). No error type of nats.go crosses the API: their text is
// kept, their type is not.
var (
	// ErrConfig is returned by ParseURL and Open for an invalid URL or
	// Config; the detail names the field or the part of the URL.
	ErrConfig = errors.New("natsstore: invalid configuration")

	// ErrUnavailable is returned when the servers did not answer an
	// operation within Config.Timeout, retries included (no server
	// reachable, no leader elected for a bucket, a cluster without a
	// majority); the detail holds the last error seen.
	ErrUnavailable = errors.New("natsstore: store unavailable")

	// ErrStore is returned when the servers refused an operation for
	// good: a bucket that cannot be created, a value over the servers'
	// size limit, a damaged object.
	ErrStore = errors.New("natsstore: store error")

	// ErrRefused is returned when the servers refused the store's
	// connection: its credentials (an authorization violation, expired
	// or revoked credentials) or TLS (a server certificate the CA did
	// not sign or that does not name the host, a client certificate the
	// server does not accept, TLS wanted by one end only). Retrying does
	// not mend it: the detail holds the servers' answer.
	ErrRefused = errors.New("natsstore: the NATS servers refused the connection")

	// ErrClosed is returned by a Store's methods (and those of its job
	// and checkpoint stores) after Close.
	ErrClosed = errors.New("natsstore: store closed")
)
