package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
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

// waitingSavepoints is a service whose savepoints wait for their
// request's context, and report when it ended.
type waitingSavepoints struct {
	*resttest.Service
	started, ended chan struct{}
}

func (s *waitingSavepoints) Savepoint(ctx context.Context, _ string, _ bool) (string, error) {
	close(s.started)
	<-ctx.Done()
	defer close(s.ended)
	return "", ctx.Err()
}

// syncBuffer is a log destination safe for the handler's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Finding: a client that gives up on a request (Ctrl-C on node
// savepoint, a closed dashboard tab, a client timeout) cancels the
// request's context; the service then returns context.Canceled, which
// the handler took for an internal error: it logged "rest: request
// failed" at error level, as if the node had failed, and answered a 500
// to nobody. A request whose client has gone is not the node's error.
func TestReview14_clientThatGoesAwayIsNoNodeError(t *testing.T) {
	svc := &waitingSavepoints{Service: resttest.New(), started: make(chan struct{}), ended: make(chan struct{})}
	if _, err := svc.Submit(context.Background(), cluster.JobRequest{Pipeline: "p"}); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	srv := httptest.NewServer(rest.NewHandler(svc, rest.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/jobs/job-1/savepoint", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	within(t, svc.started, "the savepoint asked for")
	cancel() // the client gives up
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the request was answered, though its client gave up")
		}
	case <-time.After(testkit.Dilated(time.Minute)):
		t.Fatal("the cancelled request did not return")
	}
	within(t, svc.ended, "the savepoint to see its request cancelled")
	srv.Close() // waits for the handler
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a request whose client went away was logged as the node's error:\n%s", logs.String())
	}
}

// within waits for ch to close, failing the test after a minute (dilated).
func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(testkit.Dilated(time.Minute)):
		t.Fatalf("timed out waiting for %s", what)
	}
}
