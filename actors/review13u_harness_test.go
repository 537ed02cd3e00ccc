package actors

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// A harness that drives one subtask by hand, message by message, in an
// order the test chooses: the races between peers that a real job leaves
// to the scheduler (which message reaches a subtask first) become
// deterministic. The subtask runs its real code — deploy, its chain, its
// gates, its aligner — with a Context that queues what it sends.

// probeCtx is the actor.Context of a driven subtask. Only Self, Parent,
// Message and Send are implemented (the subtask uses nothing else); any
// other call panics on the nil embedded interface.
type probeCtx struct {
	actor.Context
	self, parent *actor.PID
	msg          any
	h            *driven
}

func (c *probeCtx) Self() *actor.PID   { return c.self }
func (c *probeCtx) Parent() *actor.PID { return c.parent }
func (c *probeCtx) Message() any       { return c.msg }
func (c *probeCtx) Send(pid *actor.PID, msg any) {
	if pid.Equal(c.self) {
		c.h.post(msg)
		return
	}
	c.h.sent = append(c.h.sent, sentMsg{to: pid, msg: msg})
}

// sentMsg is a message the subtask sent to a peer (or its agent).
type sentMsg struct {
	to  *actor.PID
	msg any
}

// driven drives one subtask.
type driven struct {
	t       *testing.T
	s       *subtask
	ctx     *probeCtx
	mailbox []any
	sent    []sentMsg
	acks    chan *checkpointAck // acks and declines, sent by root.Send
	up      []*actor.PID        // the senders of the input channels
	down    []*actor.PID        // the receivers of the output channels
}

// newDriven deploys subtask 0 of vertex v (parallelism 1) with cfg; a
// non-nil store turns checkpointing on, and restore, if not nil, is
// what it restores. The subtask's agent is a real actor that passes the
// acks on to p.acks.
func newDriven(t *testing.T, v *operators.Vertex, cfg Config, store CheckpointStore, restore *taskRestore) *driven {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return QuietLogger() }))
	t.Cleanup(sys.Shutdown)
	p := &driven{t: t, acks: make(chan *checkpointAck, 64)}
	agent := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if a, ok := c.Message().(*checkpointAck); ok {
			p.acks <- a
		}
	}))
	p.ctx = &probeCtx{self: actor.NewPID("probe", "subtask"), parent: agent, h: p}
	if cfg.Credits == 0 {
		cfg.Credits = DefaultCredits // as Submit derives them without a memory budget (Config.forJob)
	}
	p.s = &subtask{jobName: "probe", run: "run-1", vertex: v, attempt: 1, cfg: cfg, log: QuietLogger(),
		root: sys.Root, store: store, restore: restore}
	p.s.urgent = &urgentMail{}
	p.s.yield = p.s.urgent.waiting
	d := &deployMsg{}
	for k, in := range v.InputChannels(0) {
		pid := actor.NewPID("probe", "up-"+string(rune('a'+k)))
		p.up = append(p.up, pid)
		d.inputs = append(d.inputs, endpoint{pid: pid, index: 0, edge: in.Edge})
	}
	for k, out := range v.OutputChannels(0) {
		pid := actor.NewPID("probe", "down-"+string(rune('a'+k)))
		p.down = append(p.down, pid)
		d.outputs = append(d.outputs, endpoint{pid: pid, index: 0, edge: out.Edge})
	}
	p.deliver(d)
	t.Cleanup(func() {
		p.s.stopTimers()
		p.s.dropRecorder(nil)
		p.s.uploads.stop()
		if p.s.chain != nil {
			_ = p.s.chain.Close()
		}
	})
	return p
}

// post queues msg in the subtask's mailbox, counting urgent mail as the
// real mailbox's middleware does.
func (p *driven) post(msg any) {
	p.s.urgent.MessagePosted(msg)
	p.mailbox = append(p.mailbox, msg)
}

// deliver posts msg and lets the subtask handle its whole mailbox (the
// messages it sends itself included).
func (p *driven) deliver(msg any) {
	p.post(msg)
	p.run()
}

// run lets the subtask handle its mailbox until it is empty.
func (p *driven) run() {
	for len(p.mailbox) > 0 {
		msg := p.mailbox[0]
		p.mailbox = p.mailbox[1:]
		p.ctx.msg = msg
		p.s.Receive(p.ctx)
	}
}

// batch is a batchMsg of values on input channel ch.
func batch[T any](ch int, values ...T) *batchMsg {
	b := &operators.Batch[T]{}
	for _, v := range values {
		b.Elems = append(b.Elems, operators.Element[T]{Value: v, Timestamp: operators.NoTimestamp})
	}
	return &batchMsg{ch: ch, data: b}
}

// output returns the values of the batches sent on output channel ch, in
// the order they were sent.
func output[T any](p *driven, ch int) []T {
	var got []T
	for _, m := range p.sent {
		bm, ok := m.msg.(*batchMsg)
		if !ok || !m.to.Equal(p.down[ch]) || bm.data == nil {
			continue
		}
		for _, e := range bm.data.(*operators.Batch[T]).Elems {
			got = append(got, e.Value)
		}
	}
	return got
}

// failure returns the error the subtask failed with, or nil.
func (p *driven) failure() error {
	for _, m := range p.sent {
		if f, ok := m.msg.(*subtaskFailed); ok {
			return f.err
		}
	}
	return nil
}

// ack waits for the subtask's next ack (or decline) of a checkpoint.
func (p *driven) ack() *checkpointAck {
	p.t.Helper()
	select {
	case a := <-p.acks:
		return a
	case <-time.After(10 * time.Second):
		p.t.Fatal("no checkpoint ack within 10 s")
		return nil
	}
}

// channelRestore writes cs as the channel state of subtask 0 of vertex
// v in a complete checkpoint of an in-memory store, and returns what a
// restore of it gives the subtask.
func channelRestore(t *testing.T, v *operators.Vertex, cs *persistence.ChannelState) *taskRestore {
	t.Helper()
	store := persistence.NewMemStore("probe", 1)
	h, err := store.WriteState(1, "probe-channels", cs.MarshalBinary())
	if err != nil {
		t.Fatal(err)
	}
	path, err := store.CommitMetadata(&persistence.Metadata{ID: 1, Job: "probe", MaxParallelism: 128,
		Tasks: []persistence.TaskState{{Vertex: v.Name, Parallelism: 1, Channels: h, InFlight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return &taskRestore{cp: cp, parallelism: 1, channels: h}
}

// encodedEntry is a channel state entry holding values, encoded with
// edge's codec.
func encodedEntry[T any](t *testing.T, edge *operators.VertexEdge, values ...T) persistence.ChannelEntry {
	t.Helper()
	data, err := edge.EncodeBatch(nil, batch(0, values...).data)
	if err != nil {
		t.Fatal(err)
	}
	return persistence.ChannelEntry{Kind: persistence.EntryBatch, Batch: data}
}

// memWrites is a CheckpointStore that keeps what subtasks write, for a
// test to read back by handle.
type memWrites struct {
	mu     sync.Mutex
	states map[string][]byte
}

func newMemWrites() *memWrites { return &memWrites{states: map[string][]byte{}} }

func (m *memWrites) WriteState(id int64, task string, data []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := fmt.Sprintf("%d/%s", id, task)
	m.states[h] = slices.Clone(data)
	return h, nil
}
func (m *memWrites) CommitMetadata(*persistence.Metadata) (string, error) { return "", nil }
func (m *memWrites) Discard(int64) error                                  { return nil }
func (m *memWrites) Checkpoints() ([]string, error)                       { return nil, nil }
func (m *memWrites) Open(string) (*persistence.Checkpoint, error) {
	return nil, persistence.ErrNoCheckpoint
}

// channels returns the channel state stored under handle.
func (m *memWrites) channels(t *testing.T, handle string) *persistence.ChannelState {
	t.Helper()
	m.mu.Lock()
	b, ok := m.states[handle]
	m.mu.Unlock()
	if !ok {
		t.Fatalf("no state %q written", handle)
	}
	cs, err := persistence.UnmarshalChannelState(b)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// decoded returns the values of a channel's batch entries, decoded with
// edge's codec.
func decoded[T any](t *testing.T, edge *operators.VertexEdge, entries []persistence.ChannelEntry) []T {
	t.Helper()
	var got []T
	for _, e := range entries {
		if e.Kind != persistence.EntryBatch {
			continue
		}
		b, err := edge.DecodeBatch(e.Batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, el := range b.(*operators.Batch[T]).Elems {
			got = append(got, el.Value)
		}
	}
	return got
}
