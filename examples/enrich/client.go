package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxReplyBytes bounds the body of a reply that is read: a larger one
// fails the record with ErrBadReply rather than the node's memory.
const MaxReplyBytes = 1 << 20

// drainBytes is how much of an unread body is discarded before closing it,
// so that its connection goes back to the pool instead of being closed.
const drainBytes = 64 << 10

// NewClient returns an HTTP client for a job that keeps up to capacity
// requests in flight per subtask. Go's default transport keeps only 2
// idle connections per host: with more requests in flight, every
// request beyond them would open a new connection and close it after.
// This one keeps capacity idle connections per host, so the connections
// of a full window are all reused. It has no overall timeout: each
// request's context carries the record's timeout.
func NewClient(capacity int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no limit over all hosts; the per-host one applies
	t.MaxIdleConnsPerHost = max(capacity, 2)
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

// ParseURL checks a service URL: absolute, http or https, with a host.
// Requests add "id=<id>" to its query.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("no host")
	case u.Fragment != "":
		return nil, fmt.Errorf("has a #fragment")
	}
	return u, nil
}

// service calls the enrichment service for one record. It is safe for
// concurrent use: it holds only immutable values and a shared client.
type service struct {
	client *http.Client
	prefix string // the URL up to and including "id="
}

func newService(client *http.Client, u *url.URL) *service {
	q := u.Query()
	q.Del("id") // the record's id replaces any the URL has
	sep := "?"
	if enc := q.Encode(); enc != "" {
		sep = "?" + enc + "&"
	}
	base := *u
	base.RawQuery, base.ForceQuery = "", false
	return &service{client: client, prefix: base.String() + sep + "id="}
}

// call is the pipeline's async function: the record merged with the
// service's reply, or an error wrapping ErrUnavailable, ErrRejected or
// ErrBadReply, or ctx's error once ctx is done.
func (s *service) call(ctx context.Context, in Record) ([]Record, error) {
	reply, err := s.get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return []Record{in.merge(reply)}, nil
}

// get fetches and decodes the reply for one id.
func (s *service) get(ctx context.Context, id int64) (map[string]json.RawMessage, error) {
	u := s.prefix + strconv.FormatInt(id, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: id %d: %v", ErrRejected, id, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, transportErr(ctx, id, err)
	}
	defer closeBody(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, statusErr(id, u, resp.Status, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplyBytes+1))
	if err != nil {
		return nil, transportErr(ctx, id, err)
	}
	return decodeReply(id, u, body)
}

// transportErr is retried, unless ctx ended the request: then the record
// has timed out (or the job is closing), which the operator handles.
func transportErr(ctx context.Context, id int64, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("enrich: id %d: %w", id, ctx.Err())
	}
	return fmt.Errorf("%w: id %d: %v", ErrUnavailable, id, err)
}

// statusErr classifies a reply other than 200: a 5xx, or a 429 Too Many
// Requests (the service asks the client to slow down, which the backoff
// does), may be answered by a later attempt; any other status would be
// given again.
func statusErr(id int64, u, status string, code int) error {
	kind := ErrRejected
	if code >= 500 || code == http.StatusTooManyRequests {
		kind = ErrUnavailable
	}
	return fmt.Errorf("%w: id %d: GET %s: %s", kind, id, u, status)
}

func decodeReply(id int64, u string, body []byte) (map[string]json.RawMessage, error) {
	if len(body) > MaxReplyBytes {
		return nil, fmt.Errorf("%w: id %d: GET %s: body larger than %d bytes", ErrBadReply, id, u, MaxReplyBytes)
	}
	var reply map[string]json.RawMessage
	if err := json.Unmarshal(body, &reply); err != nil || reply == nil {
		return nil, fmt.Errorf("%w: id %d: GET %s: body is not a JSON object: %.80q", ErrBadReply, id, u,
			strings.TrimSpace(string(body)))
	}
	return reply, nil
}

// closeBody discards what is left of a body, up to a bound, and closes
// it, so that the connection can be reused.
func closeBody(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, drainBytes)
	_ = b.Close()
}
