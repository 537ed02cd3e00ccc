package rest

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/troupe-dev/troupe/cluster"
)

// Option configures NewHandler.
type Option func(*handler)

// WithLogger sets where the handler logs internal errors (500s) and failed
// forwards; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(h *handler) { h.log = l } }

// WithMaxBodySize sets the largest request body read, in bytes; longer
// bodies get 413. The default is DefaultMaxBodySize.
func WithMaxBodySize(n int64) Option { return func(h *handler) { h.maxBody = n } }

// WithTransport sets the round tripper that forwards job requests to the
// coordinator; the default is http.DefaultTransport.
func WithTransport(rt http.RoundTripper) Option { return func(h *handler) { h.transport = rt } }

// WithForwardTLS forwards job requests to the coordinator over HTTPS,
// verifying its certificate with cfg (RootCAs: the cluster's CA), for
// nodes that serve the API over TLS. It replaces WithTransport's round
// tripper with one of its own.
func WithForwardTLS(cfg *tls.Config) Option {
	return func(h *handler) {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg.Clone()
		h.transport, h.forwardScheme = t, "https"
	}
}

// handler serves the REST API of one node; see NewHandler.
type handler struct {
	svc       Service
	log       *slog.Logger
	maxBody   int64
	transport http.RoundTripper
	// forwardScheme is the coordinator's: "http", or "https" with
	// WithForwardTLS.
	forwardScheme string
	// tokens are the accepted API tokens; nil: no token needed
	// (RequireTokens).
	tokens *Tokens
	mux    *http.ServeMux
}

// NewHandler returns the REST API of a node over svc:
//
//	POST /v1/jobs                    JobRequest → 201 {"id": ...}
//	GET  /v1/jobs                    {"jobs": [JobStatus...]}
//	GET  /v1/jobs/{id}               JobStatus
//	POST /v1/jobs/{id}/cancel        {"id": ...}
//	POST /v1/jobs/{id}/savepoint     SavepointRequest → {"path": ...}
//	GET  /v1/members                 {"members": [MemberStatus...]}
//	GET  /v1/node                    NodeStatus
//	GET  /healthz                    {"status": "ok"}
//
// The job endpoints are the coordinator's: on any other node the handler
// checks the request, then forwards it to the coordinator's HTTP address
// (see forward). Members, node and healthz are answered by the node itself.
// Every error is an ErrorBody; see JobService for the status codes. With
// RequireTokens, every endpoint but healthz needs the API token (401).
func NewHandler(svc Service, opts ...Option) http.Handler {
	h := &handler{svc: svc, log: slog.Default(), maxBody: DefaultMaxBodySize, transport: http.DefaultTransport, forwardScheme: "http"}
	for _, o := range opts {
		o(h)
	}
	h.mux = http.NewServeMux()
	h.route("/v1/jobs", endpoint{http.MethodPost, h.submit}, endpoint{http.MethodGet, h.jobs})
	h.route("/v1/jobs/{id}", endpoint{http.MethodGet, h.job})
	h.route("/v1/jobs/{id}/cancel", endpoint{http.MethodPost, h.cancel})
	h.route("/v1/jobs/{id}/savepoint", endpoint{http.MethodPost, h.savepoint})
	h.route("/v1/members", endpoint{http.MethodGet, h.members})
	h.route("/v1/node", endpoint{http.MethodGet, h.node})
	h.route(HealthPath, endpoint{http.MethodGet, h.healthz})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.authorize(w, r) {
			h.mux.ServeHTTP(w, r)
		}
	})
}

// endpoint is one method of a path and its handler.
type endpoint struct {
	method string
	fn     http.HandlerFunc
}

// route registers the endpoints of path, and a JSON 405 naming the
// allowed methods for any other method.
func (h *handler) route(path string, eps ...endpoint) {
	var allow []string
	for _, ep := range eps {
		h.mux.HandleFunc(ep.method+" "+path, ep.fn)
		allow = append(allow, ep.method)
		if ep.method == http.MethodGet {
			allow = append(allow, http.MethodHead) // the mux serves HEAD with GET
		}
	}
	allowed := strings.Join(allow, ", ")
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "method " + r.Method + " not allowed on " + r.URL.Path + "; allowed: " + allowed})
	})
}

func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := DecodeJobRequest(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.forward(w, r, body, false) {
		return
	}
	id, err := h.svc.Submit(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+url.PathEscape(id))
	writeJSON(w, http.StatusCreated, idBody{ID: id})
}

func (h *handler) jobs(w http.ResponseWriter, r *http.Request) {
	if h.forward(w, r, nil, false) {
		return
	}
	jobs, err := h.svc.Jobs(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobsBody{Jobs: nonNil(jobs)})
}

func (h *handler) job(w http.ResponseWriter, r *http.Request) {
	if h.forward(w, r, nil, false) {
		return
	}
	job, err := h.svc.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, job)
}

func (h *handler) cancel(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, h.maxBody)
	if err == nil {
		err = decodeEmpty(body)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.forward(w, r, body, false) {
		return
	}
	id := r.PathValue("id")
	if err := h.svc.Cancel(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, idBody{ID: id})
}

func (h *handler) savepoint(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, h.maxBody)
	var req SavepointRequest
	if err == nil {
		req, err = DecodeSavepointRequest(body)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.forward(w, r, body, true) {
		return
	}
	path, err := h.svc.Savepoint(r.Context(), r.PathValue("id"), req.Stop)
	if h.toOwner(w, r, body, err) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pathBody{Path: path})
}

func (h *handler) members(w http.ResponseWriter, r *http.Request) {
	members, err := h.svc.Members(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, membersBody{Members: nonNil(members)})
}

func (h *handler) node(w http.ResponseWriter, r *http.Request) {
	st, err := h.svc.NodeStatus(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st.Jobs = nonNil(st.Jobs)
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, healthBody{Status: "ok"})
}

// fail answers with err's status and an ErrorBody; internal errors are
// logged, for their cause is on this side. A call ended by its client
// going away is neither answered nor an error.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client has gone (gave up, timed out): its request's
		// context ended the call. Nobody to answer, and no fault here.
		h.log.Debug("rest: client gone", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		h.log.Error("rest: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, ErrorBody{Error: err.Error(), Field: fieldOf(err)})
}

// The bodies of the successful responses.
type (
	idBody struct {
		ID string `json:"id"`
	}
	pathBody struct {
		Path string `json:"path"`
	}
	healthBody struct {
		Status string `json:"status"`
	}
	jobsBody struct {
		Jobs []cluster.JobStatus `json:"jobs"`
	}
	membersBody struct {
		Members []cluster.MemberStatus `json:"members"`
	}
)

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeJSON writes v as the response. An encoding error can only come
// from the connection (the bodies are plain data), so it is dropped: the
// client sees a broken response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
