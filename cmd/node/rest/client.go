package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/troupe-dev/troupe/cluster"
)

// Client calls the REST API of a node. It is a JobService over HTTP
// (not a Service: where job requests go is the node's business, and the
// node forwards them). Its errors are *APIError for error responses,
// wrapping the cluster sentinel of the status, and errors naming the URL
// for requests that got no response. Safe for concurrent use.
type Client struct {
	base  string // scheme://host[:port][/prefix], no trailing slash
	hc    *http.Client
	token string // sent as a bearer token when not empty
}

// ClientOption configures NewClient.
type ClientOption func(*Client)

// WithToken sends token with every request, as "Authorization: Bearer
// TOKEN", for nodes that require one (RequireTokens).
func WithToken(token string) ClientOption { return func(c *Client) { c.token = token } }

var _ JobService = (*Client)(nil)

// maxResponseSize bounds what the client reads of a response: a job list
// of a busy cluster is large, but not this large.
const maxResponseSize = 64 << 20

// NewClient returns a client of the node at baseURL (such as
// "http://127.0.0.1:8081"), sending with hc (nil: http.DefaultClient;
// for https with a private CA, give one whose transport trusts it).
// The URL must be http or https with a host.
func NewClient(baseURL string, hc *http.Client, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("rest: server URL %q: %v", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("rest: server URL %q: want http://HOST:PORT", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("rest: server URL %q: want no user, query or fragment", baseURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), hc: hc}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the server's URL, as errors name it.
func (c *Client) BaseURL() string { return c.base }

// Submit submits a job and returns its id.
func (c *Client) Submit(ctx context.Context, req cluster.JobRequest) (string, error) {
	var out idBody
	err := c.do(ctx, http.MethodPost, "/v1/jobs", req, &out)
	return out.ID, err
}

// Jobs lists the jobs.
func (c *Client) Jobs(ctx context.Context) ([]cluster.JobStatus, error) {
	var out jobsBody
	err := c.do(ctx, http.MethodGet, "/v1/jobs", nil, &out)
	return out.Jobs, err
}

// Job returns one job.
func (c *Client) Job(ctx context.Context, id string) (cluster.JobStatus, error) {
	var out cluster.JobStatus
	err := c.do(ctx, http.MethodGet, jobPath(id, ""), nil, &out)
	return out, err
}

// Cancel cancels a job.
func (c *Client) Cancel(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, jobPath(id, "/cancel"), nil, nil)
}

// Savepoint takes a savepoint of a job, stopping it if stop is set, and
// returns its path.
func (c *Client) Savepoint(ctx context.Context, id string, stop bool) (string, error) {
	var out pathBody
	err := c.do(ctx, http.MethodPost, jobPath(id, "/savepoint"), SavepointRequest{Stop: stop}, &out)
	return out.Path, err
}

// Members lists the live members as the node sees them.
func (c *Client) Members(ctx context.Context) ([]cluster.MemberStatus, error) {
	var out membersBody
	err := c.do(ctx, http.MethodGet, "/v1/members", nil, &out)
	return out.Members, err
}

// NodeStatus returns the node's own runtime status.
func (c *Client) NodeStatus(ctx context.Context) (cluster.NodeStatus, error) {
	var out cluster.NodeStatus
	err := c.do(ctx, http.MethodGet, "/v1/node", nil, &out)
	return out, err
}

// Health checks that the node answers.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

func jobPath(id, suffix string) string { return "/v1/jobs/" + url.PathEscape(id) + suffix }

// do sends in (if not nil) as JSON and decodes a successful response into
// out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("rest: %s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("rest: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err // a *url.Error: it names the method and URL
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize))
	if err != nil {
		return fmt.Errorf("rest: %s %s: read response: %w", method, req.URL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, req, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("rest: %s %s: decode response: %w", method, req.URL, err)
	}
	return nil
}

// apiError builds the error of an error response. A body that is not our
// ErrorBody (a proxy's page, another program) is quoted, shortened.
func apiError(resp *http.Response, req *http.Request, data []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, Method: req.Method, URL: req.URL.String()}
	var eb ErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
		e.Message, e.FieldName = eb.Error, eb.Field
		return e
	}
	snippet := strings.TrimSpace(string(data))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "..."
	}
	e.Message = fmt.Sprintf("%s %s: %s", req.Method, req.URL, resp.Status)
	if snippet != "" {
		e.Message += ": " + snippet
	}
	return e
}
