package cli

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/testkit/browsertest"
)

// --demo submits the demo job through the node's API once the node is
// ready, and prints where the dashboard is; the node serves it at /.
func TestStart_demo(t *testing.T) {
	dir := t.TempDir()
	node := &fakeNode{svc: resttest.New(DemoPipeline)}
	h := runStart(t, func(context.Context, StartConfig) (RunningNode, error) { return node, nil },
		"--http", "127.0.0.1:0", "--port-file", filepath.Join(dir, "p.json"), "--data-dir", dir, "--demo")
	pf := readPortFile(t, filepath.Join(dir, "p.json"))
	testkit.Eventually(t, 20*time.Second, func() bool {
		return strings.Contains(h.stdout.String(), "dashboard  http://"+pf.HTTP+"/")
	}, "the dashboard's address on stdout: %q", h.stdout)
	reqs := node.svc.Requests()
	if len(reqs) != 1 || reqs[0].Pipeline != DemoPipeline || reqs[0].CheckpointInterval != demoCheckpointInterval || reqs[0].Params["start"] == "" {
		t.Fatalf("submitted %+v; want one demo job with checkpoints and a start", reqs)
	}
	for path, want := range map[string]string{
		"/":                        "<title>troupe</title>",
		"/dashboard/dashboard.js":  "refreshEvery",
		"/dashboard/dashboard.css": "--accent",
		"/nope":                    `"error":"no such endpoint`, // the REST API's JSON 404
	} {
		body := get(t, "http://"+pf.HTTP+path)
		if !strings.Contains(body, want) {
			t.Errorf("GET %s: %.200q lacks %q", path, body, want)
		}
	}
	h.sigs <- syscall.SIGTERM
	if code := h.exit(t); code != ExitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, h.stderr)
	}
}

// A program without the demo pipeline says so.
func TestStart_demoNotRegistered(t *testing.T) {
	dir := t.TempDir()
	node := &fakeNode{svc: resttest.New("wordcount")}
	h := runStart(t, func(context.Context, StartConfig) (RunningNode, error) { return node, nil },
		"--http", "127.0.0.1:0", "--data-dir", dir, "--demo")
	testkit.Eventually(t, 20*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), "the demo job could not be submitted")
	}, "the failed submission logged: %q", h.stderr)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// With API tokens the dashboard's page loads without one, asks for it
// when the API refuses, and then shows the node's data; /metrics needs
// the token as the API does.
func TestStart_dashboardAsksForTheToken(t *testing.T) {
	chromium := browsertest.Chromium(t)
	dir := t.TempDir()
	node := &fakeNode{svc: resttest.New("wordcount")}
	node.svc.SetMembers([]cluster.MemberStatus{{Name: "n1", Slots: 2, Coordinator: true}})
	runStart(t, func(context.Context, StartConfig) (RunningNode, error) { return node, nil },
		"--http", "127.0.0.1:0", "--port-file", filepath.Join(dir, "p.json"), "--data-dir", dir,
		"--api-token-file", writeFile(t, "t", testToken))
	pf := readPortFile(t, filepath.Join(dir, "p.json"))
	b := browsertest.New(t, chromium)
	b.Do(chromedp.Navigate("http://" + pf.HTTP + "/"))
	b.Wait("the token asked for", `!document.getElementById('token-form').hidden`)
	b.Do(chromedp.SendKeys(chromedp.CSS("#token"), testToken), chromedp.Click(chromedp.CSS("#token-form button")))
	b.Wait("the members, once the token is given", `document.querySelectorAll('#members tbody tr').length === 1 && document.getElementById('token-form').hidden`)
}
