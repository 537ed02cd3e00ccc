package rest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
)

var _ rest.Service = (*resttest.Service)(nil)

// serve starts the handler over svc on a test server, closed at cleanup.
func serve(t testing.TB, svc rest.Service, opts ...rest.Option) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(rest.NewHandler(svc, opts...))
	t.Cleanup(srv.Close)
	return srv
}

// response is what a test request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send sends a request with a JSON body (none when body is empty) and
// reads the whole response.
func send(t testing.TB, srv *httptest.Server, method, path, body string) response {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return sendType(t, srv, method, path, ct, body)
}

func sendType(t testing.TB, srv *httptest.Server, method, path, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
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

// decode decodes a JSON response into a T, failing the test if it is not
// JSON of that shape.
func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, r.body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("response %s is not a %T: %v", r.body, v, err)
	}
	return v
}

// wantError checks an error response: its status, and that its JSON body
// names field and contains msg.
func wantError(t testing.TB, r response, status int, field, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	eb := decode[rest.ErrorBody](t, r)
	if eb.Field != field || !strings.Contains(eb.Error, msg) {
		t.Fatalf("error %+v, want field %q and a message containing %q", eb, field, msg)
	}
}

func TestHandler_submit(t *testing.T) {
	svc := resttest.New("wordcount")
	srv := serve(t, svc)
	r := send(t, srv, "POST", "/v1/jobs", `{"pipeline":"wordcount","params":{"input":"/in.txt","rate":"0"},
		"parallelism":6,"checkpointInterval":"200ms","unaligned":true,"alignmentTimeout":"30ms","stateBackend":"bbolt","restore":"/store/sp-1"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	if got := decode[struct{ ID string }](t, r); got.ID != "job-1" {
		t.Fatalf("id %q, want job-1", got.ID)
	}
	if loc := r.header.Get("Location"); loc != "/v1/jobs/job-1" {
		t.Errorf("Location %q", loc)
	}
	want := cluster.JobRequest{Pipeline: "wordcount", Params: map[string]string{"input": "/in.txt", "rate": "0"},
		Parallelism: 6, CheckpointInterval: "200ms", Unaligned: true, AlignmentTimeout: "30ms", StateBackend: "bbolt", Restore: "/store/sp-1"}
	if got := svc.Requests(); len(got) != 1 || !equalRequests(got[0], want) {
		t.Fatalf("service got %+v, want %+v", got, want)
	}
}

func equalRequests(a, b cluster.JobRequest) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestHandler_submit_badRequests(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		field, msg              string
	}{
		{"malformed", "", `{"pipeline":`, 400, "body", "malformed JSON"},
		{"syntax", "", `{"pipeline" "wc"}`, 400, "body", "malformed JSON at offset"},
		{"unknown field", "", `{"pipeline":"wordcount","paralelism":2}`, 400, "paralelism", "unknown field"},
		{"trailing object", "", `{"pipeline":"wordcount"} {}`, 400, "body", "data after the JSON object"},
		{"trailing garbage", "", `{"pipeline":"wordcount"}x`, 400, "body", "data after the JSON object"},
		{"array", "", `[{"pipeline":"wordcount"}]`, 400, "body", "not a JSON object"},
		{"null", "", `null`, 400, "body", "not a JSON object"},
		{"empty", "", ``, 400, "body", "empty"},
		{"blank", "", "  \n", 400, "body", "empty"},
		{"no content type", "-", `{"pipeline":"wordcount"}`, 415, "Content-Type", "missing"},
		{"text content type", "text/plain", `{"pipeline":"wordcount"}`, 415, "Content-Type", "text/plain"},
		{"bad charset", "application/json; charset=latin1", `{"pipeline":"wordcount"}`, 415, "Content-Type", "latin1"},
		{"too large", "", `{"pipeline":"wordcount","params":{"x":"` + strings.Repeat("a", 200) + `"}}`, 413, "body", "longer than 128 bytes"},
		{"no pipeline", "", `{}`, 400, "pipeline", "missing"},
		{"unknown pipeline", "", `{"pipeline":"nope"}`, 400, "pipeline", `unknown pipeline "nope"`},
		{"negative parallelism", "", `{"pipeline":"wordcount","parallelism":-1}`, 400, "parallelism", "-1 is negative"},
		{"string parallelism", "", `{"pipeline":"wordcount","parallelism":"2"}`, 400, "parallelism", "want a JSON number"},
		{"fractional parallelism", "", `{"pipeline":"wordcount","parallelism":1.5}`, 400, "parallelism", "want a JSON number"},
		{"huge parallelism", "", `{"pipeline":"wordcount","parallelism":1e40}`, 400, "parallelism", "want a JSON number"},
		{"bad interval", "", `{"pipeline":"wordcount","checkpointInterval":"fast"}`, 400, "checkpointInterval", `"fast"`},
		{"number interval", "", `{"pipeline":"wordcount","checkpointInterval":200}`, 400, "checkpointInterval", "want a JSON string"},
		{"negative interval", "", `{"pipeline":"wordcount","checkpointInterval":"-1s"}`, 400, "checkpointInterval", `"-1s"`},
		{"zero interval", "", `{"pipeline":"wordcount","checkpointInterval":"0s"}`, 400, "checkpointInterval", "positive"},
		{"unknown backend", "", `{"pipeline":"wordcount","stateBackend":"rocksdb"}`, 400, "stateBackend", `"rocksdb"`},
		{"unaligned without checkpoints", "", `{"pipeline":"wordcount","unaligned":true}`, 400, "unaligned", "needs checkpointInterval"},
		{"timeout without unaligned", "", `{"pipeline":"wordcount","checkpointInterval":"1s","alignmentTimeout":"5ms"}`, 400,
			"alignmentTimeout", "needs"},
		{"bad timeout", "", `{"pipeline":"wordcount","checkpointInterval":"1s","unaligned":true,"alignmentTimeout":"x"}`, 400,
			"alignmentTimeout", `"x"`},
		{"empty param name", "", `{"pipeline":"wordcount","params":{"":"x"}}`, 400, "params", "empty name"},
		{"number param", "", `{"pipeline":"wordcount","params":{"rate":5}}`, 400, "params", "want a JSON string"},
		{"params array", "", `{"pipeline":"wordcount","params":["rate=5"]}`, 400, "params", "want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := resttest.New("wordcount")
			srv := serve(t, svc, rest.WithMaxBodySize(128))
			ct := "application/json"
			switch tt.contentType {
			case "-":
				ct = ""
			case "":
			default:
				ct = tt.contentType
			}
			wantError(t, sendType(t, srv, "POST", "/v1/jobs", ct, tt.body), tt.status, tt.field, tt.msg)
			if reqs := svc.Requests(); len(reqs) != 0 {
				t.Errorf("the service accepted %+v", reqs)
			}
		})
	}
}

// TestHandler_submit_serviceFieldError: a field error of the service (a
// restore path that does not exist, a bad parameter) keeps its field.
func TestHandler_submit_serviceFieldError(t *testing.T) {
	svc := resttest.New()
	svc.SetError("Submit", &resttest.FieldError{Name: "restore", Reason: `"/nope" does not exist`})
	r := send(t, serve(t, svc), "POST", "/v1/jobs", `{"pipeline":"wordcount","restore":"/nope"}`)
	wantError(t, r, 400, "restore", `"/nope" does not exist`)
}

// jobCalls are one request of each job endpoint, on a job that exists.
var jobCalls = []struct{ method, path, body string }{
	{"POST", "/v1/jobs", `{"pipeline":"wordcount"}`},
	{"GET", "/v1/jobs", ""},
	{"GET", "/v1/jobs/j1", ""},
	{"POST", "/v1/jobs/j1/cancel", ""},
	{"POST", "/v1/jobs/j1/savepoint", `{"stop":true}`},
}

// serviceMethod names the Service method an endpoint calls.
func serviceMethod(method, path string) string {
	switch {
	case method == "POST" && path == "/v1/jobs":
		return "Submit"
	case path == "/v1/jobs":
		return "Jobs"
	case strings.HasSuffix(path, "/cancel"):
		return "Cancel"
	case strings.HasSuffix(path, "/savepoint"):
		return "Savepoint"
	}
	return "Job"
}

func TestHandler_errorMapping(t *testing.T) {
	errs := []struct {
		err    error
		status int
	}{
		{fmt.Errorf("%w: pipeline %q: unknown", cluster.ErrBadRequest, "x"), 400},
		{fmt.Errorf("%w %q", cluster.ErrUnknownJob, "j1"), 404},
		{fmt.Errorf("%w: job j1 finished", cluster.ErrJobEnded), 409},
		{fmt.Errorf("%w: the coordinator is leaving", cluster.ErrNoCoordinator), 503},
		{errors.New("store: disk full"), 500},
	}
	for _, call := range jobCalls {
		for _, e := range errs {
			t.Run(fmt.Sprintf("%s %s %d", call.method, call.path, e.status), func(t *testing.T) {
				var logs bytes.Buffer
				svc := resttest.New()
				svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
				svc.SetError(serviceMethod(call.method, call.path), e.err)
				srv := serve(t, svc, rest.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
				r := send(t, srv, call.method, call.path, call.body)
				wantError(t, r, e.status, "", e.err.Error())
				if e.status == 503 && r.header.Get("Retry-After") == "" {
					t.Error("a 503 without Retry-After")
				}
				if logged := strings.Contains(logs.String(), "disk full"); logged != (e.status == 500) {
					t.Errorf("status %d, logged %v: %q", e.status, logged, logs.String())
				}
			})
		}
	}
}

func TestHandler_members_errorMapping(t *testing.T) {
	svc := resttest.New()
	svc.SetError("Members", errors.New("view: closed"))
	wantError(t, send(t, serve(t, svc, rest.WithLogger(slog.New(slog.DiscardHandler))), "GET", "/v1/members", ""), 500, "", "view: closed")
}

func TestHandler_jobs(t *testing.T) {
	svc := resttest.New()
	srv := serve(t, svc)
	if got := decode[struct{ Jobs []cluster.JobStatus }](t, send(t, srv, "GET", "/v1/jobs", "")); got.Jobs == nil || len(got.Jobs) != 0 {
		t.Fatalf("no jobs: got %#v, want an empty list", got.Jobs)
	}
	if r := send(t, srv, "GET", "/v1/jobs", ""); !bytes.Contains(r.body, []byte(`"jobs":[]`)) {
		t.Errorf("no jobs encoded as %s, want []", r.body)
	}
	job := cluster.JobStatus{ID: "j1", Pipeline: "wordcount", Parallelism: 6, State: cluster.StateRunning, Restarts: 2,
		LatestCheckpoint: &cluster.CheckpointInfo{ID: 7, Path: "/store/j1/chk-7"},
		Vertices:         []cluster.VertexStatus{{Name: "source", Parallelism: 2, Subtasks: []cluster.SubtaskStatus{{Index: 0, Node: "n1"}, {Index: 1, Node: "n2"}}}}}
	svc.AddJob(job)
	svc.AddJob(cluster.JobStatus{ID: "j2", State: cluster.StateWaitingForSlots})
	got := decode[struct{ Jobs []cluster.JobStatus }](t, send(t, srv, "GET", "/v1/jobs", ""))
	if len(got.Jobs) != 2 || got.Jobs[0].ID != "j1" || got.Jobs[1].State != cluster.StateWaitingForSlots {
		t.Fatalf("jobs %+v", got.Jobs)
	}
	one := decode[cluster.JobStatus](t, send(t, srv, "GET", "/v1/jobs/j1", ""))
	if one.LatestCheckpoint == nil || *one.LatestCheckpoint != *job.LatestCheckpoint || one.Restarts != 2 ||
		len(one.Vertices) != 1 || one.Vertices[0].Subtasks[1].Node != "n2" {
		t.Fatalf("job %+v, want %+v", one, job)
	}
	wantError(t, send(t, srv, "GET", "/v1/jobs/nope", ""), 404, "", `"nope"`)
}

func TestHandler_cancel(t *testing.T) {
	svc := resttest.New()
	svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
	srv := serve(t, svc)
	for _, body := range []string{"", "{}"} {
		svc.SetState("j1", cluster.StateRunning, "")
		r := send(t, srv, "POST", "/v1/jobs/j1/cancel", body)
		if r.status != 200 || decode[struct{ ID string }](t, r).ID != "j1" {
			t.Fatalf("body %q: status %d, %s", body, r.status, r.body)
		}
	}
	wantError(t, send(t, srv, "POST", "/v1/jobs/j1/cancel", ""), 409, "", "cancelled")
	wantError(t, send(t, srv, "POST", "/v1/jobs/j1/cancel", `{"force":true}`), 400, "force", "unknown field")
	wantError(t, send(t, srv, "POST", "/v1/jobs/nope/cancel", ""), 404, "", `"nope"`)
	if got, want := strings.Join(svc.Calls(), ";"), "Cancel j1;Cancel j1;Cancel j1;Cancel nope"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestHandler_savepoint(t *testing.T) {
	svc := resttest.New()
	svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
	srv := serve(t, svc)
	for _, body := range []string{"", "{}", `{"stop":false}`, `{"stop":true}`} {
		r := send(t, srv, "POST", "/v1/jobs/j1/savepoint", body)
		if r.status != 200 || !strings.HasPrefix(decode[struct{ Path string }](t, r).Path, "/store/savepoints/j1-") {
			t.Fatalf("body %q: status %d, %s", body, r.status, r.body)
		}
	}
	if got, want := strings.Join(svc.Calls(), ";"), "Savepoint j1;Savepoint j1;Savepoint j1;Savepoint j1 stop"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
	wantError(t, send(t, srv, "POST", "/v1/jobs/j1/savepoint", `{"stop":"yes"}`), 400, "stop", "want a JSON boolean")
	wantError(t, send(t, srv, "POST", "/v1/jobs/j1/savepoint", `{"stop":true,"drain":true}`), 400, "drain", "unknown field")
	wantError(t, sendType(t, srv, "POST", "/v1/jobs/j1/savepoint", "text/plain", `{}`), 415, "Content-Type", "text/plain")
	wantError(t, send(t, srv, "POST", "/v1/jobs/j1/savepoint", `{"stop":true}`), 409, "", "finished")
}

func TestHandler_membersAndHealth(t *testing.T) {
	svc := resttest.New()
	srv := serve(t, svc)
	if got := decode[struct{ Members []cluster.MemberStatus }](t, send(t, srv, "GET", "/v1/members", "")); got.Members == nil || len(got.Members) != 0 {
		t.Fatalf("no members: %#v, want an empty list", got.Members)
	}
	svc.SetMembers([]cluster.MemberStatus{{Name: "n1", HTTPAddr: "127.0.0.1:8081", Slots: 4, SlotsUsed: 1, Coordinator: true}, {Name: "n2"}})
	got := decode[struct{ Members []cluster.MemberStatus }](t, send(t, srv, "GET", "/v1/members", ""))
	if len(got.Members) != 2 || !got.Members[0].Coordinator || got.Members[0].SlotsUsed != 1 || got.Members[1].Name != "n2" {
		t.Fatalf("members %+v", got.Members)
	}
	if h := decode[struct{ Status string }](t, send(t, srv, "GET", "/healthz", "")); h.Status != "ok" {
		t.Fatalf("healthz %+v", h)
	}
}

func TestHandler_node(t *testing.T) {
	svc := resttest.New()
	srv := serve(t, svc, rest.WithLogger(slog.New(slog.DiscardHandler)))
	r := send(t, srv, "GET", "/v1/node", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"jobs":[]`) {
		t.Fatalf("node without jobs: %d %s, want an empty list of jobs", r.status, r.body)
	}
	want := cluster.NodeStatus{Name: "n2", Slots: 4, SlotsUsed: 2, Jobs: []string{"run-1"},
		Remote: cluster.RemoteStatus{Channels: 3, CreditBound: 12, InFlight: 5, MaxInFlight: 12, InFlightBytes: 4096},
		Memory: cluster.MemoryStatus{HeapBytes: 1 << 20, SysBytes: 8 << 20, GCs: 7}}
	svc.SetNodeStatus(want)
	if got := decode[cluster.NodeStatus](t, send(t, srv, "GET", "/v1/node", "")); !reflect.DeepEqual(got, want) {
		t.Fatalf("node %+v, want %+v", got, want)
	}
	svc.SetError("NodeStatus", errors.New("engine: closed"))
	wantError(t, send(t, srv, "GET", "/v1/node", ""), 500, "", "engine: closed")
	if r := send(t, srv, "POST", "/v1/node", "{}"); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /v1/node: %d, Allow %q", r.status, r.header.Get("Allow"))
	}
}

func TestHandler_routing(t *testing.T) {
	srv := serve(t, resttest.New())
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"DELETE", "/v1/jobs", 405, "POST, GET, HEAD"},
		{"PUT", "/v1/jobs/j1", 405, "GET, HEAD"},
		{"GET", "/v1/jobs/j1/cancel", 405, "POST"},
		{"GET", "/v1/jobs/j1/savepoint", 405, "POST"},
		{"POST", "/v1/members", 405, "GET, HEAD"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/v2/jobs", 404, ""},
		{"GET", "/v1/jobs/j1/nope", 404, ""},
		{"GET", "/", 404, ""},
	}
	for _, tt := range tests {
		r := send(t, srv, tt.method, tt.path, "")
		if r.status != tt.status || r.header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: status %d, Allow %q; want %d, %q", tt.method, tt.path, r.status, r.header.Get("Allow"), tt.status, tt.allow)
			continue
		}
		if eb := decode[rest.ErrorBody](t, r); !strings.Contains(eb.Error, tt.path) {
			t.Errorf("%s %s: error %q does not name the path", tt.method, tt.path, eb.Error)
		}
	}
}
