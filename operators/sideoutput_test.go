package operators

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

var oddTag = NewOutputTag[string]("odd")

// splitOdd emits even values on the main output and odd ones, as text, on
// the side output oddTag.
func splitOdd(ctx *ProcessContext, v int64, out Collector[int64]) error {
	if v%2 != 0 {
		ctx.Output(oddTag.Of(fmt.Sprint("odd ", v)))
		return nil
	}
	out.Collect(v, ctx.Timestamp())
	return nil
}

// midChainPipeline has a process operator mid-chain (a map is chained
// after it) whose side output goes to a sink of parallelism 3.
func midChainPipeline() (*Pipeline, Stream[int64]) {
	p := NewPipeline("side").SetParallelism(2)
	src := FromSlice(p, []int64{1, 2, 3}).Parallelism(1)
	split := Process(src.Rebalance(), splitOdd).Name("split")
	Discard(Map(split, double).Name("double").Rebalance()).Name("main-sink")
	Discard(GetSideOutput(split, oddTag).Rebalance()).Name("odd-sink").Parallelism(3)
	return p, split
}

func TestGetSideOutput_midChain(t *testing.T) {
	p, _ := midChainPipeline()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	v := g.Vertices[1]
	if got := strings.Join(v.Operators(), ","); !strings.Contains(got, "split,double") {
		t.Fatalf("split and double not chained: %s", v.Name)
	}
	var tags []string
	for _, e := range v.Outputs {
		tags = append(tags, e.Tag)
	}
	if !slices.Contains(tags, "odd") {
		t.Fatalf("vertex outputs carry tags %q, want odd", tags)
	}
	for _, ch := range v.OutputChannels(1) {
		if idx := ch.Edge.SenderIndex(ch.Remote); v.OutputChannels(1)[idx] != ch {
			t.Fatalf("SenderIndex(%d) = %d inconsistent", ch.Remote, idx)
		}
	}
	ship := &recordingShipper{}
	c, err := v.Open(ChainConfig{Subtask: 1, BatchSize: 8, Ship: ship})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	feedSideChain(t, v, c, ship)
}

func feedSideChain(t *testing.T, v *Vertex, c *Chain, ship *recordingShipper) {
	t.Helper()
	c.Consume(0, &Batch[int64]{Elems: []Element[int64]{{1, 10}, {2, 20}, {3, 30}}})
	c.Emit(Barrier{ID: 7})
	chs := v.OutputChannels(1)
	var main, side []string
	events := map[int]int{}
	for _, s := range ship.events {
		if s.ev != nil {
			events[s.ch]++
			continue
		}
		if chs[s.ch].Edge.Tag == "odd" {
			for _, e := range s.batch.(*Batch[string]).Elems {
				side = append(side, fmt.Sprintf("%s@%d", e.Value, e.Timestamp))
			}
			if n := c.OutLen(s.batch); n != len(s.batch.(*Batch[string]).Elems) {
				t.Fatalf("OutLen of a side batch = %d", n)
			}
			continue
		}
		for _, e := range s.batch.(*Batch[int64]).Elems {
			main = append(main, fmt.Sprintf("%d@%d", e.Value, e.Timestamp))
		}
	}
	if got := strings.Join(main, " "); got != "4@20" {
		t.Errorf("main output %q, want 4@20", got)
	}
	if got := strings.Join(side, " "); got != "odd 1@10 odd 3@30" {
		t.Errorf("side output %q", got)
	}
	for ch := range chs {
		if events[ch] != 1 {
			t.Errorf("channel %d (tag %q) got %d barriers, want 1", ch, chs[ch].Edge.Tag, events[ch])
		}
	}
}

func TestGetSideOutput_errors(t *testing.T) {
	cases := []struct {
		name  string
		build func(p *Pipeline)
		want  error
	}{
		{"operator without side outputs", func(p *Pipeline) {
			m := Map(FromSlice(p, []int64{1}), double).Name("the-map")
			Discard(m)
			Discard(GetSideOutput(m, oddTag))
		}, ErrNoSideOutput},
		{"tag id with two types", func(p *Pipeline) {
			s := Process(FromSlice(p, []int64{1}), splitOdd).Name("the-process")
			Discard(s)
			Discard(GetSideOutput(s, oddTag))
			Discard(GetSideOutput(s, NewOutputTag[int]("odd")))
		}, ErrSideOutputType},
		{"empty tag id", func(p *Pipeline) {
			s := Process(FromSlice(p, []int64{1}), splitOdd).Name("the-process")
			Discard(s)
			Discard(GetSideOutput(s, NewOutputTag[int]("")))
		}, ErrNoSideOutput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPipeline("bad")
			c.build(p)
			_, err := p.Build()
			if !errors.Is(err, c.want) {
				t.Fatalf("Build: %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), `"the-`) {
				t.Fatalf("error does not name the operator: %v", err)
			}
		})
	}
}

// A side output that nothing consumes costs nothing and does not keep the
// main output from chaining.
func TestSideOutput_unconsumed(t *testing.T) {
	p := NewPipeline("side")
	got := Collect(Process(FromSlice(p, []int64{1, 2}), splitOdd))
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Vertices) != 1 {
		t.Fatalf("got %d vertices, want the whole pipeline chained", len(g.Vertices))
	}
	_ = got
}
