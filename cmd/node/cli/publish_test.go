package cli

import (
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
)

// publish stores the events once, with IDs: a second publish of the same
// events stores nothing.
func TestPublish_nexmark(t *testing.T) {
	s := jstest.RunServer(t)
	url := s.URL() + "/NEXMARK"
	code, _, stderr := runMain(t, nil, "publish", "nexmark", url, "--events", "500", "--seed", "3")
	if code != ExitOK || !strings.Contains(stderr, "500 events stored, 0 already there") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runMain(t, nil, "publish", "nexmark", url, "--events", "200", "--from", "400", "--seed", "3")
	if code != ExitOK || !strings.Contains(stderr, "100 events stored, 100 already there") {
		t.Fatalf("again: exit %d, stderr %q", code, stderr)
	}
	msgs := s.ReadAll(t, "NEXMARK")
	if len(msgs) != 600 {
		t.Fatalf("%d messages, want 600", len(msgs))
	}
	kinds := map[string]int{}
	for _, m := range msgs {
		kinds[m.Subject]++
	}
	if kinds["nexmark.person"] != 12 || kinds["nexmark.auction"] != 36 || kinds["nexmark.bid"] != 552 {
		t.Errorf("subjects %v, want 1:3:46 of 600", kinds)
	}
}

func TestPublish_usage(t *testing.T) {
	for _, args := range [][]string{
		{"publish"},
		{"publish", "tpch", "nats://127.0.0.1:4222/S"},
		{"publish", "nexmark"},
		{"publish", "nexmark", "nats://127.0.0.1:4222/"},
		{"publish", "nexmark", "nats://127.0.0.1:4222/S", "--events", "-3"},
		{"publish", "nexmark", "nats://127.0.0.1:4222/S", "extra"},
	} {
		if code, _, stderr := runMain(t, nil, args...); code != ExitUsage || !strings.Contains(stderr, "node publish:") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
	if code, stdout, _ := runMain(t, nil, "help", "publish"); code != ExitOK || !strings.Contains(stdout, "node publish nexmark") {
		t.Errorf("help publish: exit %d, %q", code, stdout)
	}
}

// A server that cannot be reached is a failure naming it, not a usage
// error.
func TestPublish_noServer(t *testing.T) {
	code, _, stderr := runMain(t, nil, "publish", "nexmark", "nats://127.0.0.1:1/S", "--events", "1")
	if code != ExitFailed || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
