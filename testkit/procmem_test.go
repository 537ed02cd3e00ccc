package testkit

import (
	"os"
	"runtime"
	"testing"
)

func TestProcessRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux's /proc")
	}
	rss, err := ProcessRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The test binary holds at least a megabyte, and less than the machine.
	if rss < 1<<20 || rss > 1<<40 {
		t.Fatalf("resident set %d bytes", rss)
	}
	if _, err := ProcessRSS(-1); err == nil {
		t.Fatal("no error for process -1")
	}
}
