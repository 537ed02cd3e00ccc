package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/dashboard"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/testkit/browsertest"
)

// The dashboard's own behaviour in headless Chromium, against the REST
// API over an in-memory service (resttest), whose jobs the tests shape
// and move from state to state themselves. The node's handler is
// composed as node start composes it: the API at /, the dashboard at
// GET / and /dashboard/.

// serveDashboard serves the API over svc and the dashboard, for the test.
func serveDashboard(t *testing.T, svc rest.Service) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", rest.NewHandler(svc))
	mux.Handle("GET /{$}", dashboard.Handler())
	mux.Handle("GET /dashboard/", dashboard.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// newService returns a service with one member and a running job of id
// with a graph of two vertices and checkpoints on, submitted at sec.
func newService() *resttest.Service {
	svc := resttest.New()
	svc.SetMembers([]cluster.MemberStatus{{Name: "n1", HTTPAddr: "127.0.0.1:1", Slots: 2, Coordinator: true}})
	return svc
}

func runningJob(id string, submitted int64) cluster.JobStatus {
	return cluster.JobStatus{ID: id, Pipeline: "p-" + id, Parallelism: 1, State: cluster.StateRunning,
		Submitted: time.Unix(submitted, 0).UTC(),
		Vertices: []cluster.VertexStatus{
			{ID: 0, Name: "source", Parallelism: 1, Subtasks: []cluster.SubtaskStatus{{Index: 0, Node: "n1"}}},
			{ID: 1, Name: "sink", Parallelism: 1, Subtasks: []cluster.SubtaskStatus{{Index: 0, Node: "n1"}}},
		},
		Edges:       []cluster.EdgeStatus{{From: 0, To: 1, Partitioning: "forward"}},
		Checkpoints: &cluster.CheckpointsStatus{History: []cluster.CheckpointEntry{}},
	}
}

func shown(id string) string {
	return `document.getElementById('job-id').textContent === '` + id + `'`
}

// Finding: the Cancel button is armed by a first click and cancels on a
// second; but it cancels whatever job is shown at the second click. The
// page shows the newest running job unless the user picked one, so a job
// submitted between the two clicks takes the place of the one the user
// armed the button for, and the second click cancels the new job.
func TestDashboard_cancelArmedForOneJobNeverCancelsAnother(t *testing.T) {
	chromium := browsertest.Chromium(t)
	svc := newService()
	svc.AddJob(runningJob("job-a", 1_700_000_000))
	url := serveDashboard(t, svc) // before the browser, whose cleanup (first) ends its requests
	b := browsertest.New(t, chromium)
	b.Do(chromedp.Navigate(url))
	b.Wait("job-a shown", shown("job-a")+` && !document.getElementById('cancel').disabled`)

	b.Do(chromedp.Click(chromedp.CSS("#cancel")))
	b.Wait("the Cancel button armed", `document.getElementById('cancel').classList.contains('armed')`)
	svc.AddJob(runningJob("job-b", 1_700_000_100)) // submitted meanwhile: the newest running job
	b.Wait("job-b shown in job-a's place", shown("job-b"))
	b.Do(chromedp.Click(chromedp.CSS("#cancel")))
	b.Wait("the click answered (armed again, or a message)",
		`document.getElementById('cancel').classList.contains('armed') || document.getElementById('message').textContent !== ''`)
	for _, call := range svc.Calls() {
		if strings.HasPrefix(call, "Cancel") {
			t.Errorf("%s: one click on job-b's page cancelled a job (the button was armed for job-a)", call)
		}
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// blockingSavepoints is a service whose savepoints wait until release
// closes.
type blockingSavepoints struct {
	*resttest.Service
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (s *blockingSavepoints) Savepoint(ctx context.Context, id string, stop bool) (string, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	select {
	case <-s.release:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return s.Service.Savepoint(ctx, id, stop)
}

func (s *blockingSavepoints) savepoints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Finding: the Savepoint button is disabled while its request is in
// flight, but the page's refresh (every second) enables it again for a
// running job: a savepoint takes longer than a second, and a second click
// takes a second savepoint.
func TestDashboard_savepointButtonStaysDisabledWhileOneIsTaken(t *testing.T) {
	chromium := browsertest.Chromium(t)
	svc := &blockingSavepoints{Service: newService(), release: make(chan struct{})}
	svc.AddJob(runningJob("job-a", 1_700_000_000))
	url := serveDashboard(t, svc) // before the browser, whose cleanup (first) ends its requests
	b := browsertest.New(t, chromium)
	b.Do(chromedp.Navigate(url))
	b.Wait("the Savepoint button enabled", shown("job-a")+` && !document.getElementById('savepoint').disabled`)

	b.Do(chromedp.Click(chromedp.CSS("#savepoint")))
	testkit.Eventually(t, time.Minute, func() bool { return svc.savepoints() == 1 }, "the savepoint asked for")
	// A marker that the next rendering of the job removes (it sets the
	// facts' text): once it is gone, a refresh has rendered the job since
	// the click.
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('job-facts').append(Object.assign(document.createElement('span'), {id: 'marker'}))`))
	b.Wait("a refresh since the click", `document.getElementById('marker') === null`)
	if browsertest.Evaluate[bool](b, `!document.getElementById('savepoint').disabled`) {
		t.Error("the Savepoint button is enabled again while the savepoint is taken")
	}

	close(svc.release)
	b.Wait("the savepoint's path shown, the button enabled again",
		`document.getElementById('message').textContent.includes('/store/savepoints/') && !document.getElementById('savepoint').disabled`)
	if n := svc.savepoints(); n != 1 {
		t.Errorf("%d savepoints asked for, want 1", n)
	}
}

// Finding: a job the node knows only by its record in the job store (a
// job of a cluster that restarted, or one another node owns) has no
// graph: its status has no vertices, edges nor checkpoints. The page
// drew the graph regardless, threw a TypeError every second and showed
// it in place of the status; the rest of the job was never drawn.
func TestDashboard_jobWithoutGraph(t *testing.T) {
	chromium := browsertest.Chromium(t)
	svc := newService()
	svc.AddJob(cluster.JobStatus{ID: "job-old", Pipeline: "wordcount", State: cluster.StateFinished,
		Submitted: time.Unix(1_700_000_000, 0).UTC(), Ended: time.Unix(1_700_000_100, 0).UTC(), Owner: "n0"})
	url := serveDashboard(t, svc) // before the browser, whose cleanup (first) ends its requests
	b := browsertest.New(t, chromium)
	b.Do(chromedp.Navigate(url))
	b.Wait("the job's state shown", shown("job-old")+` && document.getElementById('job-state').textContent === 'finished'`)
	b.Wait("a refresh that ends", `document.getElementById('status').textContent.includes('updated') ||
		document.getElementById('status').classList.contains('error')`)
	if status := browsertest.Evaluate[string](b, `document.getElementById('status').textContent`); !strings.Contains(status, "1 members") {
		t.Errorf("status %q, want the members and the time of the update", status)
	}
	if got := browsertest.Evaluate[string](b, `document.getElementById('checkpoint-counts').textContent`); got == "" {
		t.Error("the job's checkpoints say nothing")
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// stuckJobs is a service whose job list does not answer until release
// closes, as a node whose job service is stuck.
type stuckJobs struct {
	*resttest.Service
	release chan struct{}
}

func (s *stuckJobs) Jobs(ctx context.Context) ([]cluster.JobStatus, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Service.Jobs(ctx)
}

// Finding: the page polls the API without a timeout and waits for each
// answer before the next poll: a node that never answers one request (a
// stuck job service, a stopped process) froze the page for good, showing
// its last data as if current, never an error. A request unanswered
// within the page's timeout is an error the page shows, and the polling
// goes on, so the page recovers once the node answers.
func TestDashboard_saysSoWhenTheNodeDoesNotAnswer(t *testing.T) {
	chromium := browsertest.Chromium(t)
	svc := &stuckJobs{Service: newService(), release: make(chan struct{})}
	url := serveDashboard(t, svc) // before the browser, whose cleanup (first) ends its requests
	b := browsertest.New(t, chromium)
	b.Do(chromedp.Navigate(url))
	b.Wait("an error saying the node does not answer", `document.getElementById('status').classList.contains('error') &&
		document.getElementById('status').textContent.includes('no answer')`)
	close(svc.release)
	b.Wait("the members once it answers", `!document.getElementById('status').classList.contains('error') &&
		document.getElementById('status').textContent.includes('1 members')`)
}

// Finding: each member links to its own dashboard, always over http://;
// a cluster with --tls-* serves its API and dashboards over HTTPS only,
// so every link to another node's dashboard was broken. A link takes the
// page's own scheme: every node of a cluster serves alike.
func TestDashboard_memberLinksKeepThePagesScheme(t *testing.T) {
	chromium := browsertest.Chromium(t)
	svc := newService()
	mux := http.NewServeMux()
	mux.Handle("/", rest.NewHandler(svc))
	mux.Handle("GET /{$}", dashboard.Handler())
	mux.Handle("GET /dashboard/", dashboard.Handler())
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	b := browsertest.New(t, chromium, chromedp.IgnoreCertErrors)
	b.Do(chromedp.Navigate(srv.URL + "/"))
	b.Wait("the member listed", `document.querySelectorAll('#members tbody tr a').length === 1`)
	if href := browsertest.Evaluate[string](b, `document.querySelector('#members tbody tr a').href`); href != "https://127.0.0.1:1/" {
		t.Errorf("the member's link is %s on a page served over HTTPS, want https://127.0.0.1:1/", href)
	}
}

// gatedJob is a service whose answers about one job wait, while gated,
// until the test opens the gate; answered counts those answered.
type gatedJob struct {
	*resttest.Service
	id       string
	mu       sync.Mutex
	gate     chan struct{} // nil: not gated
	waiting  int
	answered int
}

func (s *gatedJob) Job(ctx context.Context, id string) (cluster.JobStatus, error) {
	s.mu.Lock()
	gate := s.gate
	if id == s.id && gate != nil {
		s.waiting++
	}
	s.mu.Unlock()
	if id == s.id && gate != nil {
		<-gate
		defer func() { s.mu.Lock(); s.answered++; s.mu.Unlock() }()
	}
	return s.Service.Job(ctx, id)
}

func (s *gatedJob) counts() (waiting, answered int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting, s.answered
}

// Finding: a click on a job starts a refresh at once, beside the one
// that may be under way; the two ran side by side, and the older one's
// answer, arriving last, drew the job shown before the click over the
// one clicked (and armed the Cancel button for it): the page showed a
// job the user had just left. An answer to a refresh that a newer one
// has replaced is dropped.
func TestDashboard_aStaleAnswerNeverShowsTheJobLeft(t *testing.T) {
	chromium := browsertest.Chromium(t)
	svc := &gatedJob{Service: newService(), id: "job-b"}
	svc.AddJob(runningJob("job-a", 1_700_000_000))
	svc.AddJob(runningJob("job-b", 1_700_000_100))
	url := serveDashboard(t, svc)
	b := browsertest.New(t, chromium)
	b.Do(chromedp.Navigate(url))
	b.Wait("job-b shown (the newest running)", shown("job-b"))

	gate := make(chan struct{})
	svc.mu.Lock()
	svc.gate = gate
	svc.mu.Unlock()
	testkit.Eventually(t, time.Minute, func() bool { w, _ := svc.counts(); return w > 0 }, "a refresh asking for job-b")
	b.Do(chromedp.Click(chromedp.CSS(`#jobs tr[data-job="job-a"]`)))
	b.Wait("job-a shown once clicked", shown("job-a"))
	// From now on, record every job the page shows.
	b.Do(chromedp.Evaluate[chromedp.Void](`window.shownJobs = [];
		new MutationObserver(() => window.shownJobs.push(document.getElementById('job-id').textContent))
			.observe(document.getElementById('job-id'), {childList: true, characterData: true, subtree: true});`))
	close(gate)
	testkit.Eventually(t, time.Minute, func() bool { w, a := svc.counts(); return a == w }, "the answers about job-b given")
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('job-facts').append(Object.assign(document.createElement('span'), {id: 'marker'}))`))
	b.Wait("a refresh since", `document.getElementById('marker') === null`)
	if got := browsertest.Evaluate[[]string](b, `window.shownJobs.filter(id => id !== 'job-a')`); len(got) > 0 {
		t.Errorf("after the click on job-a the page showed %v", got)
	}
}
