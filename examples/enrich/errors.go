package enrich

import "errors"

// Errors of a call to the service. The error a record fails with wraps
// exactly one of them and names the record's id.
var (
	// ErrUnavailable is wrapped by a 5xx reply, a 429 Too Many Requests
	// and a transport error (connection refused or reset, a body cut
	// short): the service may answer a later attempt, so these are
	// retried.
	ErrUnavailable = errors.New("enrich: service unavailable")
	// ErrRejected is wrapped by a reply that is neither 200, 429 nor 5xx,
	// such as 404: the service answered, and asking again would get the
	// same answer, so it is not retried.
	ErrRejected = errors.New("enrich: service rejected the request")
	// ErrBadReply is wrapped when a 200 reply's body is not a JSON object
	// or is larger than MaxReplyBytes. It is not retried.
	ErrBadReply = errors.New("enrich: malformed reply")
)

// Errors of configuration and input.
var (
	// ErrConfig is wrapped by New and Enrich for an invalid Config; the
	// error names the field. Spec reports bad parameters with
	// actors.ErrBadParam instead, naming the parameter.
	ErrConfig = errors.New("enrich: invalid config")
	// ErrRecord is wrapped when an input line is not a JSON object with an
	// integer "id". The file source fails the job with it, naming the
	// file and line (see operators.ReadJSONLines).
	ErrRecord = errors.New("enrich: invalid record")
)

// Retryable reports whether err is worth another attempt: a 5xx or 429
// reply, or a transport error. It is the predicate of the retry strategies built by
// DefaultRetry and ParseRetry; a custom Config.Retry should use it too
// (async.RetryOnError(enrich.Retryable)).
func Retryable(err error) bool { return errors.Is(err, ErrUnavailable) }
