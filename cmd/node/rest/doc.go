// Package rest is the HTTP API of a troupe node: submit, list, inspect,
// cancel and savepoint jobs, list the members, show the node itself.
// NewHandler serves it over
// a Service (the node's job service and its view of the coordinator);
// Client calls it, for the command line.
//
// # Model
//
// Every node serves the API; the jobs are the coordinator's. A job
// request that reaches another node is checked there (a bad body is
// refused at once, whatever the cluster's state) and then forwarded to
// the coordinator's HTTP address with the same method, path and body; the
// coordinator's answer goes back unchanged. A forwarded request carries
// ForwardedHeader and is never forwarded again: if two nodes disagree
// about the coordinator for a moment, the second answers 503 rather than
// bounce the request between them. No coordinator known, or one that does
// not answer: 503 with Retry-After. A savepoint of a job that another
// node runs is forwarded by the coordinator to that node with
// OwnerHeader, which only the savepoint endpoint honours (a client can
// set it, and gains nothing by it). Members, node and healthz are
// answered by the node that is asked.
//
// # Errors
//
// Every error response is JSON, {"error": "...", "field": "..."}
// (ErrorBody), with field naming the request field at fault when there is
// one. Request bodies are decoded strictly: a JSON object with no unknown
// field and nothing after it, Content-Type application/json (415
// otherwise), at most DefaultMaxBodySize bytes (413 beyond). Impossible
// values (a negative parallelism, a checkpointInterval that is not a
// positive Go duration, an unknown stateBackend, a missing pipeline) are
// 400 before the service sees the request. The service's errors map by
// their cluster sentinel: ErrBadRequest 400, ErrUnknownJob 404,
// ErrJobEnded 409, ErrNoCoordinator 503, anything else 500 (and logged).
// A Client turns error responses back into errors that wrap the same
// sentinels (APIError), so a caller tests them with errors.Is.
//
// # Security
//
// With RequireTokens, every endpoint but HealthPath needs a bearer token
// ("Authorization: Bearer TOKEN") among the handler's Tokens; any other
// request gets 401 with WWW-Authenticate and an ErrorBody, before its body
// is read or it is forwarded. Tokens are compared by their SHA-256 in
// constant time, and can be replaced while the handler serves
// (Tokens.Set). A forwarded request keeps the client's Authorization
// header, which the coordinator checks again; WithForwardTLS forwards over
// HTTPS, verifying the coordinator with the cluster's CA. The handler
// does not terminate TLS itself: the server it runs in does. A Client
// sends WithToken's token, and an APIError of status 401 wraps
// ErrUnauthorized.
//
// # Threading
//
// The handler calls its Service from the goroutines of the HTTP server,
// concurrently; the Service must be safe for that. Client is safe for
// concurrent use.
package rest
