package operators

import (
	"math/rand/v2"
	"strconv"
	"sync"
)

// Collected holds what a collecting sink committed; it is meant for tests.
// Without checkpoints, values become visible batch by batch. With
// checkpoints the sink commits in two phases, as an exactly-once sink
// must: the records of each epoch become visible only when the checkpoint
// that ends the epoch completes (and the last epoch when the job
// finishes), and a restored sink commits the epochs its checkpoint holds,
// each exactly once.
type Collected[T any] struct {
	Sink
	*collectStore[T]
}

// collectStore is what collecting sinks committed; several jobs may share
// one (CollectTo), as a job resumed from a savepoint shares its output
// with the job that took it.
type collectStore[T any] struct {
	mu    sync.Mutex
	parts map[int][]Element[T]
	txns  map[txnID]bool // committed transactions
}

// txnID names one epoch of one sink subtask: the writer (one opening of
// the subtask), the subtask (at the time of writing) and the checkpoint
// that ended the epoch. Subtask and checkpoint alone do not name it: the
// last epoch of a subtask whose input ended is EndOfJob's in every job,
// and a job resumed from a savepoint commits the earlier job's last epoch
// on restore, then ends its own (see TestCollect_lastEpochsOfTwoJobsBothCommitted).
// A restore commits the transactions it finds under the names they were
// stored with, so that each is committed once however often it is
// restored. Checkpoints of versions without writers restore with "".
type txnID struct {
	Writer     string `json:"writer,omitempty"`
	Subtask    int    `json:"subtask"`
	Checkpoint int64  `json:"checkpoint"`
}

// Collect adds a sink that keeps every record in memory.
func Collect[T any](s Stream[T]) *Collected[T] {
	return CollectTo(s, &Collected[T]{collectStore: &collectStore[T]{parts: make(map[int][]Element[T]), txns: make(map[txnID]bool)}})
}

// CollectTo adds a collecting sink that commits into the same store as
// into, such as the sink of an earlier job this one resumes from a
// savepoint: each transaction is then committed once across both.
func CollectTo[T any](s Stream[T], into *Collected[T]) *Collected[T] {
	c := &Collected[T]{collectStore: into.collectStore}
	c.Sink = ToSink(s, "collect", func(tc *TaskContext) (SinkWriter[T], error) {
		return newCollectWriter(c, tc), nil
	})
	return c
}

// newCollectWriter opens one subtask of a collecting sink: two-phase
// commit when the job takes checkpoints.
func newCollectWriter[T any](c *Collected[T], tc *TaskContext) SinkWriter[T] {
	if tc.Checkpointing {
		return &txnCollectWriter[T]{c: c, writer: strconv.FormatUint(rand.Uint64(), 36), subtask: tc.Subtask,
			pending: map[int64][]Element[T]{}}
	}
	return &collectWriter[T]{c: c, subtask: tc.Subtask}
}

// Name names the collecting sink.
func (c *Collected[T]) Name(name string) *Collected[T] {
	c.Sink.Name(name)
	return c
}

// Parallelism sets how many subtasks run the collecting sink.
func (c *Collected[T]) Parallelism(n int) *Collected[T] {
	c.Sink.Parallelism(n)
	return c
}

// Values returns every value committed so far, subtask by subtask, each
// subtask's values in commit order.
func (c *Collected[T]) Values() []T {
	var out []T
	for _, part := range c.BySubtask() {
		for _, e := range part {
			out = append(out, e.Value)
		}
	}
	return out
}

// BySubtask returns the elements each sink subtask committed, in order.
func (c *collectStore[T]) BySubtask() [][]Element[T] {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i := range c.parts {
		n = max(n, i+1)
	}
	out := make([][]Element[T], n)
	for i, p := range c.parts {
		out[i] = append([]Element[T](nil), p...)
	}
	return out
}

// Reset forgets everything collected (for reusing a pipeline in tests).
func (c *collectStore[T]) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.parts)
	clear(c.txns)
}

func (c *collectStore[T]) append(subtask int, elems []Element[T]) {
	c.mu.Lock()
	c.parts[subtask] = append(c.parts[subtask], elems...)
	c.mu.Unlock()
}

// commit makes a transaction's records visible unless it was committed
// before (a restored sink commits again what it may have committed).
func (c *collectStore[T]) commit(id txnID, elems []Element[T]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.txns[id] {
		return
	}
	c.txns[id] = true
	c.parts[id.Subtask] = append(c.parts[id.Subtask], elems...)
}

// collectWriter commits after every batch (no checkpoints).
type collectWriter[T any] struct {
	c       *Collected[T]
	subtask int
	pending []Element[T]
}

func (w *collectWriter[T]) Write(v T, ts int64) error {
	w.pending = append(w.pending, Element[T]{Value: v, Timestamp: ts})
	return nil
}

func (w *collectWriter[T]) BatchEnd() {
	if len(w.pending) == 0 {
		return
	}
	w.c.append(w.subtask, w.pending)
	w.pending = w.pending[:0]
}

func (w *collectWriter[T]) EndInput() error {
	w.BatchEnd()
	return nil
}

func (w *collectWriter[T]) Close() error {
	w.BatchEnd()
	return nil
}
