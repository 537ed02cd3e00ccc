package operators

import "fmt"

// SourceOption configures a source.
type SourceOption func(*sourceConfig)

type sourceConfig struct {
	rate  float64
	sides []func(*node) // side outputs the source declares
}

// RateLimit paces each subtask of the source to perSecond records per
// second. Zero or less means unlimited.
func RateLimit(perSecond float64) SourceOption {
	return func(c *sourceConfig) { c.rate = perSecond }
}

// WithSideOutput declares that the source's readers emit records of tag
// besides their main output, through SideOutput(tc, tag) with the
// TaskContext their open function got: GetSideOutput on the source's
// stream then returns them. A connector uses it for records it cannot
// decode (a dead-letter output). Records are emitted in order with the
// main output's records and barriers, so a side record belongs to the
// epoch in which the reader emitted it.
func WithSideOutput[T any](tag OutputTag[T]) SourceOption {
	return func(c *sourceConfig) {
		c.sides = append(c.sides, func(n *node) { declareSide(n, tag) })
	}
}

// FromReader adds a source whose subtasks read through readers that open
// makes, one per subtask. It is the seam for sources of one's own.
func FromReader[T any](p *Pipeline, kind string, open func(tc *TaskContext) (Reader[T], error), opts ...SourceOption) Stream[T] {
	var cfg sourceConfig
	for _, o := range opts {
		o(&cfg)
	}
	ops := newStreamOps[T]()
	n := p.addNode(kindSource, kind, ops)
	for _, declare := range cfg.sides {
		declare(n)
	}
	if open == nil {
		p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		r, err := open(tc)
		if err != nil {
			return nil, err
		}
		sr := &sourceRunner[T]{reader: r, out: out.(Collector[T]), tc: tc, brake: tc.brake, codec: n.out.codec(),
			lossy: heldLoss[T](ops.codec_)}
		sr.outB = runsOf(sr.out)
		sr.holder.s = sr
		if sr.brake == nil {
			sr.brake = &brake{} // outside a chain: never stops
		}
		if sr.outB != nil {
			sr.counted.run = sr.brake.runLen() // fixed once the routers are open
		}
		sr.brake.onFull = sr.stop
		sr.holdEvents(tc)
		if cfg.rate > 0 {
			sr.limiter = newRateLimiter(cfg.rate, tc.Now)
		}
		return &instance{source: sr}, nil
	}
	return newStream[T](n)
}

// FromSlice emits the values of a slice; bounded. With parallelism p,
// subtask i emits the values at indexes i, i+p, i+2p, … in order.
func FromSlice[T any](p *Pipeline, values []T, opts ...SourceOption) Stream[T] {
	return FromReader(p, "slice", func(tc *TaskContext) (Reader[T], error) {
		return &sliceReader[T]{values: values, next: tc.Subtask, step: tc.Parallelism, tc: tc}, nil
	}, opts...)
}

type sliceReader[T any] struct {
	values     []T
	next, step int
	tc         *TaskContext
}

func (r *sliceReader[T]) Poll(out Collector[T], max int) (Poll, error) {
	for n := 0; n < max && r.next < len(r.values); n++ {
		out.Collect(r.values[r.next], NoTimestamp)
		r.next += r.step
	}
	if r.next >= len(r.values) {
		return Poll{Status: PollDone}, nil
	}
	return Poll{Status: PollMore}, nil
}

func (r *sliceReader[T]) Close() error { return nil }

// Generate emits fn(seq) for seq = 0, 1, 2, …, count-1; a negative count
// makes the source unbounded (it runs until the job is stopped or
// cancelled). With parallelism p, subtask i makes the sequence numbers
// i, i+p, i+2p, …
func Generate[T any](p *Pipeline, count int64, fn func(seq int64) T, opts ...SourceOption) Stream[T] {
	s := FromReader(p, "generator", func(tc *TaskContext) (Reader[T], error) {
		return &genReader[T]{fn: fn, count: count, next: int64(tc.Subtask), step: int64(tc.Parallelism), tc: tc}, nil
	}, opts...)
	if fn == nil {
		p.fail(s.n, fmt.Errorf("generator: %w", ErrNilFunc))
	}
	return s
}

type genReader[T any] struct {
	fn         func(int64) T
	count      int64
	next, step int64
	tc         *TaskContext
	buf        []Element[T] // the run it emits (see batch_path.go)
}

func (r *genReader[T]) Poll(out Collector[T], max int) (Poll, error) {
	if runs, ok := out.(runCollector[T]); ok && runs.takesRuns() {
		return r.pollRuns(runs, max)
	}
	for range max {
		if r.ended() {
			break
		}
		out.Collect(r.fn(r.next), NoTimestamp)
		r.next += r.step
	}
	return r.status(), nil
}

// ended reports whether a bounded generator has emitted all its numbers.
func (r *genReader[T]) ended() bool { return r.count >= 0 && r.next >= r.count }

// status is what a poll reports: done once ended, else more.
func (r *genReader[T]) status() Poll {
	if r.ended() {
		return Poll{Status: PollDone}
	}
	return Poll{Status: PollMore}
}

// pollRuns is Poll emitting runs of records.
func (r *genReader[T]) pollRuns(out runCollector[T], max int) (Poll, error) {
	run := out.runLen()
	for max > 0 {
		n := min(run, max)
		if r.count >= 0 {
			n = int(min(int64(n), r.left()))
		}
		if n <= 0 {
			break
		}
		buf := runBuf(r.buf, n)
		for i := range buf {
			buf[i] = Element[T]{Value: r.fn(r.next), Timestamp: NoTimestamp}
			r.next += r.step
		}
		r.buf = buf
		out.collectBatch(buf)
		max -= n
	}
	return r.status(), nil
}

// left returns how many sequence numbers of a bounded generator are left:
// ceil((count-next)/step), computed without overflow for a count near
// math.MaxInt64 (count-next+step-1 would wrap).
func (r *genReader[T]) left() int64 {
	if r.next >= r.count {
		return 0
	}
	return (r.count-r.next-1)/r.step + 1
}

func (r *genReader[T]) Close() error { return nil }
