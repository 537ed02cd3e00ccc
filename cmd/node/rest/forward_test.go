package rest_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
)

// recorder wraps a handler and records the requests it gets.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r.Clone(r.Context()))
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) requests() []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]*http.Request(nil), rec.reqs...)
}

// node is one test node: its service, its recorded requests, its server.
type node struct {
	svc *resttest.Service
	rec *recorder
	srv *httptest.Server
}

func startNode(t testing.TB, pipelines ...string) *node {
	t.Helper()
	n := &node{svc: resttest.New(pipelines...)}
	n.rec = &recorder{next: rest.NewHandler(n.svc, rest.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))}
	n.srv = httptest.NewServer(n.rec)
	t.Cleanup(n.srv.Close)
	return n
}

func (n *node) addr() string { return strings.TrimPrefix(n.srv.URL, "http://") }

// TestHandler_forward: every job endpoint of a node that is not the
// coordinator is answered by the coordinator, with the same method, path
// and body; members and the node's status are answered locally.
func TestHandler_forward(t *testing.T) {
	coord, follower := startNode(t, "wordcount"), startNode(t, "wordcount")
	follower.svc.SetCoordinator(coord.addr(), false, true)
	coord.svc.SetMembers([]cluster.MemberStatus{{Name: "coord"}})
	follower.svc.SetMembers([]cluster.MemberStatus{{Name: "follower"}})
	coord.svc.SetNodeStatus(cluster.NodeStatus{Name: "coord"})
	follower.svc.SetNodeStatus(cluster.NodeStatus{Name: "follower"})

	r := send(t, follower.srv, "POST", "/v1/jobs", `{"pipeline":"wordcount","parallelism":3}`)
	if r.status != 201 || decode[struct{ ID string }](t, r).ID != "job-1" || r.header.Get("Location") != "/v1/jobs/job-1" {
		t.Fatalf("submit: %d %s %v", r.status, r.body, r.header)
	}
	if reqs := coord.svc.Requests(); len(reqs) != 1 || reqs[0].Parallelism != 3 {
		t.Fatalf("coordinator got %+v", reqs)
	}
	if jobs := decode[struct{ Jobs []cluster.JobStatus }](t, send(t, follower.srv, "GET", "/v1/jobs", "")).Jobs; len(jobs) != 1 {
		t.Fatalf("jobs via follower: %+v", jobs)
	}
	if j := decode[cluster.JobStatus](t, send(t, follower.srv, "GET", "/v1/jobs/job-1", "")); j.State != cluster.StateRunning {
		t.Fatalf("job via follower: %+v", j)
	}
	if r := send(t, follower.srv, "POST", "/v1/jobs/job-1/savepoint", `{"stop":false}`); r.status != 200 {
		t.Fatalf("savepoint: %d %s", r.status, r.body)
	}
	if r := send(t, follower.srv, "POST", "/v1/jobs/job-1/cancel", ""); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	// The coordinator's errors come back unchanged.
	wantError(t, send(t, follower.srv, "POST", "/v1/jobs/job-1/cancel", ""), 409, "", "cancelled")
	wantError(t, send(t, follower.srv, "POST", "/v1/jobs", `{"pipeline":"nope"}`), 400, "pipeline", `"nope"`)

	if got, want := strings.Join(coord.svc.Calls(), ";"),
		"Submit;Jobs;Job job-1;Savepoint job-1;Cancel job-1;Cancel job-1;Submit"; got != want {
		t.Errorf("coordinator calls %q, want %q", got, want)
	}
	if calls := follower.svc.Calls(); len(calls) != 0 {
		t.Errorf("the follower's job service was called: %q", calls)
	}
	for _, req := range coord.rec.requests() {
		if req.Header.Get(rest.ForwardedHeader) != coord.addr() {
			t.Errorf("%s %s reached the coordinator with %s %q", req.Method, req.URL, rest.ForwardedHeader, req.Header.Get(rest.ForwardedHeader))
		}
	}
	if m := decode[struct{ Members []cluster.MemberStatus }](t, send(t, follower.srv, "GET", "/v1/members", "")).Members; len(m) != 1 || m[0].Name != "follower" {
		t.Errorf("members via follower: %+v, want the follower's own view", m)
	}
	if st := decode[cluster.NodeStatus](t, send(t, follower.srv, "GET", "/v1/node", "")); st.Name != "follower" {
		t.Errorf("node via follower: %+v, want the follower's own", st)
	}
	if n := len(coord.rec.requests()); n != 7 {
		t.Errorf("the coordinator got %d requests, want 7 (members and node stay local)", n)
	}
}

// TestHandler_forward_keepsPath: an escaped id and a query reach the
// coordinator as they were sent.
func TestHandler_forward_keepsPath(t *testing.T) {
	coord, follower := startNode(t), startNode(t)
	follower.svc.SetCoordinator(coord.addr(), false, true)
	coord.svc.AddJob(cluster.JobStatus{ID: "a/b c", State: cluster.StateRunning})
	r := send(t, follower.srv, "GET", "/v1/jobs/a%2Fb%20c?verbose=1", "")
	if r.status != 200 || decode[cluster.JobStatus](t, r).ID != "a/b c" {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	reqs := coord.rec.requests()
	if len(reqs) != 1 || reqs[0].URL.EscapedPath() != "/v1/jobs/a%2Fb%20c" || reqs[0].URL.RawQuery != "verbose=1" {
		t.Fatalf("coordinator got %v", reqs)
	}
}

// TestHandler_forward_loopGuard: two nodes that each believe the other
// coordinates: the request goes over once, and the second answers 503.
func TestHandler_forward_loopGuard(t *testing.T) {
	a, b := startNode(t), startNode(t)
	a.svc.SetCoordinator(b.addr(), false, true)
	b.svc.SetCoordinator(a.addr(), false, true)
	for _, call := range jobCalls {
		r := send(t, a.srv, call.method, call.path, call.body)
		wantError(t, r, 503, "", "disagree")
		if !strings.Contains(decode[rest.ErrorBody](t, r).Error, b.addr()) {
			t.Errorf("%s %s: the error does not name the address the request was sent to", call.method, call.path)
		}
	}
	if got, want := len(a.rec.requests()), len(jobCalls); got != want {
		t.Errorf("a got %d requests, want %d", got, want)
	}
	if got, want := len(b.rec.requests()), len(jobCalls); got != want {
		t.Errorf("b got %d requests, want %d (forwarded once each)", got, want)
	}
	if calls := append(a.svc.Calls(), b.svc.Calls()...); len(calls) != 0 {
		t.Errorf("a job service was called: %q", calls)
	}
}

// TestHandler_forward_toSelfAsCoordinator: a forwarded request reaching
// the coordinator is served (the header only stops a second forward).
func TestHandler_forward_toSelfAsCoordinator(t *testing.T) {
	coord := startNode(t)
	req, _ := http.NewRequest("GET", coord.srv.URL+"/v1/jobs", nil)
	req.Header.Set(rest.ForwardedHeader, coord.addr())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestHandler_forward_noCoordinator(t *testing.T) {
	n := startNode(t)
	n.svc.SetCoordinator("", false, false)
	for _, call := range jobCalls {
		r := send(t, n.srv, call.method, call.path, call.body)
		wantError(t, r, 503, "", "no coordinator")
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s: no Retry-After", call.method, call.path)
		}
	}
	// A bad body is refused whatever the cluster's state.
	wantError(t, send(t, n.srv, "POST", "/v1/jobs", `{"pipeline":"wc","parallelism":-2}`), 400, "parallelism", "negative")
	if m := send(t, n.srv, "GET", "/v1/members", ""); m.status != 200 {
		t.Errorf("members without a coordinator: %d", m.status)
	}
}

func TestHandler_forward_coordinatorDown(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(gone.URL, "http://")
	gone.Close()
	n := startNode(t)
	n.svc.SetCoordinator(addr, false, true)
	wantError(t, send(t, n.srv, "POST", "/v1/jobs", `{"pipeline":"wordcount"}`), 503, "", "the coordinator at "+addr+" did not answer")
}

// A savepoint of a job run by another node than the coordinator (after a
// partition heals) is forwarded once to that node, which answers it
// itself; an owner that points elsewhere again is not followed.
func TestHandler_forwardToOwner(t *testing.T) {
	coord, owner := startNode(t, "wordcount"), startNode(t, "wordcount")
	coord.svc.SetCoordinator(coord.addr(), true, true)
	owner.svc.SetCoordinator(coord.addr(), false, true)
	id, err := owner.svc.Submit(context.Background(), cluster.JobRequest{Pipeline: "wordcount"})
	if err != nil {
		t.Fatal(err)
	}
	coord.svc.SetError("Savepoint", &cluster.OwnerError{Job: id, Node: "owner", HTTPAddr: owner.addr()})
	r := send(t, coord.srv, "POST", "/v1/jobs/"+id+"/savepoint", `{"stop":false}`)
	if r.status != 200 || !strings.Contains(string(r.body), id) {
		t.Fatalf("savepoint via the coordinator: %d %s", r.status, r.body)
	}
	reqs := owner.rec.requests()
	if len(reqs) != 1 || reqs[0].Header.Get(rest.OwnerHeader) != owner.addr() {
		t.Fatalf("the owner got %d requests (%v)", len(reqs), reqs)
	}
	owner.svc.SetError("Savepoint", &cluster.OwnerError{Job: id, Node: "coord", HTTPAddr: coord.addr()})
	if r := send(t, coord.srv, "POST", "/v1/jobs/"+id+"/savepoint", `{"stop":false}`); r.status != 503 {
		t.Fatalf("owners pointing at each other: %d %s; want 503", r.status, r.body)
	}
	if n := len(coord.rec.requests()); n != 2 {
		t.Fatalf("the coordinator got %d requests, want 2: a request was forwarded back", n)
	}
}

// sendWith sends a request with extra headers.
func sendWith(t testing.TB, srv *httptest.Server, method, path, body string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// A client that sets the owner header itself gets no more than any
// client: a node that does not coordinate still forwards submissions,
// lists and cancels to the coordinator, and answers locally only a
// savepoint, the one request the coordinator forwards to a job's owner
// (which such a node answers about the jobs it runs, as the owner).
// Honoured on every endpoint, the header made a node that does not
// coordinate admit jobs itself — a second coordinator, placing jobs on
// slots the real one believes free.
func TestHandler_ownerHeaderFromAClientIsNotHonoured(t *testing.T) {
	coord, follower := startNode(t, "wordcount"), startNode(t, "wordcount")
	coord.svc.SetCoordinator(coord.addr(), true, true)
	follower.svc.SetCoordinator(coord.addr(), false, true)
	forged := http.Header{rest.OwnerHeader: {follower.addr()}}

	r := sendWith(t, follower.srv, "POST", "/v1/jobs", `{"pipeline":"wordcount"}`, forged)
	if r.status != 201 {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	id := decode[struct{ ID string }](t, r).ID
	if n := len(coord.svc.Requests()); n != 1 {
		t.Errorf("the coordinator admitted %d jobs, want the one submitted", n)
	}
	if n := len(follower.svc.Requests()); n != 0 {
		t.Errorf("the node that does not coordinate admitted %d jobs itself", n)
	}
	if r := sendWith(t, follower.srv, "GET", "/v1/jobs", "", forged); r.status != 200 ||
		len(decode[struct{ Jobs []cluster.JobStatus }](t, r).Jobs) != 1 {
		t.Errorf("jobs through the follower with the header: %d %s; want the coordinator's list", r.status, r.body)
	}
	if r := sendWith(t, follower.srv, "POST", "/v1/jobs/"+id+"/cancel", "", forged); r.status != 200 {
		t.Errorf("cancel through the follower with the header: %d %s", r.status, r.body)
	}
	if calls := follower.svc.Calls(); len(calls) != 0 {
		t.Errorf("the follower's service was called %v; every job request belongs to the coordinator", calls)
	}
	if calls := coord.svc.Calls(); !slices.Contains(calls, "Cancel "+id) {
		t.Errorf("the coordinator's calls %v lack the cancel", calls)
	}
}
