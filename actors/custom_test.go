package actors

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// doubler is a user actor: it doubles every value and, at end of input,
// emits how many values it saw as a negative number.
type doubler struct{ seen int }

func (d *doubler) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Input[int]:
		out := make([]operators.Element[int], len(m.Records))
		for i, r := range m.Records {
			out[i] = operators.Element[int]{Value: r.Value * 2, Timestamp: r.Timestamp}
		}
		d.seen += len(m.Records)
		ctx.Respond(&Output[int]{Records: out})
	case *EndOfInput:
		ctx.Respond(&Output[int]{Records: []operators.Element[int]{{Value: -d.seen}}})
	}
}

func TestFromActor_protocol(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.BatchSize = 100 })
	p := operators.NewPipeline("custom")
	src := operators.FromSlice(p, seq(5000)).Parallelism(2)
	doubled := FromActor[int, int](src, actor.PropsFromProducer(func() actor.Actor { return &doubler{} })).Name("doubler").Parallelism(2)
	c := operators.Collect(doubled).Parallelism(2)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	total, ends := 0, 0
	for _, part := range c.BySubtask() {
		last := -1
		for _, el := range part {
			if el.Value < 0 {
				ends++
				total -= el.Value
				continue
			}
			if el.Value%2 != 0 || el.Value <= last {
				t.Fatalf("bad or reordered output %d after %d", el.Value, last)
			}
			last = el.Value
		}
	}
	if ends != 2 || total != 5000 {
		t.Fatalf("end-of-input replies %d, counted %d records; want 2 and 5000", ends, total)
	}
}

type panicky struct{}

func (panicky) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*Input[int]); ok {
		for _, r := range m.Records {
			if r.Value == 321 {
				panic("user actor cannot take 321")
			}
		}
		ctx.Respond(&Output[int]{})
	}
}

type wrongReply struct{}

func (wrongReply) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*Input[int]); ok {
		ctx.Respond("not an output")
	}
}

func TestFromActor_failuresNameTheOperator(t *testing.T) {
	for name, props := range map[string]*actor.Props{
		"panic":       actor.PropsFromProducer(func() actor.Actor { return panicky{} }),
		"wrong-reply": actor.PropsFromProducer(func() actor.Actor { return wrongReply{} }),
	} {
		t.Run(name, func(t *testing.T) {
			e := newTestEngine(t, nil)
			p := operators.NewPipeline("custom-" + name)
			src := operators.FromSlice(p, seq(1000))
			operators.Discard(FromActor[int, int](src, props).Name("user-" + name))
			err := runPipeline(t, e, p)
			var se *SubtaskError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "user-"+name) {
				t.Fatalf("got %v, want a SubtaskError naming user-%s", err, name)
			}
		})
	}
}

// silent answers what its mode says and never the rest: "input" never
// answers an Input, "end" answers every Input but never EndOfInput.
type silent struct{ mode string }

func (s silent) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*Input[int]); ok && s.mode == "end" {
		ctx.Respond(&Output[int]{})
	}
}

// An actor that never answers fails its subtask after the reply timeout,
// with an error naming the operator and the message it did not answer,
// instead of hanging the job (issue 18, item 5).
func TestFromActor_replyTimeout(t *testing.T) {
	for _, c := range []struct{ mode, msg string }{{"input", "Input"}, {"end", "EndOfInput"}} {
		t.Run(c.mode, func(t *testing.T) {
			e := newTestEngine(t, nil)
			p := operators.NewPipeline("silent-" + c.mode)
			src := operators.FromSlice(p, seq(100))
			props := actor.PropsFromProducer(func() actor.Actor { return silent{mode: c.mode} })
			operators.Discard(FromActor[int, int](src, props, WithReplyTimeout(50*time.Millisecond)).Name("user-silent"))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := e.Run(ctx, p)
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the job still waits for the actor after 20s: %v", err)
			}
			var oe *operators.OperatorError
			if !errors.Is(err, ErrReplyTimeout) || !errors.As(err, &oe) || oe.Operator != "user-silent" ||
				!strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want ErrReplyTimeout naming user-silent and %s", err, c.msg)
			}
		})
	}
}

// A negative reply timeout fails Build naming the operator, as a
// negative async Timeout does, where it was taken for "wait for ever"
// and turned the protection against a silent actor off; 0 still waits
// for ever. Both custom operators, FromActor and FromKeyedActor, check.
func TestFromActor_negativeReplyTimeoutFailsBuild(t *testing.T) {
	props := actor.PropsFromProducer(func() actor.Actor { return silent{mode: "end"} })
	kinds := map[string]func(operators.Stream[int], ...ActorOption) operators.Stream[int]{
		"FromActor": func(s operators.Stream[int], opts ...ActorOption) operators.Stream[int] {
			return FromActor[int, int](s, props, opts...)
		},
		"FromKeyedActor": func(s operators.Stream[int], opts ...ActorOption) operators.Stream[int] {
			ks := operators.KeyBy(s, func(v int) int { return v % 2 })
			return FromKeyedActor[int, int, int](ks, props, opts...)
		},
	}
	for kind, from := range kinds {
		for _, c := range []struct {
			d  time.Duration
			ok bool
		}{{-time.Second, false}, {-1, false}, {0, true}, {time.Second, true}} {
			p := operators.NewPipeline("reply-timeout")
			src := operators.FromSlice(p, seq(1))
			operators.Discard(from(src, WithReplyTimeout(c.d)).Name("user-actor"))
			_, err := p.Build()
			if c.ok {
				if err != nil {
					t.Errorf("%s WithReplyTimeout(%v): Build: %v", kind, c.d, err)
				}
				continue
			}
			if !errors.Is(err, ErrActorOption) || !strings.Contains(err.Error(), `"user-actor"`) {
				t.Errorf("%s WithReplyTimeout(%v): Build: %v; want ErrActorOption naming the operator", kind, c.d, err)
			}
		}
		p := operators.NewPipeline("nil-option") // a nil option is skipped, as other operators' are
		operators.Discard(from(operators.FromSlice(p, seq(1)), nil))
		if _, err := p.Build(); err != nil {
			t.Errorf("%s with a nil option: Build: %v", kind, err)
		}
	}
}

// quitter stops itself at its first Input, without answering it.
type quitter struct{}

func (quitter) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*Input[int]); ok {
		ctx.Stop(ctx.Self())
	}
}

// An actor that stops (itself, or through a strategy of the user's
// stopping it) will answer nothing more: the subtask fails at once,
// naming the operator and the message left unanswered, instead of
// waiting for the reply timeout — for ever with WithReplyTimeout(0).
func TestFromActor_actorStopped_failsTheSubtask(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Restart = NoRestart() })
	p := operators.NewPipeline("quitter")
	src := operators.FromSlice(p, seq(100))
	props := actor.PropsFromProducer(func() actor.Actor { return quitter{} })
	operators.Discard(FromActor[int, int](src, props, WithReplyTimeout(0)).Name("user-quitter"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Run(ctx, p)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the job still waits for the stopped actor after 10s: %v", err)
	}
	var oe *operators.OperatorError
	if !errors.Is(err, ErrActorStopped) || !errors.As(err, &oe) || oe.Operator != "user-quitter" || !strings.Contains(err.Error(), "Input") {
		t.Fatalf("got %v, want ErrActorStopped naming user-quitter and the Input it left unanswered", err)
	}
}

// A Distribution that is neither RoundRobin nor Union fails Build naming
// the operator, where it was taken for round robin without a word.
func TestWithState_unknownDistributionFailsBuild(t *testing.T) {
	props := actor.PropsFromProducer(func() actor.Actor { return silent{mode: "end"} })
	for _, c := range []struct {
		mode Distribution
		ok   bool
	}{{RoundRobin, true}, {Union, true}, {Distribution(2), false}, {Distribution(-1), false}} {
		p := operators.NewPipeline("distribution")
		src := operators.FromSlice(p, seq(1))
		operators.Discard(FromActor[int, int](src, props, WithState(c.mode)).Name("user-actor"))
		_, err := p.Build()
		if c.ok != (err == nil) {
			t.Errorf("WithState(%d): Build: %v; want ok %v", int(c.mode), err, c.ok)
		}
		if !c.ok && (!errors.Is(err, ErrActorOption) || !strings.Contains(err.Error(), `"user-actor"`)) {
			t.Errorf("WithState(%d): Build: %v; want ErrActorOption naming the operator", int(c.mode), err)
		}
	}
}
