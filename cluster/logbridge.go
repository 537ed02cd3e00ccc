package cluster

import (
	"log"
	"log/slog"
	"strings"
)

// logBridge is the writer under the *log.Logger memberlist logs to: every
// line becomes one slog record at debug level, with memberlist's own level
// ("[WARN]", "[ERR]", ...) kept as the attribute memberlist_level.
// Memberlist logs routine trouble (a refused ping while a peer shuts down)
// as errors, so its levels are not ours; what matters for the cluster is
// reported by this package itself, at its own levels.
type logBridge struct {
	log *slog.Logger
}

// newStdLogger returns a standard logger that writes into l.
func newStdLogger(l *slog.Logger) *log.Logger { return log.New(logBridge{l}, "", 0) }

// Write logs one line; log.Logger calls it once per message.
func (b logBridge) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := ""
	if rest, ok := strings.CutPrefix(line, "["); ok {
		if lvl, msg, ok := strings.Cut(rest, "] "); ok {
			level, line = lvl, msg
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	b.log.Debug(line, "source", "memberlist", "memberlist_level", level)
	return len(p), nil
}
