package operators

import "errors"

// Sentinel errors returned by Pipeline.Build, each wrapped with the name of
// the operator it concerns.
var (
	// ErrEmptyPipeline is returned when a pipeline has no operators at all.
	ErrEmptyPipeline = errors.New("operators: pipeline is empty")
	// ErrNoSink is returned when a pipeline has no sink, or when a branch of
	// it ends in an operator whose output goes nowhere.
	ErrNoSink = errors.New("operators: no sink")
	// ErrParallelism is returned for a parallelism below 1 or above the max
	// parallelism.
	ErrParallelism = errors.New("operators: invalid parallelism")
	// ErrNoKeyFunc is returned when KeyBy is given a nil key function.
	ErrNoKeyFunc = errors.New("operators: missing key function")
	// ErrDuplicateName is returned when two operators share a name.
	ErrDuplicateName = errors.New("operators: duplicate operator name")
	// ErrNilFunc is returned when an operator is given a nil user function.
	ErrNilFunc = errors.New("operators: nil function")
	// ErrForeignStream is returned when streams of different pipelines are
	// combined.
	ErrForeignStream = errors.New("operators: stream belongs to another pipeline")
	// ErrDecode is wrapped by source errors for input that cannot be decoded;
	// the message names the file and line.
	ErrDecode = errors.New("operators: cannot decode input")
)
