package operators

import "time"

// The contexts that user functions get with each call (ProcessContext,
// KeyedContext, WindowContext) share these methods, as Flink's do:
// Timestamp, CurrentWatermark, ProcessingTime and Output, which emits to a
// side output:
//
//	ctx.Output(lateTag.Of(click))
//
// Go methods cannot take type parameters, so the record is wrapped with
// its tag (OutputTag.Of) and its type checked at compile time there. A
// function that emits many records to one side output takes its typed
// collector once instead: SideOutput(ctx.Task, tag).

// SideRecord is a record for a side output, made by OutputTag.Of and
// emitted by a context's Output.
type SideRecord interface {
	emit(tc *TaskContext, ts int64)
}

// Of returns v as a record of the tag's side output, for a context's
// Output.
func (t OutputTag[T]) Of(v T) SideRecord { return sideRecord[T]{tag: t, v: v} }

type sideRecord[T any] struct {
	tag OutputTag[T]
	v   T
}

// emit sends the record to the tag's consumers; with none it is dropped,
// as in Flink.
func (r sideRecord[T]) emit(tc *TaskContext, ts int64) {
	if c, ok := sideCollector(tc, r.tag); ok {
		c.Collect(r.v, ts)
	}
}

// ProcessContext is given to a Process function with each record: its
// timestamp, the operator's times and side outputs. It is valid only
// during the call.
type ProcessContext struct {
	ts int64
	wm int64
	// Task is the operator's subtask: its index, parallelism, logger.
	Task *TaskContext
}

// Timestamp returns the record's event timestamp (or NoTimestamp).
func (c *ProcessContext) Timestamp() int64 { return c.ts }

// CurrentWatermark returns the operator's input watermark.
func (c *ProcessContext) CurrentWatermark() int64 { return c.wm }

// ProcessingTime returns the subtask's processing-time clock.
func (c *ProcessContext) ProcessingTime() time.Time { return c.Task.Now() }

// Output emits r to its side output, with the record's timestamp.
func (c *ProcessContext) Output(r SideRecord) { r.emit(c.Task, c.ts) }
