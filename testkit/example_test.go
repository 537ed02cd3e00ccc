package testkit_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/testkit"
)

// echo answers every "ping" with a "pong".
func echo(ctx actor.Context) {
	if msg, ok := ctx.Message().(string); ok && msg == "ping" {
		ctx.Respond("pong")
	}
}

// testEcho is a test body: in a test file it is
// func TestEcho(t *testing.T).
func testEcho(t testing.TB) {
	kit := testkit.New(t) // stops the actors and checks for leaks at the end
	probe := kit.NewProbe()
	pid := kit.Spawn(actor.PropsFromFunc(echo))

	probe.Send(pid, "ping") // the probe is the sender: the answer comes to it
	probe.ExpectMessage("pong")
	fmt.Println("echo answered pong")

	kit.System().Root.Stop(pid)
	probe.ExpectTerminated(pid)
	fmt.Println("echo stopped")
}

// A probe sends a ping to an echo actor and expects its pong, then its
// end. An example has no *testing.T: runAsTest stands in for `go test`.
func ExampleProbe() {
	runAsTest(testEcho)
	// Output:
	// echo answered pong
	// echo stopped
	// passed
}

// runAsTest runs body with a stand-in for *testing.T, then its cleanups,
// and prints whether it passed.
func runAsTest(body func(t testing.TB)) {
	t := &exampleT{}
	done := make(chan struct{})
	go func() { // Fatalf ends this goroutine, as it ends a test's
		defer close(done)
		defer t.runCleanups()
		body(t)
	}()
	<-done
	if t.Failed() {
		fmt.Println("failed:", t.failures)
	} else {
		fmt.Println("passed")
	}
}

// exampleT implements the methods of testing.TB that the kit calls.
type exampleT struct {
	testing.TB // nil: other methods are not called

	mu       sync.Mutex
	failures []string
	cleanups []func()
}

func (t *exampleT) Helper()                      {}
func (t *exampleT) Logf(string, ...any)          {}
func (t *exampleT) Cleanup(f func())             { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(f string, args ...any) { t.fail(fmt.Sprintf(f, args...)) }
func (t *exampleT) Fatalf(f string, args ...any) {
	t.fail(fmt.Sprintf(f, args...))
	runtime.Goexit()
}

func (t *exampleT) fail(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures = append(t.failures, msg)
}

func (t *exampleT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.failures) > 0
}

func (t *exampleT) runCleanups() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
