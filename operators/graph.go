package operators

import (
	"fmt"
	"strings"
)

// JobGraph is a validated pipeline compiled for deployment: vertices in
// topological order, each a chain of operators run by one subtask actor per
// parallel instance.
type JobGraph struct {
	Name           string
	MaxParallelism int
	Vertices       []*Vertex
}

// Vertex is a chain of operators with one parallelism.
type Vertex struct {
	ID             int
	Name           string // operator names joined by " -> "
	Parallelism    int
	MaxParallelism int
	Inputs         []*VertexEdge // in the order of the head's input channels
	Outputs        []*VertexEdge
	nodes          []*node
}

// VertexEdge connects the tail of one vertex to the head of another.
type VertexEdge struct {
	From, To     *Vertex
	Partitioning Partitioning
	Input        int    // logical input of To's head operator
	Tag          string // the side-output tag it carries; "" for the main output
	e            *edge
}

// IsSource reports whether the vertex starts with a source.
func (v *Vertex) IsSource() bool { return v.nodes[0].kind == kindSource }

// IsSink reports whether the vertex ends with a sink.
func (v *Vertex) IsSink() bool { return v.nodes[len(v.nodes)-1].kind == kindSink }

// External returns the runtime-specific spec of the vertex's head operator
// (such as actor props), or nil for built-in operators.
func (v *Vertex) External() any { return v.nodes[0].external }

// OutputDirs returns the directories of the graph's WriteFiles sinks, in
// the order of the vertices, so that a command can tell a user that a
// fresh job writes where committed output already is.
func (g *JobGraph) OutputDirs() []string {
	var dirs []string
	for _, v := range g.Vertices {
		for _, n := range v.nodes {
			if n.outputDir != "" {
				dirs = append(dirs, n.outputDir)
			}
		}
	}
	return dirs
}

// Operators returns the names of the chained operators, head first.
func (v *Vertex) Operators() []string {
	names := make([]string, len(v.nodes))
	for i, n := range v.nodes {
		names[i] = n.name
	}
	return names
}

// Width returns how many channels the edge has at one receiving subtask.
func (e *VertexEdge) Width() int {
	if e.Partitioning == Forward {
		return 1
	}
	return e.From.Parallelism
}

// fanOut returns how many channels the edge has at one sending subtask.
func (e *VertexEdge) fanOut() int {
	if e.Partitioning == Forward {
		return 1
	}
	return e.To.Parallelism
}

// Channel is one end of a channel as seen from a subtask: the edge and the
// subtask index at the other end.
type Channel struct {
	Edge   *VertexEdge
	Remote int
}

// InputChannels lists a subtask's input channels; a channel's position is
// its index in batches and credits.
func (v *Vertex) InputChannels(subtask int) []Channel {
	return channels(v.Inputs, subtask, (*VertexEdge).Width)
}

// OutputChannels lists a subtask's output channels, in the order its router
// numbers them.
func (v *Vertex) OutputChannels(subtask int) []Channel {
	return channels(v.Outputs, subtask, (*VertexEdge).fanOut)
}

// channels numbers the channels of a list of edges: a forward edge has one
// channel (to the same subtask index), any other edge one per peer subtask.
func channels(edges []*VertexEdge, subtask int, width func(*VertexEdge) int) []Channel {
	var chs []Channel
	for _, e := range edges {
		if e.Partitioning == Forward {
			chs = append(chs, Channel{Edge: e, Remote: subtask})
			continue
		}
		for j := range width(e) {
			chs = append(chs, Channel{Edge: e, Remote: j})
		}
	}
	return chs
}

// channelIndex is the position of the channel of edge e to or from peer
// among edges' channels (see channels).
func channelIndex(edges []*VertexEdge, e *VertexEdge, peer int, width func(*VertexEdge) int) int {
	base := 0
	for _, other := range edges {
		if other == e {
			break
		}
		base += width(other)
	}
	if e.Partitioning == Forward {
		return base
	}
	return base + peer
}

// ReceiverIndex returns the index, among the receiving subtask's input
// channels, of the channel from subtask from of e.From.
func (e *VertexEdge) ReceiverIndex(from int) int {
	return channelIndex(e.To.Inputs, e, from, (*VertexEdge).Width)
}

// SenderIndex returns the index, among the sending subtask's output
// channels, of the channel to subtask to of e.To.
func (e *VertexEdge) SenderIndex(to int) int {
	return channelIndex(e.From.Outputs, e, to, (*VertexEdge).fanOut)
}

// Build validates the pipeline and compiles it. Every error names the
// operator it concerns; all problems found are reported together.
func (p *Pipeline) Build() (*JobGraph, error) {
	if len(p.nodes) == 0 {
		return nil, fmt.Errorf("pipeline %q: %w", p.name, ErrEmptyPipeline)
	}
	p.checkNames()
	p.checkSinks()
	p.resolveParallelism()
	p.runChecks()
	if err := p.buildErr(); err != nil {
		return nil, err
	}
	return p.compile(), nil
}

// runChecks runs the nodes' checks of the complete pipeline.
func (p *Pipeline) runChecks() {
	for _, n := range p.nodes {
		for _, check := range n.checks {
			if err := check(); err != nil {
				p.fail(n, err)
			}
		}
	}
}

func (p *Pipeline) checkNames() {
	seen := make(map[string]bool, len(p.nodes))
	for _, n := range p.nodes {
		if seen[n.name] {
			p.fail(n, ErrDuplicateName)
		}
		seen[n.name] = true
	}
}

func (p *Pipeline) checkSinks() {
	sinks := 0
	for _, n := range p.nodes {
		if n.kind == kindSink {
			sinks++
		} else if mainConsumers(n) == 0 {
			p.fail(n, fmt.Errorf("its output goes nowhere: %w", ErrNoSink))
		}
	}
	if sinks == 0 {
		p.errs = append(p.errs, fmt.Errorf("pipeline %q: %w", p.name, ErrNoSink))
	}
}

func (p *Pipeline) resolveParallelism() {
	for _, n := range p.nodes {
		if n.parallelism == 0 {
			n.parallelism = p.parallelism
		}
		if n.parallelism > p.maxParallelism {
			p.fail(n, fmt.Errorf("parallelism %d above max parallelism %d: %w", n.parallelism, p.maxParallelism, ErrParallelism))
		}
	}
	for _, n := range p.nodes {
		for _, e := range n.inputs {
			same := e.from.parallelism == n.parallelism
			switch {
			case e.part == unset && same:
				e.part = Forward
			case e.part == unset:
				e.part = Rebalance
			case e.part == Forward && !same:
				p.fail(n, fmt.Errorf("forward edge from %q with parallelism %d to %d: %w",
					e.from.name, e.from.parallelism, n.parallelism, ErrParallelism))
			}
		}
	}
}

// chained reports whether n runs in the same subtask as its only input.
func chained(n *node) bool {
	if len(n.inputs) != 1 || n.noChain || n.external != nil {
		return false
	}
	e := n.inputs[0]
	return e.side == nil && e.part == Forward && mainConsumers(e.from) == 1 && e.from.parallelism == n.parallelism
}

func (p *Pipeline) compile() *JobGraph {
	g := &JobGraph{Name: p.name, MaxParallelism: p.maxParallelism}
	vertexOf := make(map[*node]*Vertex, len(p.nodes))
	for _, n := range p.nodes { // creation order is topological
		if chained(n) {
			v := vertexOf[n.inputs[0].from]
			v.nodes = append(v.nodes, n)
			vertexOf[n] = v
			continue
		}
		v := &Vertex{ID: len(g.Vertices) + 1, Parallelism: n.parallelism, MaxParallelism: p.maxParallelism, nodes: []*node{n}}
		vertexOf[n] = v
		g.Vertices = append(g.Vertices, v)
	}
	for _, v := range g.Vertices {
		v.Name = strings.Join(v.Operators(), " -> ")
		for _, e := range v.nodes[0].inputs {
			from := vertexOf[e.from]
			ve := &VertexEdge{From: from, To: v, Partitioning: e.part, Input: e.input, e: e}
			if e.side != nil {
				ve.Tag = e.side.id
			}
			v.Inputs = append(v.Inputs, ve)
			from.Outputs = append(from.Outputs, ve)
		}
	}
	return g
}
