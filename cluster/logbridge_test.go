package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogBridge_memberlistLinesBecomeDebugRecords(t *testing.T) {
	var buf bytes.Buffer
	l := newStdLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("[ERR] memberlist: Failed to send ping: %s", "refused")
	l.Printf("plain line")
	got := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="Failed to send ping: refused" source=memberlist memberlist_level=ERR`,
		`level=DEBUG msg="plain line" source=memberlist memberlist_level=""`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log output lacks %s:\n%s", want, got)
		}
	}
	buf.Reset()
	quiet := newStdLogger(slog.New(slog.NewTextHandler(&buf, nil))) // info and above
	quiet.Printf("[WARN] memberlist: Refuting a suspect message")
	if buf.Len() != 0 {
		t.Fatalf("a memberlist warning came through at info level: %s", buf.String())
	}
}
