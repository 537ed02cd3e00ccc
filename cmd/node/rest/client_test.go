package rest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
)

func newClient(t testing.TB, srv *httptest.Server) *rest.Client {
	t.Helper()
	c, err := rest.NewClient(srv.URL+"/", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClient(t *testing.T) {
	ctx := context.Background()
	svc := resttest.New("wordcount")
	svc.SetMembers([]cluster.MemberStatus{{Name: "n1", Slots: 2, Coordinator: true}})
	c := newClient(t, serve(t, svc))

	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	req := cluster.JobRequest{Pipeline: "wordcount", Params: map[string]string{"input": "x"}, Parallelism: 2, CheckpointInterval: "1s"}
	id, err := c.Submit(ctx, req)
	if err != nil || id != "job-1" {
		t.Fatalf("Submit: %q, %v", id, err)
	}
	if got := svc.Requests(); len(got) != 1 || !equalRequests(got[0], req) {
		t.Fatalf("service got %+v", got)
	}
	jobs, err := c.Jobs(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].ID != id || jobs[0].Params["input"] != "x" {
		t.Fatalf("Jobs: %+v, %v", jobs, err)
	}
	job, err := c.Job(ctx, id)
	if err != nil || job.State != cluster.StateRunning || job.Parallelism != 2 {
		t.Fatalf("Job: %+v, %v", job, err)
	}
	path, err := c.Savepoint(ctx, id, false)
	if err != nil || !strings.HasPrefix(path, "/store/savepoints/") {
		t.Fatalf("Savepoint: %q, %v", path, err)
	}
	if err := c.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	members, err := c.Members(ctx)
	if err != nil || len(members) != 1 || !members[0].Coordinator {
		t.Fatalf("Members: %+v, %v", members, err)
	}
	svc.SetNodeStatus(cluster.NodeStatus{Name: "n1", Slots: 2, Jobs: []string{id}, Remote: cluster.RemoteStatus{InFlight: 3}})
	if st, err := c.NodeStatus(ctx); err != nil || st.Name != "n1" || len(st.Jobs) != 1 || st.Remote.InFlight != 3 {
		t.Fatalf("NodeStatus: %+v, %v", st, err)
	}
	if got, want := strings.Join(svc.Calls(), ";"), "Submit;Jobs;Job job-1;Savepoint job-1;Cancel job-1"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// TestClient_errors: every error status comes back as an *APIError
// wrapping its sentinel, with the server's message and field.
func TestClient_errors(t *testing.T) {
	ctx := context.Background()
	svc := resttest.New("wordcount")
	svc.AddJob(cluster.JobStatus{ID: "done", State: cluster.StateFinished})
	c := newClient(t, serve(t, svc))

	_, err := c.Submit(ctx, cluster.JobRequest{Pipeline: "wordcount", Parallelism: -1})
	wantAPIError(t, err, 400, cluster.ErrBadRequest, "parallelism", "negative")
	_, err = c.Submit(ctx, cluster.JobRequest{Pipeline: "nope"})
	wantAPIError(t, err, 400, cluster.ErrBadRequest, "pipeline", `unknown pipeline "nope"`)
	_, err = c.Job(ctx, "missing")
	wantAPIError(t, err, 404, cluster.ErrUnknownJob, "", `"missing"`)
	wantAPIError(t, c.Cancel(ctx, "done"), 409, cluster.ErrJobEnded, "", "finished")
	_, err = c.Savepoint(ctx, "done", true)
	wantAPIError(t, err, 409, cluster.ErrJobEnded, "", "finished")
	svc.SetCoordinator("", false, false)
	_, err = c.Jobs(ctx)
	wantAPIError(t, err, 503, cluster.ErrNoCoordinator, "", "no coordinator")
	svc.SetError("Members", errors.New("view: closed"))
	_, err = c.Members(ctx)
	wantAPIError(t, err, 500, nil, "", "view: closed")
}

func wantAPIError(t testing.TB, err error, status int, sentinel error, field, msg string) {
	t.Helper()
	ae, ok := errors.AsType[*rest.APIError](err)
	if !ok {
		t.Fatalf("error %v (%T), want an *APIError", err, err)
	}
	if ae.StatusCode != status || ae.Field() != field || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %+v, want status %d, field %q, message containing %q", ae, status, field, msg)
	}
	for _, s := range []error{cluster.ErrBadRequest, cluster.ErrUnknownJob, cluster.ErrJobEnded, cluster.ErrNoCoordinator} {
		if errors.Is(err, s) != (s == sentinel) {
			t.Errorf("errors.Is(%v, %v) = %v", err, s, errors.Is(err, s))
		}
	}
}

// TestClient_foreignError: an error response that is not ours (a proxy's
// page) is reported with its status and the start of its body.
func TestClient_foreignError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway "+strings.Repeat("x", 500)+"</html>", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := newClient(t, srv).Jobs(context.Background())
	ae, ok := errors.AsType[*rest.APIError](err)
	if !ok || ae.StatusCode != 502 || errors.Unwrap(err) != nil {
		t.Fatalf("error %v (%T), want a 502 APIError wrapping nothing", err, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "502 Bad Gateway: <html>bad gateway") || len(msg) > 400 || !strings.Contains(msg, srv.URL+"/v1/jobs") {
		t.Errorf("message %q", msg)
	}
}

func TestClient_connectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := newClient(t, srv).Jobs(context.Background())
	if ue, ok := errors.AsType[*url.Error](err); !ok || !strings.Contains(ue.URL, srv.URL) {
		t.Fatalf("error %v (%T), want a *url.Error naming %s", err, err, srv.URL)
	}
}

func TestNewClient_badURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8081", "ftp://host", "http://", "http://h:1/?q=1", "http://u:p@h:1", "http://h:1/#x", "%zz"} {
		if _, err := rest.NewClient(u, nil); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", u)) {
			t.Errorf("NewClient(%q): %v, want an error naming the URL", u, err)
		}
	}
}
