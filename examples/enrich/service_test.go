package enrich

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeService is the enrichment service of the tests: an HTTP server on a
// random local port whose behaviour per id is fixed before it starts, so
// the handler only reads it. Its simulated latency sleeps in the handler:
// that is the service being slow, not the test waiting.
type fakeService struct {
	srv      *httptest.Server
	latency  []time.Duration // per id
	flaky    []int32         // per id: how many first tries get a 503
	status   map[int64]int   // ids that always get this status
	hang     map[int64]bool  // ids whose requests never get a reply
	limited  map[int64]int32 // ids whose first tries get a 429, how many
	gate     <-chan struct{} // requests for ids from gateFrom on wait until it closes
	gateFrom int64
	tries    []atomic.Int32 // per id: requests seen
	stop     chan struct{}  // releases hanging requests at cleanup
}

// serviceOption changes a fakeService before it starts.
type serviceOption func(*fakeService)

// withStatus makes the service always answer id with the HTTP status code.
func withStatus(id int64, code int) serviceOption {
	return func(s *fakeService) { s.status[id] = code }
}

// withTooManyRequests makes the service answer the first tries requests
// for id with 429 Too Many Requests.
func withTooManyRequests(id int64, tries int32) serviceOption {
	return func(s *fakeService) { s.limited[id] = tries }
}

// withGate holds every request for an id of from or more until gate is
// closed: the test decides when the rest of the input may pass.
func withGate(from int64, gate <-chan struct{}) serviceOption {
	return func(s *fakeService) { s.gate, s.gateFrom = gate, from }
}

// withHang makes the service never answer id.
func withHang(id int64) serviceOption { return func(s *fakeService) { s.hang[id] = true } }

// withFlaky makes each id fail its first 0, 1 or 2 tries with a 503.
func withFlaky(seed uint64) serviceOption {
	return func(s *fakeService) {
		r := rand.New(rand.NewPCG(seed, 1))
		for i := range s.flaky {
			s.flaky[i] = int32(r.IntN(3))
		}
	}
}

// newFakeService serves ids 0..n-1 with latencies drawn from
// [minLat, maxLat) by a seeded generator.
func newFakeService(t testing.TB, n int, seed uint64, minLat, maxLat time.Duration, opts ...serviceOption) *fakeService {
	t.Helper()
	s := &fakeService{latency: make([]time.Duration, n), flaky: make([]int32, n),
		status: map[int64]int{}, hang: map[int64]bool{}, limited: map[int64]int32{}, tries: make([]atomic.Int32, n), stop: make(chan struct{})}
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range s.latency {
		s.latency[i] = minLat + time.Duration(r.Int64N(int64(maxLat-minLat)+1))
	}
	for _, opt := range opts {
		opt(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(s.stop) }) // runs first: hanging handlers return
	return s
}

// URL is the service's base URL, with a query of its own to check that
// the pipeline adds id to it.
func (s *fakeService) URL() string { return s.srv.URL + "/lookup?v=1" }

func (s *fakeService) serve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	if err != nil || id < 0 || id >= int64(len(s.latency)) || r.URL.Query().Get("v") != "1" {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	try := s.tries[id].Add(1)
	if s.gate != nil && id >= s.gateFrom {
		select {
		case <-s.gate:
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		}
	}
	if s.hang[id] {
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	}
	time.Sleep(s.latency[id])
	switch code := s.status[id]; {
	case code != 0:
		http.Error(w, "broken", code)
	case try <= s.limited[id]:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case try <= s.flaky[id]:
		http.Error(w, "busy", http.StatusServiceUnavailable)
	default:
		w.Header().Set("Content-Type", "application/json")
		// A wrong id in the reply: the record must keep its own.
		fmt.Fprintf(w, "{\n  \"id\": %d,\n  \"name\": \"name-%d\", \"tag\": \"svc\", \"score\": %d\n}\n", id+1e6, id, 2*id)
	}
}

// Tries returns how many requests the service saw for id.
func (s *fakeService) Tries(id int64) int { return int(s.tries[id].Load()) }

// writeInput writes n records {"id":i,"n":i,"tag":"in"}, with a blank line
// in the middle, and returns the file's path.
func writeInput(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"tag\": \"in\", \"id\": %d, \"n\": %d}\n", i, i)
		if i == n/2 {
			b.WriteString("\n")
		}
	}
	path := filepath.Join(t.TempDir(), "input.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkEnriched fails the test unless r is record r.ID of writeInput
// merged with the service's reply.
func checkEnriched(t testing.TB, r Record) {
	t.Helper()
	var n, score int64
	var name, tag string
	ok := r.Field("n", &n) && r.Field("score", &score) && r.Field("name", &name) && r.Field("tag", &tag)
	if !ok || n != r.ID || score != 2*r.ID || name != fmt.Sprintf("name-%d", r.ID) || tag != "svc" || len(r.Fields) != 4 {
		b, _ := r.MarshalJSON()
		t.Fatalf("record %d not enriched right: %s", r.ID, b)
	}
}
