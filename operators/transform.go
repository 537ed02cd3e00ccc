package operators

// Map applies fn to every record.
func Map[In, Out any](s Stream[In], fn func(In) Out) Stream[Out] {
	n := s.n.p.addNode(kindOperator, "map", newStreamOps[Out]())
	connect(s, n)
	if fn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(_ *TaskContext, out any) (*instance, error) {
		op := &mapOp[In, Out]{fn: fn, out: out.(Collector[Out])}
		op.outB = runsOf(op.out)
		return &instance{inputs: []any{Collector[In](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}

type mapOp[In, Out any] struct {
	fn   func(In) Out
	out  Collector[Out]
	outB batchCollector[Out] // out's batch form; nil: record by record
	buf  []Element[Out]      // the run it hands on (see batch_path.go)
}

func (m *mapOp[In, Out]) Collect(v In, ts int64) { m.out.Collect(m.fn(v), ts) }

func (m *mapOp[In, Out]) takesRuns() bool { return m.outB != nil }

func (m *mapOp[In, Out]) collectBatch(es []Element[In]) {
	buf := runBuf(m.buf, len(es))
	for i := range es {
		buf[i] = Element[Out]{Value: m.fn(es[i].Value), Timestamp: es[i].Timestamp}
	}
	m.buf = buf
	m.outB.collectBatch(buf)
}

// Filter keeps the records for which fn returns true.
func Filter[T any](s Stream[T], fn func(T) bool) Stream[T] {
	n := s.n.p.addNode(kindOperator, "filter", newStreamOps[T]())
	connect(s, n)
	if fn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(_ *TaskContext, out any) (*instance, error) {
		op := &filterOp[T]{fn: fn, out: out.(Collector[T])}
		op.outB = runsOf(op.out)
		return &instance{inputs: []any{Collector[T](op)}, hooks: op}, nil
	}
	return newStream[T](n)
}

type filterOp[T any] struct {
	fn   func(T) bool
	out  Collector[T]
	outB batchCollector[T] // out's batch form; nil: record by record
	buf  []Element[T]      // the records of a run it keeps
}

func (f *filterOp[T]) takesRuns() bool { return f.outB != nil }

func (f *filterOp[T]) collectBatch(es []Element[T]) {
	// Every record is written and only those kept are counted.
	buf := runBuf(f.buf, len(es))
	n := 0
	for i := range es {
		buf[n] = es[i]
		if f.fn(es[i].Value) {
			n++
		}
	}
	buf = buf[:n]
	f.buf = buf
	if len(buf) > 0 {
		f.outB.collectBatch(buf)
	}
}

func (f *filterOp[T]) Collect(v T, ts int64) {
	if f.fn(v) {
		f.out.Collect(v, ts)
	}
}

// FlatMap calls fn for every record; fn emits zero or more records through
// emit. The output records keep the input record's timestamp.
func FlatMap[In, Out any](s Stream[In], fn func(v In, emit func(Out))) Stream[Out] {
	n := s.n.p.addNode(kindOperator, "flatmap", newStreamOps[Out]())
	connect(s, n)
	if fn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(_ *TaskContext, out any) (*instance, error) {
		op := &flatMapOp[In, Out]{fn: fn, out: out.(Collector[Out])}
		op.emit = func(v Out) { op.out.Collect(v, op.ts) }
		return &instance{inputs: []any{Collector[In](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}

type flatMapOp[In, Out any] struct {
	fn   func(In, func(Out))
	out  Collector[Out]
	emit func(Out)
	ts   int64
}

func (f *flatMapOp[In, Out]) Collect(v In, ts int64) {
	f.ts = ts
	f.fn(v, f.emit)
}

// ProcessFunc handles one record with its context (timestamp, times,
// side outputs): it may emit any number of records, with timestamps of
// its choice, and returns an error to fail the job.
type ProcessFunc[In, Out any] func(ctx *ProcessContext, v In, out Collector[Out]) error

// Process runs fn on every record; an error it returns fails the subtask
// with an error naming this operator. fn may emit to any side output
// (ctx.Output) that GetSideOutput requests from the returned stream.
func Process[In, Out any](s Stream[In], fn ProcessFunc[In, Out]) Stream[Out] {
	n := s.n.p.addNode(kindOperator, "process", newStreamOps[Out]())
	n.anySide = true
	connect(s, n)
	if fn == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		op := &processOp[In, Out]{fn: fn, out: out.(Collector[Out]), ctx: ProcessContext{Task: tc, wm: MinWatermark}}
		return &instance{inputs: []any{Collector[In](op)}, hooks: op}, nil
	}
	return newStream[Out](n)
}

type processOp[In, Out any] struct {
	fn   ProcessFunc[In, Out]
	out  Collector[Out]
	ctx  ProcessContext
	user userFunc // ProcessRich's function, closed with the operator
}

// Close closes ProcessRich's function.
func (p *processOp[In, Out]) Close() error { return p.user.Close() }

func (p *processOp[In, Out]) Collect(v In, ts int64) {
	if p.ctx.Task.Failed() {
		return // the subtask is failing; nothing more to do
	}
	p.ctx.ts = ts
	if err := p.fn(&p.ctx, v, p.out); err != nil {
		p.ctx.Task.Fail(err)
	}
}

// ProcessWatermark notes the input watermark for the context and passes
// it on.
func (p *processOp[In, Out]) ProcessWatermark(wm int64) (int64, bool) {
	p.ctx.wm = wm
	return wm, true
}

// Union merges streams of one type into one. Order is kept per input
// channel, not across inputs.
func Union[T any](first Stream[T], rest ...Stream[T]) Stream[T] {
	n := first.n.p.addNode(kindOperator, "union", newStreamOps[T]())
	n.noChain = true
	connect(first, n)
	for _, s := range rest {
		connect(s, n)
	}
	n.open = func(_ *TaskContext, out any) (*instance, error) {
		c := out.(Collector[T])
		ins := make([]any, len(n.inputs))
		for i := range ins {
			ins[i] = c
		}
		return &instance{inputs: ins}, nil
	}
	return newStream[T](n)
}
