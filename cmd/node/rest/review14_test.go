package rest_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/testkit"
)

// stuckServer accepts connections and never answers, as a coordinator
// whose process is stopped (SIGSTOP, a partition that keeps TCP up): the
// kernel accepts, nobody reads. It holds the connections until the test
// ends.
func stuckServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// Finding: a node forwards job requests to the coordinator with no bound
// on the wait: a coordinator that accepts the connection and never
// answers (its process stopped, partitioned) left every forwarded GET
// hanging for as long as the client waited — the dashboard, which
// polls without a timeout of its own, froze for good. A read forwarded
// to a coordinator that does not answer within rest.ForwardReadTimeout
// is a 503, as one to a coordinator that is down.
func TestReview14_forwardedReadToAStuckCoordinator(t *testing.T) {
	addr := stuckServer(t)
	n := startNode(t)
	n.svc.SetCoordinator(addr, false, true)
	client := &http.Client{Timeout: testkit.Dilated(time.Minute)}
	for _, path := range []string{"/v1/jobs", "/v1/jobs/job-1"} {
		start := time.Now()
		resp, err := client.Get(n.srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s via a node whose coordinator is stuck: no answer after %v: %v", path, time.Since(start).Round(time.Second), err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var eb rest.ErrorBody
		if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(body, &eb) != nil ||
			!strings.Contains(eb.Error, "the coordinator at "+addr+" did not answer") {
			t.Errorf("GET %s: %d %s; want 503 saying the coordinator did not answer", path, resp.StatusCode, body)
		}
	}
}
