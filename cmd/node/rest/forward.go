package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/troupe-dev/troupe/cluster"
)

// ForwardedHeader marks a job request that a node forwarded to the
// coordinator; its value is the address it was forwarded to. A request
// that carries it is never forwarded again: when two nodes disagree about
// the coordinator for a moment (gossip has not spread yet), the second
// answers 503 rather than sending it back, and the client tries again.
const ForwardedHeader = "Troupe-Forwarded-To"

// OwnerHeader marks a savepoint request that the coordinator forwarded
// to the node that runs the job (cluster.OwnerError): that node answers
// it itself, coordinator or not, and never forwards it again. Anyone can
// set a header, so it means no more than that: it is honoured on the
// savepoint endpoint only (where a node answers for the jobs it runs,
// and refuses the others), never for a submission, a list or a cancel,
// which belong to the coordinator; and a node forwarding a request to
// the coordinator removes it, so that it cannot keep the coordinator
// from forwarding to the owner.
const OwnerHeader = "Troupe-Forwarded-To-Owner"

// ForwardReadTimeout bounds a read (GET, HEAD) forwarded to the
// coordinator or a job's owner: one that has not answered by then — its
// process stopped, or partitioned with its connections up — is answered
// 503 (ErrNoCoordinator), as one that is down, so that a client without a
// timeout of its own (the dashboard) hears of it and tries again. The
// coordinator answers reads from memory or its job store; writes are not
// bounded (a savepoint takes as long as it takes: the client's context
// bounds it).
const ForwardReadTimeout = 10 * time.Second

// errForwardTimeout is the cause of a forwarded read's context that ran
// out (see ForwardReadTimeout).
var errForwardTimeout = errors.New("rest: forwarded read timed out")

// forward sends a job request to the coordinator unless this node is the
// coordinator, with the same method, path, query and body (the body read
// by the caller, already checked). ownerAnswers: the endpoint is one a
// job's owner answers when the coordinator forwards it (OwnerHeader). It
// reports whether it has answered the request: forwarded it, or refused
// it with 503.
func (h *handler) forward(w http.ResponseWriter, r *http.Request, body []byte, ownerAnswers bool) bool {
	addr, self, ok := h.svc.Coordinator()
	switch {
	case ok && self, ownerAnswers && r.Header.Get(OwnerHeader) != "":
		return false
	case !ok || addr == "":
		h.fail(w, r, fmt.Errorf("%w: no coordinator is known yet; try again once the node has joined", cluster.ErrNoCoordinator))
		return true
	case r.Header.Get(ForwardedHeader) != "":
		h.fail(w, r, fmt.Errorf("%w: this node got the request as the coordinator (%s), but it sees the one at %s; the nodes disagree until gossip settles, try again",
			cluster.ErrNoCoordinator, r.Header.Get(ForwardedHeader), addr))
		return true
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r, cancel := boundRead(r)
	defer cancel()
	h.proxy(addr, ForwardedHeader).ServeHTTP(w, r)
	return true
}

// boundRead gives a read its ForwardReadTimeout.
func boundRead(r *http.Request) (*http.Request, context.CancelFunc) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return r, func() {}
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), ForwardReadTimeout, errForwardTimeout)
	return r.WithContext(ctx), cancel
}

// toOwner forwards a job request that this node cannot answer to the
// node that runs the job, once; it reports whether it did.
func (h *handler) toOwner(w http.ResponseWriter, r *http.Request, body []byte, err error) bool {
	var oe *cluster.OwnerError
	if !errors.As(err, &oe) || oe.HTTPAddr == "" || r.Header.Get(OwnerHeader) != "" {
		return false
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r, cancel := boundRead(r)
	defer cancel()
	h.proxy(oe.HTTPAddr, OwnerHeader).ServeHTTP(w, r)
	return true
}

// proxy returns a reverse proxy to the node at addr (the coordinator, or
// a job's owner), marking the request with header. The request's headers
// go along, its Authorization among them: the API token this node has
// just accepted, which the other node checks again (nodes of a cluster
// accept the same tokens).
func (h *handler) proxy(addr, header string) *httputil.ReverseProxy {
	target := &url.URL{Scheme: h.forwardScheme, Host: addr}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			if header == ForwardedHeader {
				pr.Out.Header.Del(OwnerHeader) // a client's own: see OwnerHeader
			}
			pr.Out.Header.Set(header, addr)
		},
		Transport: h.transport,
		ErrorLog:  slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			switch {
			case errors.Is(context.Cause(r.Context()), errForwardTimeout):
				err = fmt.Errorf("no answer within %v", ForwardReadTimeout)
			case r.Context().Err() != nil:
				return // the client has gone: nobody to answer
			}
			h.log.Warn("rest: forward to the coordinator failed", "coordinator", addr, "method", r.Method, "path", r.URL.Path, "err", err)
			h.fail(w, r, fmt.Errorf("%w: the coordinator at %s did not answer: %v", cluster.ErrNoCoordinator, addr, err))
		},
	}
}
