package operators

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func double(v int64) int64   { return 2 * v }
func even(v int64) bool      { return v%2 == 0 }
func sum(a, b int64) int64   { return a + b }
func identity(v int64) int64 { return v }

func TestPipeline_Build_errors(t *testing.T) {
	cases := []struct {
		name  string
		build func(p *Pipeline)
		want  error
		names []string // that the error must mention
	}{
		{"empty pipeline", func(*Pipeline) {}, ErrEmptyPipeline, []string{`"p"`}},
		{"no sink", func(p *Pipeline) {
			Map(Generate(p, 3, identity), double)
		}, ErrNoSink, []string{`"map-2"`}},
		{"parallelism 0", func(p *Pipeline) {
			Discard(Map(Generate(p, 3, identity), double).Parallelism(0))
		}, ErrParallelism, []string{`"map-2"`}},
		{"pipeline parallelism 0", func(p *Pipeline) {
			p.SetParallelism(0)
			Discard(Generate(p, 3, identity))
		}, ErrParallelism, []string{`"p"`}},
		{"parallelism above max", func(p *Pipeline) {
			p.SetMaxParallelism(4)
			Discard(Generate(p, 3, identity).Parallelism(5))
		}, ErrParallelism, []string{`"generator-1"`}},
		{"nil key function", func(p *Pipeline) {
			Discard(Reduce(KeyBy[int64, int64](Generate(p, 3, identity), nil), sum))
		}, ErrNoKeyFunc, []string{`"reduce-2"`}},
		{"nil map function", func(p *Pipeline) {
			Discard(Map[int64, int64](Generate(p, 3, identity), nil))
		}, ErrNilFunc, []string{`"map-2"`}},
		{"duplicate names", func(p *Pipeline) {
			s := Map(Generate(p, 3, identity), double).Name("twice")
			Discard(Filter(s, even).Name("twice"))
		}, ErrDuplicateName, []string{`"twice"`}},
		{"forward edge between parallelisms", func(p *Pipeline) {
			Discard(Map(Generate(p, 3, identity).Forward(), double).Parallelism(2))
		}, ErrParallelism, []string{`"map-2"`, `"generator-1"`}},
		{"foreign stream", func(p *Pipeline) {
			Discard(Union(Generate(p, 3, identity), Generate(NewPipeline("other"), 3, identity)))
		}, ErrForeignStream, []string{`"union-2"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPipeline("p")
			c.build(p)
			_, err := p.Build()
			if !errors.Is(err, c.want) {
				t.Fatalf("Build: %v, want %v", err, c.want)
			}
			for _, name := range c.names {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
		})
	}
}

// TestPipeline_Build_chains checks that forward edges of equal parallelism
// are chained and that a keyed edge starts a new vertex.
func TestPipeline_Build_chains(t *testing.T) {
	p := NewPipeline("chain")
	s := Filter(Map(Generate(p, 10, identity), double), even).Parallelism(1)
	Discard(Reduce(KeyBy(s, identity), sum))
	g, err := p.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var names []string
	for _, v := range g.Vertices {
		names = append(names, v.Name)
	}
	want := []string{"generator-1 -> map-2 -> filter-3", "reduce-4 -> discard-5"}
	if !slices.Equal(names, want) {
		t.Fatalf("vertices %q, want %q", names, want)
	}
	if in := g.Vertices[1].Inputs; len(in) != 1 || in[0].Partitioning != Hash || in[0].From != g.Vertices[0] {
		t.Fatalf("reduce vertex inputs %v, want one hash edge from the first vertex", in)
	}
	if !g.Vertices[0].IsSource() || g.Vertices[0].IsSink() || !g.Vertices[1].IsSink() {
		t.Fatalf("source/sink flags wrong: %v", names)
	}
}

// TestPipeline_Build_noChain checks the edges that must not be chained:
// different parallelism (rebalance), a rebalance asked for, and fan-out.
func TestPipeline_Build_noChain(t *testing.T) {
	cases := []struct {
		name  string
		build func(p *Pipeline)
		want  []string
	}{
		{"parallelism differs", func(p *Pipeline) {
			Discard(Map(Generate(p, 3, identity), double).Parallelism(2)).Parallelism(2)
		}, []string{"generator-1", "map-2 -> discard-3"}},
		{"rebalance", func(p *Pipeline) {
			Discard(Map(Generate(p, 3, identity).Rebalance(), double))
		}, []string{"generator-1", "map-2 -> discard-3"}},
		{"fan-out", func(p *Pipeline) {
			s := Generate(p, 3, identity)
			Discard(s)
			Discard(Map(s, double))
		}, []string{"generator-1", "discard-2", "map-3 -> discard-4"}},
		{"a new chain started", func(p *Pipeline) {
			Discard(Map(Map(Generate(p, 3, identity), double).StartNewChain(), double))
		}, []string{"generator-1", "map-2 -> map-3 -> discard-4"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPipeline("p")
			c.build(p)
			g, err := p.Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			var names []string
			for _, v := range g.Vertices {
				names = append(names, v.Name)
			}
			if !slices.Equal(names, c.want) {
				t.Fatalf("vertices %q, want %q", names, c.want)
			}
		})
	}
}
