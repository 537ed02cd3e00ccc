package rest

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/troupe-dev/troupe/cluster"
)

// ErrorBody is the JSON body of every error response:
// {"error": "...", "field": "..."}. Field names the request field (by its
// JSON name, such as "parallelism" or "params"), or the header
// ("Content-Type") or "body" itself, when the error is about one; it is
// omitted otherwise.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// RequestError is a request the handler rejects before it reaches the
// service: a body that is malformed, too large or of the wrong type, or a
// field with an impossible value. It wraps cluster.ErrBadRequest.
type RequestError struct {
	// Status is the HTTP status: 400, or 413 for a body over the limit,
	// 415 for a content type other than JSON.
	Status int
	// Name is what the error is about: a field's JSON name, "body" or
	// "Content-Type".
	Name string
	// Reason says what is wrong, naming the value.
	Reason string
}

func (e *RequestError) Error() string { return e.Name + ": " + e.Reason }

// Field returns the field the error is about; the handler reports it in
// ErrorBody.Field.
func (e *RequestError) Field() string { return e.Name }

// Unwrap returns cluster.ErrBadRequest: a request that can never succeed
// as it is.
func (e *RequestError) Unwrap() error { return cluster.ErrBadRequest }

func badField(name, format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Name: name, Reason: fmt.Sprintf(format, args...)}
}

// fielder is an error that names the request field it is about.
type fielder interface {
	error
	Field() string
}

// fieldOf returns the field err names, or "".
func fieldOf(err error) string {
	if f, ok := errors.AsType[fielder](err); ok {
		return f.Field()
	}
	return ""
}

// statusOf maps an error to its HTTP status; see JobService.
func statusOf(err error) int {
	if re, ok := errors.AsType[*RequestError](err); ok {
		return re.Status
	}
	switch {
	case errors.Is(err, cluster.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, cluster.ErrUnknownJob):
		return http.StatusNotFound
	case errors.Is(err, cluster.ErrJobEnded):
		return http.StatusConflict
	case errors.Is(err, cluster.ErrNoCoordinator):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrUnauthorized is what an APIError of status 401 wraps: the node
// requires an API token and the request had none, or not one it accepts.
var ErrUnauthorized = errors.New("rest: missing or wrong API token")

// APIError is an error response as a Client sees it. It wraps the
// cluster sentinel of its status (see Unwrap), so callers test it with
// errors.Is, and carries the server's message and field.
type APIError struct {
	// StatusCode is the response's HTTP status.
	StatusCode int
	// Message is the server's "error", or, for a response that is not a
	// JSON error (a proxy's, another program's), the status and the
	// start of the body.
	Message string
	// FieldName is the server's "field", if any.
	FieldName string
	// Method and URL are those of the request.
	Method, URL string
}

// Error returns the server's message: it names what is wrong.
func (e *APIError) Error() string { return e.Message }

// Field returns the field the server named, or "".
func (e *APIError) Field() string { return e.FieldName }

// Unwrap returns the sentinel of the status: 401 ErrUnauthorized, 404
// cluster.ErrUnknownJob, 409 cluster.ErrJobEnded, 503
// cluster.ErrNoCoordinator, any other 4xx cluster.ErrBadRequest; nil for
// other statuses.
func (e *APIError) Unwrap() error {
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.StatusCode == http.StatusNotFound:
		return cluster.ErrUnknownJob
	case e.StatusCode == http.StatusConflict:
		return cluster.ErrJobEnded
	case e.StatusCode == http.StatusServiceUnavailable:
		return cluster.ErrNoCoordinator
	case e.StatusCode >= 400 && e.StatusCode < 500:
		return cluster.ErrBadRequest
	}
	return nil
}
