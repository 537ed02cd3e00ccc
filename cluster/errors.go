package cluster

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions wrap them with %w and a detail naming the
// field or the node, so test them with errors.Is. No error of memberlist
// crosses this package's API unwrapped: its text is kept, its type is not.
var (
	// ErrConfig is returned by New for an invalid Config; the wrapping
	// error names the field.
	ErrConfig = errors.New("cluster: invalid config")

	// ErrMeta is returned by NodeMeta.MarshalBinary, UnmarshalBinary and
	// Validate for metadata that is malformed: an empty required field, an
	// address that is not host:port, a negative slot count, truncated or
	// trailing bytes, a non-canonical encoding. The wrapping error names
	// the field.
	ErrMeta = errors.New("cluster: invalid node metadata")

	// ErrMetaTooLarge is returned by NodeMeta.MarshalBinary (and so by New
	// and UpdateMeta) when a field is longer than MaxFieldLen or the
	// encoding is longer than MaxMetaSize, memberlist's limit; the wrapping
	// error names the field that is too long (for the total, the longest).
	ErrMetaTooLarge = errors.New("cluster: node metadata too large")

	// ErrMetaVersion is returned by NodeMeta.UnmarshalBinary for bytes
	// written in a format version this build cannot read (a newer node).
	ErrMetaVersion = errors.New("cluster: unsupported node metadata version")

	// ErrClosed is returned by UpdateMeta and Leave after Close.
	ErrClosed = errors.New("cluster: membership closed")

	// ErrLeft is returned by UpdateMeta after Leave: the node has said
	// goodbye and memberlist no longer gossips about it.
	ErrLeft = errors.New("cluster: node has left the cluster")

	// ErrTimeout is returned by UpdateMeta and Leave when the broadcast was
	// not confirmed within the timeout. The change is made anyway: the
	// local node serves the new metadata (or has left) and the others
	// learn it by later gossip or full state sync, or, for a leave, by
	// failure detection (then they see EventDead).
	ErrTimeout = errors.New("cluster: broadcast not confirmed in time")

	// ErrArgument is returned for an invalid argument of a method, such as
	// a timeout that is not positive.
	ErrArgument = errors.New("cluster: invalid argument")

	// ErrUnknownJob is returned by the job service for a job id it does not
	// know (HTTP 404).
	ErrUnknownJob = errors.New("cluster: unknown job")

	// ErrBadRequest is returned by the job service for a request that can
	// never succeed as it is: an unknown pipeline, a bad parameter, a bad
	// field, a restore path that does not exist (HTTP 400). The wrapping
	// error names the field.
	ErrBadRequest = errors.New("cluster: bad request")

	// ErrJobEnded is returned for an operation on a job that has ended,
	// such as a savepoint of a finished job (HTTP 409).
	ErrJobEnded = errors.New("cluster: job has ended")

	// ErrNoCoordinator is returned when no coordinator is known or it
	// cannot be reached (HTTP 503).
	ErrNoCoordinator = errors.New("cluster: no coordinator reachable")
)

// errNoSlots: the live members have too few free slots for a job; the job
// waits for slots (StateWaitingForSlots).
var errNoSlots = errors.New("cluster: not enough free slots")

// FieldError is a bad request about one field of a JobRequest. It wraps
// ErrBadRequest and the cause; Field names the request's field
// ("pipeline", "params", "parallelism", "restore", …), which the REST API
// returns beside the message.
type FieldError struct {
	Name string
	Err  error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Err) }

// Field names the request field the error is about.
func (e *FieldError) Field() string { return e.Name }

// Unwrap gives ErrBadRequest and the cause.
func (e *FieldError) Unwrap() []error { return []error{ErrBadRequest, e.Err} }

func badField(name string, err error) error { return &FieldError{Name: name, Err: err} }

// OwnerError says that a job is run by another live node than the one
// asked: its owner, which took it over while this node was cut off (it
// can happen for a while after a partition heals). The request must go
// to the owner's HTTP address; the REST layer forwards it there. It
// wraps ErrNoCoordinator (HTTP 503) for a caller that cannot forward.
type OwnerError struct {
	Job, Node, HTTPAddr string
}

func (e *OwnerError) Error() string {
	return fmt.Sprintf("%v: job %s is run by node %s (%s), not by the coordinator", ErrNoCoordinator, e.Job, e.Node, e.HTTPAddr)
}

// Unwrap gives ErrNoCoordinator.
func (e *OwnerError) Unwrap() error { return ErrNoCoordinator }
