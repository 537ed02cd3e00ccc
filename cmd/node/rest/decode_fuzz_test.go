package rest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
)

// jobBodySeeds are request bodies, good and bad, that start the fuzzers.
var jobBodySeeds = []string{
	`{"pipeline":"wordcount"}`,
	`{"pipeline":"wordcount","params":{"input":"/in","rate":"0"},"parallelism":6,"checkpointInterval":"200ms","stateBackend":"bbolt","restore":"/sp"}`,
	`{"pipeline":"wordcount","parallelism":-1}`,
	`{"pipeline":"wordcount","parallelism":1e40}`,
	`{"pipeline":"wordcount","checkpointInterval":"1h2m3.5s"}`,
	`{"pipeline":"wordcount","checkpointInterval":"-0s"}`,
	`{"pipeline":"wordcount","checkpointInterval":"1s","unaligned":true,"alignmentTimeout":"20ms"}`,
	`{"pipeline":"wordcount","unaligned":true}`,
	`{"pipeline":"wordcount","checkpointInterval":"1s","alignmentTimeout":"20ms"}`,
	`{"pipeline":"wordcount","stateBackend":"rocksdb"}`,
	`{"pipeline":"wordcount","params":{"":""}}`,
	`{"pipeline":"wordcount","params":null}`,
	`{"pipeline":"wordcount","params":{}}`,
	`{"pipeline":"wordcount","x":1}`,
	`{"pipeline":"wordcount"}{}`,
	`{"pipeline":"\u00e9\ud800"}`,
	`{"Pipeline":"wordcount","PARALLELISM":2}`,
	`{"pipeline":"wordcount","pipeline":""}`,
	`{"stop":true}`,
	`{}`, ``, ` `, `null`, `[]`, `"x"`, `{`, `}`, "\xff",
}

// FuzzDecodeJobRequest: DecodeJobRequest never panics; what it accepts
// passes the checks and survives a round trip, what it rejects is a 4xx
// RequestError naming what is wrong.
func FuzzDecodeJobRequest(f *testing.F) {
	for _, s := range jobBodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := rest.DecodeJobRequest(body)
		if err != nil {
			checkRejection(t, err)
			return
		}
		checkAccepted(t, req)
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := rest.DecodeJobRequest(again)
		if err != nil || !equalRequests(back, req) { // nil and empty params alike
			t.Fatalf("round trip of %s: %+v, %v; want %+v", again, back, err, req)
		}
	})
}

func checkRejection(t *testing.T, err error) {
	t.Helper()
	re, ok := errors.AsType[*rest.RequestError](err)
	if !ok || re.Status < 400 || re.Status > 499 || re.Name == "" || !errors.Is(err, cluster.ErrBadRequest) {
		t.Fatalf("rejection %v (%T) is not a 4xx RequestError naming a field", err, err)
	}
}

func checkAccepted(t *testing.T, req cluster.JobRequest) {
	t.Helper()
	if strings.TrimSpace(req.Pipeline) == "" || req.Parallelism < 0 {
		t.Fatalf("accepted %+v", req)
	}
	if req.CheckpointInterval != "" {
		if d, err := time.ParseDuration(req.CheckpointInterval); err != nil || d <= 0 {
			t.Fatalf("accepted interval %q", req.CheckpointInterval)
		}
	}
	if b := req.StateBackend; b != "" && b != "heap" && b != "bbolt" {
		t.Fatalf("accepted backend %q", b)
	}
	if (req.Unaligned && req.CheckpointInterval == "") || (req.AlignmentTimeout != "" && !req.Unaligned) {
		t.Fatalf("accepted unaligned %v, alignment timeout %q, interval %q", req.Unaligned, req.AlignmentTimeout, req.CheckpointInterval)
	}
	if _, ok := req.Params[""]; ok {
		t.Fatalf("accepted an empty parameter name")
	}
}

// FuzzHandler drives the whole handler with arbitrary bodies and content
// types on the endpoints that take a body: no panic, never a 5xx (the
// service never fails here), every refusal a JSON ErrorBody.
func FuzzHandler(f *testing.F) {
	for i, s := range jobBodySeeds {
		f.Add(uint8(i), "application/json", []byte(s))
	}
	f.Add(uint8(0), "text/plain", []byte(`{"pipeline":"wordcount"}`))
	f.Add(uint8(1), "application/json; charset=UTF-8", []byte(`{"stop":false}`))
	f.Add(uint8(2), "application/json; charset=latin1", []byte(`{}`))
	f.Add(uint8(0), "", []byte(`{"pipeline":"wordcount"}`))
	f.Add(uint8(0), "application/json;;", []byte(strings.Repeat(" ", 300)+`{"pipeline":"a"}`))
	f.Fuzz(func(t *testing.T, which uint8, contentType string, body []byte) {
		svc := resttest.New()
		svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
		h := rest.NewHandler(svc, rest.WithMaxBodySize(256), rest.WithLogger(slog.New(slog.DiscardHandler)))
		path := []string{"/v1/jobs", "/v1/jobs/j1/savepoint", "/v1/jobs/j1/cancel"}[int(which)%3]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case w.Code >= 200 && w.Code < 300:
			if path == "/v1/jobs" {
				reqs := svc.Requests()
				if len(reqs) != 1 {
					t.Fatalf("%d with %d requests at the service", w.Code, len(reqs))
				}
				checkAccepted(t, reqs[0])
			}
		case w.Code >= 400 && w.Code < 500:
			var eb rest.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error == "" {
				t.Fatalf("%d with body %q", w.Code, w.Body)
			}
			if len(svc.Requests()) != 0 {
				t.Fatalf("refused with %d, but the service got the job", w.Code)
			}
		default:
			t.Fatalf("status %d for %s %q (%q): %s", w.Code, path, body, contentType, w.Body)
		}
	})
}

// FuzzHandler_paths drives the handler with arbitrary methods and paths
// (job ids of any bytes among them): no panic, never a 5xx, every 4xx a
// JSON ErrorBody, and a job's endpoints reach the service with the id
// as sent.
func FuzzHandler_paths(f *testing.F) {
	for _, p := range []string{"/v1/jobs", "/v1/jobs/j1", "/v1/jobs/j1/cancel", "/v1/jobs/j1/savepoint",
		"/v1/members", "/v1/node", "/healthz", "/", "/v1/jobs/", "/v1/jobs//cancel", "/v1/jobs/a b/c",
		"/v1/jobs/%2F/cancel", "/v1/jobs/../members", "/v1/jobs/j1/cancel/", "//v1/jobs", "/v1/jobs/\x00",
		"/v1/jobs/é", "/v1/node?x=1"} {
		for m := range uint8(6) {
			f.Add(m, p)
		}
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodDelete, "BREW"}
	f.Fuzz(func(t *testing.T, which uint8, path string) {
		svc := resttest.New()
		svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
		h := rest.NewHandler(svc, rest.WithLogger(slog.New(slog.DiscardHandler)))
		req := httptest.NewRequest(http.MethodGet, "/", strings.NewReader(`{}`))
		req.Method = methods[int(which)%len(methods)]
		req.URL.Path, req.URL.RawPath = path, ""
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case w.Code >= 200 && w.Code < 400:
		case w.Code >= 400 && w.Code < 500:
			var eb rest.ErrorBody
			if req.Method != http.MethodHead {
				if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error == "" {
					t.Fatalf("%s %q: %d with body %q", req.Method, path, w.Code, w.Body)
				}
			}
		default:
			t.Fatalf("%s %q: status %d: %s", req.Method, path, w.Code, w.Body)
		}
		for _, call := range svc.Calls() {
			if _, id, ok := strings.Cut(call, " "); ok && !strings.Contains(path, id) && !strings.Contains(path, url.PathEscape(id)) {
				t.Fatalf("%s %q reached the service as %q", req.Method, path, call)
			}
		}
	})
}
