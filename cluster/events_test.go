package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// A consumer that does not read holds back no producer, loses no event
// and gets them in order once it reads; the pump warns that events pile
// up.
func TestPump_unreadEventsWaitInOrder(t *testing.T) {
	logs := &recordingHandler{}
	p := newPump(slog.New(logs))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { p.run(done) })
	defer func() { close(done); wg.Wait() }()

	const n = 3000
	for i := range n {
		p.push(Event{EventUpdate, with(member("a", 1), func(m *NodeMeta) { m.Slots = i })})
	}
	for i := range n {
		select {
		case ev := <-p.out:
			if ev.Node.Slots != i {
				t.Fatalf("event %d has Slots %d: out of order", i, ev.Node.Slots)
			}
		case <-time.After(dilated(5 * time.Second)):
			t.Fatalf("event %d of %d not delivered", i, n)
		}
	}
	if got := logs.messages(); len(got) != 2 { // at 1024 and at 2048
		t.Fatalf("warnings %q, want two", got)
	}
}

// Closing done ends run while it waits for a consumer that never comes,
// and closes the channel.
func TestPump_run_stopsWithoutConsumer(t *testing.T) {
	p := newPump(slog.New(slog.DiscardHandler))
	p.push(Event{EventJoin, member("a", 1)}, Event{EventJoin, member("b", 1)})
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() { p.run(done); close(stopped) }()
	eventually(t, 5*time.Second, func() bool { return p.pending() == 1 }, "run took the first event")
	close(done)
	select {
	case <-stopped:
	case <-time.After(dilated(5 * time.Second)):
		t.Fatal("run did not return after done was closed")
	}
	if _, open := <-p.out; open {
		t.Fatal("out not closed")
	}
}

// recordingHandler keeps the messages of warnings and errors.
type recordingHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var attrs string
	r.Attrs(func(a slog.Attr) bool { attrs += fmt.Sprintf(" %s=%v", a.Key, a.Value); return true })
	h.msgs = append(h.msgs, r.Message+attrs)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}
