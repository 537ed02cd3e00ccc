package operators

import "fmt"

// OutputTag names a side output of type T: a second stream that an
// operator emits besides its main output, such as the records a window
// operator found too late. Tags are compared by ID; one ID must have one
// type in a pipeline.
type OutputTag[T any] struct{ id string }

// NewOutputTag returns the tag with the given ID. An empty ID is reported
// by Pipeline.Build when the tag is used.
func NewOutputTag[T any](id string) OutputTag[T] { return OutputTag[T]{id: id} }

// ID returns the tag's identifier.
func (t OutputTag[T]) ID() string { return t.id }

// sideDecl is one side output an operator emits: its tag ID and the
// stream type of its records, shared by every consumer of the tag.
type sideDecl struct {
	id string
	st streamType
}

// GetSideOutput returns the stream of tag's records from the operator that
// produced s. The operator must be able to emit it: operators that run
// user functions (Process, ProcessKeyed, ProcessWindow) accept any tag;
// other operators only those they declare, such as the late-records tag of
// a window (WithLateOutput). Otherwise, or when the tag's ID is empty or
// used with another type, Pipeline.Build fails naming the operator.
//
// The side stream is consumed over channels, never chained. Name and
// Parallelism on it configure the producing operator.
func GetSideOutput[T, X any](s Stream[X], tag OutputTag[T]) Stream[T] {
	n := s.n
	if s.side != nil {
		n.p.fail(n, fmt.Errorf("side output %q of side output %q: %w", tag.id, s.side.id, ErrNoSideOutput))
		return Stream[T]{n: n, part: unset, side: &sideDecl{id: tag.id, st: newStreamOps[T]()}}
	}
	d, ok := n.sides[tag.id]
	switch {
	case ok:
		if _, same := d.st.(*streamOps[T]); !same {
			n.p.fail(n, fmt.Errorf("side output %q requested as %T: %w", tag.id, tag, ErrSideOutputType))
			d = &sideDecl{id: tag.id, st: newStreamOps[T]()}
		}
	case n.anySide:
		d = declareSide(n, tag)
	default:
		n.p.fail(n, fmt.Errorf("side output %q: %w", tag.id, ErrNoSideOutput))
		d = &sideDecl{id: tag.id, st: newStreamOps[T]()}
	}
	return Stream[T]{n: n, part: unset, side: d}
}

// declareSide records that n emits tag, checking the tag against the
// other uses of its ID in the pipeline.
func declareSide[T any](n *node, tag OutputTag[T]) *sideDecl {
	if d, ok := n.sides[tag.id]; ok {
		return d
	}
	d := &sideDecl{id: tag.id, st: newStreamOps[T]()}
	if tag.id == "" {
		n.p.fail(n, fmt.Errorf("side output tag with an empty ID: %w", ErrNoSideOutput))
		return d
	}
	if prev, ok := n.p.tags[tag.id]; ok {
		if _, same := prev.(OutputTag[T]); !same {
			n.p.fail(n, fmt.Errorf("side output %q used as %T and as %T: %w", tag.id, prev, tag, ErrSideOutputType))
		}
	} else {
		n.p.tags[tag.id] = tag
	}
	if n.sides == nil {
		n.sides = map[string]*sideDecl{}
	}
	n.sides[tag.id] = d
	return d
}

// SideOutput returns the collector of tag for the operator that tc was
// given to (a function's ctx.Task), for functions that emit many records
// to one side output; the contexts' Output (ctx.Output(tag.Of(v))) does
// the same for one record. Records collected go to the consumers of the
// tag's stream (GetSideOutput); when nothing consumes it they are
// discarded, as in Flink. Collecting with a tag whose ID the pipeline
// uses with another type fails the subtask.
func SideOutput[T any](tc *TaskContext, tag OutputTag[T]) Collector[T] {
	c, ok := sideCollector(tc, tag)
	if !ok {
		return CollectorFunc[T](func(T, int64) {})
	}
	return c
}

// sideCollector returns the collector of tag, and false when nothing
// consumes it (or it has the wrong type, which fails the subtask).
func sideCollector[T any](tc *TaskContext, tag OutputTag[T]) (Collector[T], bool) {
	c, ok := tc.sides[tag.id]
	if !ok {
		return nil, false
	}
	col, ok := c.(Collector[T])
	if !ok {
		tc.Fail(fmt.Errorf("side output %q emitted as %T: %w", tag.id, tag, ErrSideOutputType))
		return nil, false
	}
	return col, true
}
