package operators

import (
	"errors"
	"fmt"
)

// DefaultMaxParallelism is the number of key groups when none is set: the
// upper bound for any operator's parallelism after a rescale.
const DefaultMaxParallelism = 128

// Pipeline is a graph of sources, operators and sinks under construction.
// It is not safe for concurrent use; build it from one goroutine, then call
// Build.
type Pipeline struct {
	name           string
	nodes          []*node
	parallelism    int
	maxParallelism int
	errs           []error
	tags           map[string]any // side-output tag ID → its first OutputTag[T]
}

// NewPipeline starts an empty pipeline. The name identifies the job.
func NewPipeline(name string) *Pipeline {
	return &Pipeline{name: name, parallelism: 1, maxParallelism: DefaultMaxParallelism, tags: map[string]any{}}
}

// Name returns the pipeline's name.
func (p *Pipeline) Name() string { return p.name }

// SetParallelism sets the parallelism of every operator that does not set
// its own. The default is 1.
func (p *Pipeline) SetParallelism(n int) *Pipeline {
	if n < 1 {
		p.errs = append(p.errs, fmt.Errorf("pipeline %q: default parallelism %d: %w", p.name, n, ErrParallelism))
		return p
	}
	p.parallelism = n
	return p
}

// SetMaxParallelism sets the number of key groups (default 128).
func (p *Pipeline) SetMaxParallelism(n int) *Pipeline {
	if n < 1 {
		p.errs = append(p.errs, fmt.Errorf("pipeline %q: max parallelism %d: %w", p.name, n, ErrParallelism))
		return p
	}
	p.maxParallelism = n
	return p
}

type nodeKind int

const (
	kindSource nodeKind = iota
	kindOperator
	kindSink
)

// node is one operator of the logical graph, with its types erased. The
// typed behaviour lives in the closures and in out.
type node struct {
	p           *Pipeline
	id          int
	name        string
	kind        nodeKind
	parallelism int // 0: the pipeline's default
	inputs      []*edge
	consumers   []*edge
	out         streamType // output type; nil for sinks
	open        func(tc *TaskContext, out any) (*instance, error)
	noChain     bool                 // never chain this node to its input
	sides       map[string]*sideDecl // side outputs it emits, by tag ID
	anySide     bool                 // runs user code: may emit any tag
	multiInput  bool                 // its inputs are distinct (connect): one valve each
	outputDir   string               // a WriteFiles sink's directory
	async       *asyncSpec           // an async I/O operator's capacity
	// checks run at Build, when the pipeline is complete (a stream's
	// codec may be set after the operators that read it are added).
	checks []func() error
}

// asyncSpec is the capacity of an async I/O operator, and whether the
// pipeline set it (AsyncConfig.Capacity) or left the default.
type asyncSpec struct {
	capacity int
	set      bool
}

// instance is an opened operator: typed collectors for its inputs (erased),
// a source runner for sources, and the operator value for optional hooks.
type instance struct {
	inputs []any // Collector[In_i]
	source SourceRunner
	hooks  any
	// written counts the records a sink wrote (nil for other operators)
	written interface{ Written() int64 }
}

// Partitioning says how an edge spreads records over downstream subtasks.
type Partitioning int

const (
	// Forward sends subtask i's records to subtask i; it needs equal
	// parallelism on both ends and is the default when they are equal.
	Forward Partitioning = iota
	// Rebalance spreads records round robin; the default when parallelism
	// differs.
	Rebalance
	// Hash sends each record to the subtask owning its key group.
	Hash
	// Broadcast sends every record to every downstream subtask.
	Broadcast
	unset Partitioning = -1
)

func (p Partitioning) String() string {
	switch p {
	case Forward:
		return "forward"
	case Rebalance:
		return "rebalance"
	case Hash:
		return "hash"
	case Broadcast:
		return "broadcast"
	}
	return "unset"
}

// edge is one input of a node: the node holds it in inputs, its source
// in consumers.
type edge struct {
	from  *node
	part  Partitioning
	hash  any       // func(T) uint64 for Hash edges, T the from node's type
	input int       // logical input index at the consuming node
	side  *sideDecl // the side output it carries; nil for the main output
}

// stream returns the type of the records on the edge.
func (e *edge) stream() streamType {
	if e.side != nil {
		return e.side.st
	}
	return e.from.out
}

// mainConsumers counts the edges that consume n's main output.
func mainConsumers(n *node) int {
	c := 0
	for _, e := range n.consumers {
		if e.side == nil {
			c++
		}
	}
	return c
}

func (p *Pipeline) addNode(kind nodeKind, defaultName string, out streamType) *node {
	n := &node{p: p, id: len(p.nodes) + 1, kind: kind, out: out}
	n.name = fmt.Sprintf("%s-%d", defaultName, n.id)
	p.nodes = append(p.nodes, n)
	return n
}

// connect adds an edge from a stream into n as its next logical input.
func connect[T any](s Stream[T], n *node) {
	if s.n == nil || s.n.p != n.p {
		n.p.fail(n, ErrForeignStream)
		return
	}
	e := &edge{from: s.n, part: s.part, hash: s.hash, input: len(n.inputs), side: s.side}
	n.inputs = append(n.inputs, e)
	s.n.consumers = append(s.n.consumers, e)
}

// fail records a problem of operator n, reported by Build. The error
// names the operator as it is called when the error is read, so that a
// problem found as the operator is added (a bad setting) names it by the
// name given to it afterwards with Name.
func (p *Pipeline) fail(n *node, err error) {
	p.errs = append(p.errs, &nodeError{n: n, err: err})
}

// nodeError is a build error of one operator.
type nodeError struct {
	n   *node
	err error
}

func (e *nodeError) Error() string { return fmt.Sprintf("operator %q: %v", e.n.name, e.err) }

func (e *nodeError) Unwrap() error { return e.err }

func (p *Pipeline) buildErr() error { return errors.Join(p.errs...) }

// Stream is a typed stream of records produced by one operator. Its
// methods that return a Stream configure the operator that produced it or
// the partitioning towards the next operator.
type Stream[T any] struct {
	n    *node
	part Partitioning
	hash any
	side *sideDecl // set on a side output's stream (GetSideOutput)
}

// ops returns the typed operations of the stream's records.
func (s Stream[T]) ops() *streamOps[T] {
	if s.side != nil {
		return s.side.st.(*streamOps[T])
	}
	return s.n.out.(*streamOps[T])
}

// Name names the operator that produces this stream. Names must be unique in
// a pipeline; they appear in errors, logs and metrics.
func (s Stream[T]) Name(name string) Stream[T] {
	s.n.name = name
	return s
}

// Parallelism sets how many subtasks run the operator producing this stream.
func (s Stream[T]) Parallelism(n int) Stream[T] {
	setParallelism(s.n, n)
	return s
}

// Rebalance spreads the records over the next operator's subtasks round
// robin.
func (s Stream[T]) Rebalance() Stream[T] {
	s.part, s.hash = Rebalance, nil
	return s
}

// Broadcast sends every record to every subtask of the next operator.
func (s Stream[T]) Broadcast() Stream[T] {
	s.part, s.hash = Broadcast, nil
	return s
}

// Forward keeps records on the same subtask index; the next operator must
// have the same parallelism.
func (s Stream[T]) Forward() Stream[T] {
	s.part, s.hash = Forward, nil
	return s
}

// StartNewChain makes the operator that produces this stream begin a new
// chain: it is never chained to the operator before it, so it runs in
// subtasks of its own (Flink's startNewChain). The operators after it
// may still be chained to it.
func (s Stream[T]) StartNewChain() Stream[T] {
	s.n.noChain = true
	return s
}

// Pipeline returns the pipeline this stream belongs to.
func (s Stream[T]) Pipeline() *Pipeline { return s.n.p }

func setParallelism(n *node, par int) {
	if par < 1 {
		n.p.fail(n, fmt.Errorf("parallelism %d: %w", par, ErrParallelism))
		return
	}
	n.parallelism = par
}

// Sink is the handle of a sink operator, for naming it and setting its
// parallelism.
type Sink struct{ n *node }

// Name names the sink.
func (s Sink) Name(name string) Sink {
	s.n.name = name
	return s
}

// Parallelism sets how many subtasks run the sink.
func (s Sink) Parallelism(n int) Sink {
	setParallelism(s.n, n)
	return s
}

func newStream[T any](n *node) Stream[T] { return Stream[T]{n: n, part: unset} }
