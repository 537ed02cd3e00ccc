// Package browsertest drives a headless Chromium from tests, with
// chromedp: a tab whose console is recorded, JavaScript conditions polled
// with a deadline, screenshots saved as test artifacts. It is apart from
// package testkit so that only the tests that need a browser link
// chromedp.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/troupe-dev/troupe/testkit"
)

// ChromiumEnv names the variable that points at the browser to use.
const ChromiumEnv = "TROUPE_CHROMIUM"

// ArtifactsEnv names the variable of the directory screenshots go to
// (default: troupe-artifacts in the system's temporary directory).
const ArtifactsEnv = "TROUPE_ARTIFACTS"

// Chromium returns the browser to drive: $TROUPE_CHROMIUM, else the first
// of Debian's chromium and its usual other names on the PATH. With none,
// it skips the test, saying how to get one.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("this test needs Chromium, and none is installed: apt-get install -y chromium " +
		"(.ci/run installs it), or set " + ChromiumEnv + " to a Chrome or Chromium binary")
	return ""
}

// Browser is one headless Chromium tab for a test, with the console
// messages of its page. Close it with the test (New registers that).
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// ActionTimeout bounds one browser action.
const ActionTimeout = 30 * time.Second

// New starts the browser at path (see Chromium) with extra options, if
// any (such as chromedp.IgnoreCertErrors for a test server's
// certificate), and opens a tab; the test's cleanup closes it.
func New(t testing.TB, path string, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1100))
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx}
	// The first Run starts the browser, for as long as ctx lives: no
	// timeout on it.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("browsertest: start %s: %v", path, err)
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

// Do runs actions, failing the test on an error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testkit.Dilated(ActionTimeout))
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
}

// Evaluate evaluates a JavaScript expression in the page.
func Evaluate[T any](b *Browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testkit.Dilated(ActionTimeout))
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("browsertest: evaluate %s: %v", js, err)
	}
	return v
}

// Wait polls a JavaScript condition of the page until it is true, and
// fails the test if it is not within a minute (dilated).
func (b *Browser) Wait(what, js string) {
	b.t.Helper()
	testkit.Eventually(b.t, time.Minute, func() bool { return Evaluate[bool](b, js) },
		"the page to show %s (%s)", what, js)
}

// Screenshot saves the whole page as PNG file name in $TROUPE_ARTIFACTS.
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testkit.Dilated(ActionTimeout))
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; below, JPEG
	if err != nil {
		b.t.Fatalf("browsertest: screenshot: %v", err)
	}
	dir := os.Getenv(ArtifactsEnv)
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

// ConsoleErrors returns the console errors and uncaught exceptions of the
// page so far.
func (b *Browser) ConsoleErrors() []string {
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
