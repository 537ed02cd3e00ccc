package testkit

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// maxLogLines bounds the actor system's log a Kit keeps in memory.
const maxLogLines = 1000

// logBuffer keeps the last lines the actor system logged, so that a failed
// test can show them while a passing one stays quiet. Proto.Actor logs from
// its own goroutines, even after the test ended: hence a buffer, never t.Log.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	dropped int
}

// Write takes one line: slog handlers write each record with one call.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) == maxLogLines {
		b.lines = b.lines[1:]
		b.dropped++
	}
	b.lines = append(b.lines, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// String returns the kept lines, noting how many older ones were dropped.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	if b.dropped > 0 {
		fmt.Fprintf(&sb, "(%d older lines dropped)\n", b.dropped)
	}
	sb.WriteString(strings.Join(b.lines, "\n"))
	return sb.String()
}

// logger returns a logger writing into b, debug records included.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
