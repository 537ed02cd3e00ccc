package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/testkit"
)

// The dashboard in a real browser: headless Chromium, driven with
// chromedp, against a mini cluster of three node processes running the
// demo job. The page loads without a console error, lists the three
// members, draws the demo's graph, shows rates that go up and a completed
// checkpoint, and its Cancel button cancels the job. Screenshots go to
// $TROUPE_ARTIFACTS (default: a troupe-artifacts directory in the
// system's temporary directory).
func TestDashboard_inABrowser(t *testing.T) {
	browser := chromiumPath(t)
	c := testkit.StartCluster(t, 3, testkit.WithSlots(2))
	id := c.Submit(0, cluster.JobRequest{Pipeline: "demo", CheckpointInterval: "500ms",
		Params: map[string]string{"start": strconv.FormatInt(time.Now().UnixMilli(), 10)}})
	c.WaitJob(id, 60*time.Second, "the demo job running", func(st cluster.JobStatus) bool { return st.State == cluster.StateRunning })

	b := newBrowser(t, browser)
	// A node that does not coordinate: its API forwards to the one that does.
	url := "http://" + c.HTTPAddr(nonCoordinator(t, c)) + "/"
	b.do(chromedp.Navigate(url))

	b.wait("three members listed", `document.querySelectorAll('#members tbody tr').length === 3`)
	wantVertices := []string{"events -> timestamps -> bids", "bids-per-auction", "enrich -> sink"}
	b.wait("the demo's graph drawn", fmt.Sprintf(
		`JSON.stringify([...document.querySelectorAll('#graph g.vertex')].map(g => g.dataset.name)) === %q`, jsonList(wantVertices)))
	const sourceOut = `Number(document.querySelector('#graph g.vertex').dataset.recordsOut)`
	b.wait("the source's records counted", sourceOut+` > 0`)
	first := evaluate[float64](b, sourceOut)
	b.wait("the source's records to go up", fmt.Sprintf(`%s > %v && Number(document.querySelector('#graph g.vertex').dataset.rateOut) > 0`, sourceOut, first))
	b.wait("records through every operator", `[...document.querySelectorAll('#graph g.vertex')].every(g => Number(g.dataset.recordsIn) + Number(g.dataset.recordsOut) > 0)`)
	b.wait("a completed checkpoint in the history", `document.querySelectorAll('#checkpoints tbody tr[data-status="completed"]').length > 0`)
	b.screenshot("dashboard-running.png")

	b.wait("the Cancel button enabled", `!document.getElementById('cancel').disabled`)
	b.do(chromedp.Click(chromedp.CSS("#cancel"))) // arms it
	b.wait("the Cancel button armed", `document.getElementById('cancel').classList.contains('armed')`)
	b.do(chromedp.Click(chromedp.CSS("#cancel")))
	b.wait("the job shown cancelled", `document.getElementById('job-state').textContent === 'cancelled'`)
	if st := c.Job(id); st.State != cluster.StateCancelled {
		t.Errorf("the cluster says the job is %s, want cancelled", st.State)
	}
	b.screenshot("dashboard-cancelled.png")

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("the page wrote errors to the console:\n%s", strings.Join(errs, "\n"))
	}
}

// chromiumPath returns the browser to drive: $TROUPE_CHROMIUM, else the
// first of Debian's chromium and its usual other names on the PATH. With
// none, the test is skipped, saying how to get one.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("TROUPE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("the dashboard's browser test needs Chromium, and none is installed: apt-get install -y chromium " +
		"(.ci/run installs it), or set TROUPE_CHROMIUM to a Chrome or Chromium binary")
	return ""
}

// browser is a headless Chromium tab for one test, and the console
// messages of its page.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1100))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &browser{t: t, ctx: ctx}
	// The first Run starts the browser, for as long as ctx lives: no
	// timeout on it.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start %s: %v", path, err)
	}
	messages := chromedp.Console(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return // the context ended
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		wg.Wait()
	})
	return b
}

// actionTimeout bounds one browser action.
const actionTimeout = 30 * time.Second

// do runs actions, failing the test on an error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testkit.Dilated(actionTimeout))
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func evaluate[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testkit.Dilated(actionTimeout))
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", js, err)
	}
	return v
}

// wait polls a JavaScript condition of the page until it is true; the
// page refreshes itself every second.
func (b *browser) wait(what, js string) {
	b.t.Helper()
	testkit.Eventually(b.t, 60*time.Second, func() bool { return evaluate[bool](b, js) },
		"the dashboard to show %s (%s)", what, js)
}

// screenshot saves the page as name in the artifacts directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testkit.Dilated(actionTimeout))
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; below, JPEG
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("TROUPE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "troupe-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// consoleErrors returns the errors and uncaught exceptions of the page.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
		}
	}
	return out
}

func jsonList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ",") + "]"
}
