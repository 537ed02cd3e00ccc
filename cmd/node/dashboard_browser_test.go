package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/testkit/browsertest"
)

// The dashboard in a real browser: headless Chromium, driven with
// chromedp, against a mini cluster of three node processes running the
// demo job. The page loads without a console error, lists the three
// members, draws the demo's graph, shows rates that go up and a completed
// checkpoint, and its Cancel button cancels the job. Screenshots go to
// $TROUPE_ARTIFACTS (default: a troupe-artifacts directory in the
// system's temporary directory).
func TestDashboard_inABrowser(t *testing.T) {
	chromium := browsertest.Chromium(t)
	c := testkit.StartCluster(t, 3, testkit.WithSlots(2))
	id := c.Submit(0, cluster.JobRequest{Pipeline: "demo", CheckpointInterval: "500ms",
		Params: map[string]string{"start": strconv.FormatInt(time.Now().UnixMilli(), 10)}})
	c.WaitJob(id, 60*time.Second, "the demo job running", func(st cluster.JobStatus) bool { return st.State == cluster.StateRunning })

	b := browsertest.New(t, chromium)
	// A node that does not coordinate: its API forwards to the one that does.
	b.Do(chromedp.Navigate("http://" + c.HTTPAddr(nonCoordinator(t, c)) + "/"))

	b.Wait("three members listed", `document.querySelectorAll('#members tbody tr').length === 3`)
	wantVertices := []string{"events -> timestamps -> bids", "bids-per-auction", "enrich -> sink"}
	b.Wait("the demo's graph drawn", fmt.Sprintf(
		`JSON.stringify([...document.querySelectorAll('#graph g.vertex')].map(g => g.dataset.name)) === %q`, jsonList(wantVertices)))
	const sourceOut = `Number(document.querySelector('#graph g.vertex').dataset.recordsOut)`
	b.Wait("the source's records counted", sourceOut+` > 0`)
	first := browsertest.Evaluate[float64](b, sourceOut)
	b.Wait("the source's records to go up", fmt.Sprintf(`%s > %v && Number(document.querySelector('#graph g.vertex').dataset.rateOut) > 0`, sourceOut, first))
	b.Wait("records through every operator", `[...document.querySelectorAll('#graph g.vertex')].every(g => Number(g.dataset.recordsIn) + Number(g.dataset.recordsOut) > 0)`)
	b.Wait("a completed checkpoint in the history", `document.querySelectorAll('#checkpoints tbody tr[data-status="completed"]').length > 0`)
	b.Screenshot("dashboard-running.png")

	b.Wait("the Cancel button enabled", `!document.getElementById('cancel').disabled`)
	b.Do(chromedp.Click(chromedp.CSS("#cancel"))) // arms it
	b.Wait("the Cancel button armed", `document.getElementById('cancel').classList.contains('armed')`)
	b.Do(chromedp.Click(chromedp.CSS("#cancel")))
	b.Wait("the job shown cancelled", `document.getElementById('job-state').textContent === 'cancelled'`)
	if st := c.Job(id); st.State != cluster.StateCancelled {
		t.Errorf("the cluster says the job is %s, want cancelled", st.State)
	}
	b.Screenshot("dashboard-cancelled.png")

	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("the page wrote errors to the console:\n%s", strings.Join(errs, "\n"))
	}
}

func jsonList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ",") + "]"
}
