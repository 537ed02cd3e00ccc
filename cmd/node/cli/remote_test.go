package cli

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
)

// serveREST serves the REST API over svc on a test server; around, if not
// nil, wraps the handler.
func serveREST(t testing.TB, svc rest.Service, around func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	var h http.Handler = rest.NewHandler(svc, rest.WithLogger(discardLogger()))
	if around != nil {
		h = around(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// callNode runs a command line against the node at srv (appending
// --server) and returns its exit code and output; wait polls at once.
func callNode(t testing.TB, srv *httptest.Server, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := newCommand(nil, &out, &errOut, nil)
	c.pollInterval = time.Millisecond
	code = c.main(append(args, "--server", srv.URL))
	return code, out.String(), errOut.String()
}

func wantRun(t testing.TB, code int, stdout, stderr string, wantCode int, wantOut, wantErr []string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("exit %d, want %d; stdout %q, stderr %q", code, wantCode, stdout, stderr)
	}
	for _, w := range wantOut {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	for _, w := range wantErr {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if len(wantErr) == 0 && stderr != "" {
		t.Errorf("stderr %q, want none", stderr)
	}
}

func TestSubmit(t *testing.T) {
	svc := resttest.New("wordcount")
	srv := serveREST(t, svc, nil)
	code, out, errOut := callNode(t, srv, "submit", "--parallelism", "6", "wordcount", "-p", "input=/in.txt",
		"--param", "rate=0", "--checkpoint-interval", "1m30s", "--state-backend", "bbolt", "--restore", "/store/sp-1")
	wantRun(t, code, out, errOut, ExitOK, nil, nil)
	if out != "job-1\n" {
		t.Errorf("stdout %q, want the job id alone", out)
	}
	want := cluster.JobRequest{Pipeline: "wordcount", Params: map[string]string{"input": "/in.txt", "rate": "0"},
		Parallelism: 6, CheckpointInterval: "1m30s", StateBackend: "bbolt", Restore: "/store/sp-1"}
	got := svc.Requests()
	if len(got) != 1 || got[0].Pipeline != want.Pipeline || !mapsEqual(got[0].Params, want.Params) ||
		got[0].Parallelism != 6 || got[0].CheckpointInterval != want.CheckpointInterval ||
		got[0].StateBackend != want.StateBackend || got[0].Restore != want.Restore {
		t.Fatalf("service got %+v, want %+v", got, want)
	}
	// Without flags, the request leaves every optional field out.
	code, out, errOut = callNode(t, srv, "submit", "wordcount")
	wantRun(t, code, out, errOut, ExitOK, []string{"job-2"}, nil)
	if r := svc.Requests()[1]; r.Params != nil || r.Parallelism != 0 || r.CheckpointInterval != "" || r.StateBackend != "" || r.Restore != "" {
		t.Errorf("plain submit sent %+v", r)
	}
}

func TestSubmit_refused(t *testing.T) {
	svc := resttest.New("wordcount")
	srv := serveREST(t, svc, nil)
	code, out, errOut := callNode(t, srv, "submit", "nope")
	wantRun(t, code, out, errOut, ExitUsage, nil, []string{"node submit:", `unknown pipeline "nope"`, "'node pipelines'"})
	if out != "" {
		t.Errorf("stdout %q", out)
	}
	svc.SetError("Submit", &resttest.FieldError{Name: "restore", Reason: `"/gone" does not exist`})
	code, out, errOut = callNode(t, srv, "submit", "wordcount", "--restore", "/gone")
	wantRun(t, code, out, errOut, ExitUsage, nil, []string{`restore: "/gone" does not exist`, "'node submit --help'"})
}

func TestClientCommands_usageErrors(t *testing.T) {
	svc := resttest.New()
	srv := serveREST(t, svc, nil)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"submit"}, "missing PIPELINE"},
		{[]string{"submit", "a", "b"}, `unexpected argument "b" after PIPELINE "a"`},
		{[]string{"submit", "wc", "--parallelism", "0"}, `"0" for flag -parallelism`},
		{[]string{"submit", "wc", "--checkpoint-interval", "soon"}, `"soon" for flag -checkpoint-interval`},
		{[]string{"submit", "wc", "--state-backend", "rocksdb"}, `"rocksdb"`},
		{[]string{"submit", "wc", "-p", "novalue"}, `"novalue"`},
		{[]string{"submit", "wc", "-p", "a=1", "-p", "a=2"}, `"a" given twice`},
		{[]string{"jobs", "extra"}, `unexpected argument "extra"`},
		{[]string{"job"}, "missing ID"},
		{[]string{"job", "a", "b"}, `unexpected argument "b" after ID "a"`},
		{[]string{"cancel"}, "missing ID"},
		{[]string{"savepoint", "j1", "--stop=maybe"}, "-stop"},
		{[]string{"members", "--bogus"}, "-bogus"},
		{[]string{"wait"}, "missing ID"},
		{[]string{"wait", "j1", "--timeout", "-1s"}, `"-1s" for flag -timeout`},
		{[]string{"wait", "j1", "--timeout", "0"}, `"0" for flag -timeout`},
	}
	for _, tt := range tests {
		code, out, errOut := callNode(t, srv, tt.args...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "--help") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 naming %q", tt.args, code, out, errOut, tt.want)
		}
	}
	if calls := svc.Calls(); len(calls) != 0 {
		t.Errorf("usage errors reached the node: %q", calls)
	}
}

func TestJobs(t *testing.T) {
	svc := resttest.New()
	srv := serveREST(t, svc, nil)
	code, out, errOut := callNode(t, srv, "jobs")
	wantRun(t, code, out, errOut, ExitOK, []string{"No jobs."}, nil)

	svc.AddJob(cluster.JobStatus{ID: "j1", Pipeline: "wordcount", Parallelism: 6, State: cluster.StateRunning, Restarts: 2,
		LatestCheckpoint: &cluster.CheckpointInfo{ID: 17, Path: "/store/j1/chk-17"}})
	svc.AddJob(cluster.JobStatus{ID: "j2", Pipeline: "nexmark", Parallelism: 12, State: cluster.StateWaitingForSlots})
	code, out, errOut = callNode(t, srv, "jobs")
	wantRun(t, code, out, errOut, ExitOK, nil, nil)
	want := "" +
		"ID  PIPELINE   STATE              PARALLELISM  RESTARTS  CHECKPOINT\n" +
		"j1  wordcount  running            6            2         17\n" +
		"j2  nexmark    waiting-for-slots  12           0         -\n"
	if out != want {
		t.Errorf("table:\n%s\nwant:\n%s", out, want)
	}
}

func TestJob(t *testing.T) {
	svc := resttest.New()
	svc.AddJob(cluster.JobStatus{
		ID: "j1", Pipeline: "wordcount", Params: map[string]string{"rate": "0", "input": "/in put.txt"}, Parallelism: 2,
		State: cluster.StateRestarting, Submitted: time.Unix(1_700_000_000, 0), Restarts: 1,
		Failure:          `operator "count" subtask 1 on node n2: kaboom`,
		LatestCheckpoint: &cluster.CheckpointInfo{ID: 3, Path: "/store/j1/chk-3"},
		Vertices: []cluster.VertexStatus{
			{Name: "source", Parallelism: 1, Subtasks: []cluster.SubtaskStatus{{Index: 0, Node: "n1"}}},
			{Name: "count", Parallelism: 2, Subtasks: []cluster.SubtaskStatus{{Index: 0, Node: "n1"}, {Index: 1, Node: "n2"}}},
		},
	})
	srv := serveREST(t, svc, nil)
	code, out, errOut := callNode(t, srv, "job", "j1")
	wantRun(t, code, out, errOut, ExitOK, []string{
		"id:          j1\n", "pipeline:    wordcount\n", `params:      input="/in put.txt" rate="0"` + "\n",
		"state:       restarting\n", "parallelism: 2\n", "restarts:    1\n", "checkpoint:  3 /store/j1/chk-3\n",
		`failure:     operator "count" subtask 1 on node n2: kaboom` + "\n",
		"vertices:\n  source (parallelism 1)\n    0  n1\n  count (parallelism 2)\n    0  n1\n    1  n2\n",
	}, nil)
	if strings.Contains(out, "ended:") || strings.Contains(out, "running:") {
		t.Errorf("a restarting job shows an end, or a start of its attempt:\n%s", out)
	}
	since := time.Unix(1_700_000_005, 0)
	svc.AddJob(cluster.JobStatus{ID: "j2", Pipeline: "wordcount", State: cluster.StateRunning, RunningSince: since})
	code, out, errOut = callNode(t, srv, "job", "j2")
	wantRun(t, code, out, errOut, ExitOK, []string{"running:     since " + formatTime(since) + "\n"}, nil)
	code, out, errOut = callNode(t, srv, "job", "nope")
	wantRun(t, code, out, errOut, ExitUsage, nil, []string{`"nope"`, "'node jobs'"})
}

func TestCancel(t *testing.T) {
	svc := resttest.New()
	svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
	srv := serveREST(t, svc, nil)
	code, out, errOut := callNode(t, srv, "cancel", "j1")
	wantRun(t, code, out, errOut, ExitOK, []string{"cancel requested for job j1"}, nil)
	code, out, errOut = callNode(t, srv, "cancel", "j1")
	wantRun(t, code, out, errOut, ExitUsage, nil, []string{"node cancel:", "cancelled", "'node job ID'"})
	if got := strings.Join(svc.Calls(), ";"); got != "Cancel j1;Cancel j1" {
		t.Errorf("calls %q", got)
	}
}

func TestSavepoint(t *testing.T) {
	svc := resttest.New()
	svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
	srv := serveREST(t, svc, nil)
	code, out, errOut := callNode(t, srv, "savepoint", "j1")
	wantRun(t, code, out, errOut, ExitOK, []string{"/store/savepoints/j1-"}, nil)
	code, out, errOut = callNode(t, srv, "savepoint", "--stop", "j1")
	wantRun(t, code, out, errOut, ExitOK, []string{"/store/savepoints/j1-"}, nil)
	if got := strings.Join(svc.Calls(), ";"); got != "Savepoint j1;Savepoint j1 stop" {
		t.Errorf("calls %q", got)
	}
	svc.SetError("Savepoint", errors.New("checkpoint 9 expired before completing"))
	code, out, errOut = callNode(t, srv, "savepoint", "j1")
	wantRun(t, code, out, errOut, ExitFailed, nil, []string{"answered 500", "checkpoint 9 expired"})
}

func TestMembers(t *testing.T) {
	svc := resttest.New()
	svc.SetMembers([]cluster.MemberStatus{
		{Name: "n1", HTTPAddr: "127.0.0.1:8081", ActorAddr: "127.0.0.1:40001", GossipAddr: "127.0.0.1:7946", Slots: 4, SlotsUsed: 3, Version: "v1", Coordinator: true, Reachable: true},
		{Name: "n2", HTTPAddr: "127.0.0.1:8082", ActorAddr: "127.0.0.1:40002", GossipAddr: "127.0.0.1:7947", Slots: 2, Version: "v1"},
	})
	srv := serveREST(t, svc, nil)
	code, out, errOut := callNode(t, srv, "members")
	wantRun(t, code, out, errOut, ExitOK, nil, nil)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "NAME") || !strings.Contains(lines[0], "SLOTS") {
		t.Fatalf("table:\n%s", out)
	}
	if f := strings.Fields(lines[1]); len(f) < 7 || f[0] != "*" || f[1] != "n1" || f[2] != "127.0.0.1:8081" || f[5] != "3/4" {
		t.Errorf("coordinator line %q", lines[1])
	}
	if f := strings.Fields(lines[2]); len(f) < 6 || f[0] != "n2" || f[4] != "0/2" {
		t.Errorf("member line %q", lines[2])
	}
	if !strings.Contains(lines[0], "REACH") || !strings.HasSuffix(lines[1], "yes") || !strings.HasSuffix(lines[2], "no") {
		t.Errorf("the REACH column does not say n1 yes and n2 no:\n%s", out)
	}
}

// pollCounter wraps a handler and runs hook before the n-th GET of a
// job (counting from 1).
func pollCounter(hook func(n int64)) func(http.Handler) http.Handler {
	var n atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/jobs/") {
				hook(n.Add(1))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name, state, failure string
		code                 int
		out, err             string
	}{
		{"finished", cluster.StateFinished, "", ExitOK, "finished\n", ""},
		{"failed", cluster.StateFailed, `operator "explode" subtask 0 on node n2: kaboom`, ExitFailed, "failed\n",
			`node wait: job j1 failed: operator "explode" subtask 0 on node n2: kaboom`},
		{"cancelled", cluster.StateCancelled, "", ExitFailed, "cancelled\n", "node wait: job j1 was cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := resttest.New()
			svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateWaitingForSlots})
			var polls atomic.Int64
			srv := serveREST(t, svc, pollCounter(func(n int64) {
				polls.Store(n)
				switch n {
				case 2:
					svc.SetState("j1", cluster.StateRunning, "")
				case 3: // between coordinators: wait asks again
					svc.SetCoordinator("", false, false)
				case 4:
					svc.SetCoordinator("", true, true)
				case 5:
					svc.SetState("j1", tt.state, tt.failure)
				}
			}))
			code, out, errOut := callNode(t, srv, "wait", "j1")
			var wantErr []string
			if tt.err != "" {
				wantErr = []string{tt.err}
			}
			wantRun(t, code, out, errOut, tt.code, []string{tt.out}, wantErr)
			if out != tt.out || polls.Load() != 5 {
				t.Errorf("stdout %q after %d polls; want %q after 5", out, polls.Load(), tt.out)
			}
		})
	}
}

func TestWait_timeout(t *testing.T) {
	svc := resttest.New()
	svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
	srv := serveREST(t, svc, nil)
	code, out, errOut := callNode(t, srv, "wait", "j1", "--timeout", "30ms")
	wantRun(t, code, out, errOut, ExitFailed, nil, []string{"node wait: timed out after 30ms; job j1 is running"})
	if out != "" {
		t.Errorf("stdout %q", out)
	}
}

func TestWait_unknownJob(t *testing.T) {
	srv := serveREST(t, resttest.New(), nil)
	code, out, errOut := callNode(t, srv, "wait", "nope")
	wantRun(t, code, out, errOut, ExitUsage, nil, []string{`"nope"`, "'node jobs'"})
}

func TestClientCommands_unreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	for _, args := range [][]string{{"jobs"}, {"submit", "wordcount"}, {"wait", "j1"}, {"members"}} {
		code, out, errOut := callNode(t, srv, args...)
		wantRun(t, code, out, errOut, ExitFailed, nil, []string{"cannot reach the node at " + srv.URL, "--server", "TROUPE_SERVER"})
	}
}

func TestClientCommands_serverFlag(t *testing.T) {
	svc := resttest.New()
	srv := serveREST(t, svc, nil)
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := newCommand(nil, &out, &errOut, nil).main(args)
		return code, out.String(), errOut.String()
	}
	t.Setenv(ServerEnv, srv.URL)
	if code, out, errOut := run("jobs"); code != ExitOK || !strings.Contains(out, "No jobs.") {
		t.Errorf("with %s: exit %d, %q, %q", ServerEnv, code, out, errOut)
	}
	t.Setenv(ServerEnv, "")
	if code, out, errOut := run("jobs", "--server", strings.TrimPrefix(srv.URL, "http://")); code != ExitOK {
		t.Errorf("--server without a scheme: exit %d, %q, %q", code, out, errOut)
	}
	if code, _, errOut := run("jobs", "--server", "ftp://x"); code != ExitUsage || !strings.Contains(errOut, `"ftp://x"`) {
		t.Errorf("--server ftp://x: exit %d, %q", code, errOut)
	}
	if got := len(svc.Calls()); got != 2 {
		t.Errorf("%d calls, want 2", got)
	}
}

func TestMain_helpCommands(t *testing.T) {
	for _, cmd := range []string{"start", "submit", "jobs", "job", "cancel", "savepoint", "wait", "members"} {
		for _, args := range [][]string{{"help", cmd}, {cmd, "--help"}, {cmd, "-h"}} {
			code, out, errOut := runMain(t, nil, args...)
			if code != ExitOK || !strings.HasPrefix(out, "Usage: node "+cmd) || errOut != "" {
				t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
		}
		if _, out, _ := runMain(t, nil, "--help"); !strings.Contains(out, "  "+cmd+" ") {
			t.Errorf("the usage does not list %q", cmd)
		}
	}
}
