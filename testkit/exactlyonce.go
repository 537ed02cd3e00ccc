package testkit

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// RecordID identifies a record of a test pipeline by where it came from:
// the source (any name the test chooses, such as "orders" or "gen/1" for a
// source subtask) and its sequence number there.
type RecordID struct {
	Source string
	Seq    int64
}

// CheckOption adds a check to CheckExactlyOnce.
type CheckOption[T any] func(*checkConfig[T])

type checkConfig[T any] struct {
	order func(committed []T, id func(T) RecordID, rank map[RecordID]int) []OrderViolation
}

// InOrder checks that each source's records were committed in the order
// they went in. It holds only for pipelines that keep order end to end:
// one channel per source from source to sink, no rebalance, one sink
// subtask or a key that decides it (then use InOrderBy).
func InOrder[T any]() CheckOption[T] {
	return InOrderBy(func(T) struct{} { return struct{}{} })
}

// InOrderBy checks order within each partition, (source, key(record)):
// what a keyed pipeline keeps, where records of one key from one source
// subtask travel one FIFO channel. A record is out of order when it is
// committed after a record of its partition that went in later. Only the
// first commit of a record counts: a replayed duplicate is reported as a
// duplicate, not also as out of order.
func InOrderBy[T any, K comparable](key func(T) K) CheckOption[T] {
	return func(c *checkConfig[T]) {
		c.order = func(committed []T, id func(T) RecordID, rank map[RecordID]int) []OrderViolation {
			return orderViolations(committed, id, rank, key)
		}
	}
}

// SeqRange returns from, from+1, …, to-1: the ids a source sent, for
// CheckExactlyOnce's sent argument.
func SeqRange(from, to int64) []int64 {
	seqs := make([]int64, 0, max(to-from, 0))
	for s := from; s < to; s++ {
		seqs = append(seqs, s)
	}
	return seqs
}

// CheckExactlyOnce compares what went into a pipeline with what its sinks
// committed. sent holds, per source, the sequence numbers of the records
// that source emitted, in emission order (each once; repeats count once);
// committed holds every record the sinks committed, from every sink
// subtask, and id tells where each came from. The report lists per source
// the records lost (sent, never committed), duplicated (committed more
// than once), unexpected (committed, never sent) and, with InOrder or
// InOrderBy, out of order. It is a pure function of its arguments.
func CheckExactlyOnce[T any](sent map[string][]int64, committed []T, id func(T) RecordID, opts ...CheckOption[T]) Report {
	var cfg checkConfig[T]
	for _, opt := range opts {
		opt(&cfg)
	}
	rank := make(map[RecordID]int)
	for source, seqs := range sent {
		for i, seq := range seqs {
			if _, ok := rank[RecordID{source, seq}]; !ok {
				rank[RecordID{source, seq}] = i
			}
		}
	}
	counts := make(map[RecordID]int, len(rank))
	var arrival []RecordID // first commits, in commit order
	for _, v := range committed {
		rid := id(v)
		if counts[rid]++; counts[rid] == 1 {
			arrival = append(arrival, rid)
		}
	}
	b := newReportBuilder(len(committed))
	b.addSent(sent, counts)
	b.addUnexpected(arrival, rank, counts)
	if cfg.order != nil {
		b.addOrder(cfg.order(committed, id, rank))
	}
	return b.report()
}

// orderViolations scans first commits per partition, keeping the highest
// input rank committed so far.
func orderViolations[T any, K comparable](committed []T, id func(T) RecordID, rank map[RecordID]int, key func(T) K) []OrderViolation {
	type partition struct {
		source string
		key    K
	}
	type high struct {
		seq  int64
		rank int
	}
	highest := make(map[partition]high)
	seen := make(map[RecordID]bool)
	var out []OrderViolation
	for _, v := range committed {
		rid := id(v)
		r, known := rank[rid]
		if seen[rid] || !known {
			continue // duplicates and unexpected records are reported apart
		}
		seen[rid] = true
		k := key(v)
		p := partition{rid.Source, k}
		if h, ok := highest[p]; ok && h.rank > r {
			out = append(out, OrderViolation{Source: rid.Source, Partition: fmt.Sprint(k), Seq: rid.Seq, After: h.seq})
			continue
		}
		highest[p] = high{seq: rid.Seq, rank: r}
	}
	return out
}

// AssertExactlyOnce fails the test, with the report's summary, unless
// every record sent was committed exactly once (and in order, with
// InOrder or InOrderBy). It returns the report.
func AssertExactlyOnce[T any](t testing.TB, sent map[string][]int64, committed []T, id func(T) RecordID, opts ...CheckOption[T]) Report {
	t.Helper()
	rep := CheckExactlyOnce(sent, committed, id, opts...)
	if !rep.OK() {
		t.Fatalf("testkit: not exactly once: %v", rep)
	}
	return rep
}

// AssertAtLeastOnce fails the test, with the report's summary, if a record
// sent was lost, an unexpected record was committed, or (with InOrder or
// InOrderBy) a record was out of order; duplicates are allowed. This is
// the guarantee of a job restarted without checkpoints, whose sources
// replay from their start. It returns the report.
func AssertAtLeastOnce[T any](t testing.TB, sent map[string][]int64, committed []T, id func(T) RecordID, opts ...CheckOption[T]) Report {
	t.Helper()
	rep := CheckExactlyOnce(sent, committed, id, opts...)
	if !rep.AtLeastOnce() {
		t.Fatalf("testkit: not at least once: %v", rep)
	}
	return rep
}

// sortedKeys returns the map's keys in order, for deterministic reports.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// maxExamples bounds the ids a report's summary lists per category.
const maxExamples = 5

// Report is what CheckExactlyOnce found. The totals sum the sources'.
type Report struct {
	Sent       int // distinct ids sent
	Committed  int // records committed, duplicates included
	Lost       int // ids sent and never committed
	Duplicated int // ids committed more than once
	Unexpected int // ids committed and never sent
	OutOfOrder int // first commits after a later record of their partition
	Sources    []SourceReport
}

// SourceReport is the part of a Report about one source.
type SourceReport struct {
	Source     string
	Sent       int
	Committed  int
	Lost       []int64          // in the order sent
	Duplicated []Duplicate      // in the order sent
	Unexpected []int64          // in the order first committed
	OutOfOrder []OrderViolation // in the order committed
}

// Duplicate is a record committed Count times, Count > 1.
type Duplicate struct {
	Seq   int64
	Count int
}

// OrderViolation is a record, Seq, first committed after After, a record
// of the same partition that was sent later. Partition is the partition
// key, printed with fmt (empty struct for InOrder: "{}").
type OrderViolation struct {
	Source    string
	Partition string
	Seq       int64
	After     int64
}

// OK reports whether every record sent was committed exactly once and
// nothing else was (and, when checked, in order).
func (r Report) OK() bool { return r.AtLeastOnce() && r.Duplicated == 0 }

// AtLeastOnce reports whether nothing sent was lost and nothing unexpected
// or (when checked) out of order was committed; duplicates are allowed.
func (r Report) AtLeastOnce() bool { return r.Lost == 0 && r.Unexpected == 0 && r.OutOfOrder == 0 }

// String summarises the report on one line, then one line per source with
// a problem, listing at most a few ids per category.
func (r Report) String() string {
	s := fmt.Sprintf("%d sent, %d committed: ", r.Sent, r.Committed)
	if r.OK() {
		return s + "exactly once"
	}
	s += fmt.Sprintf("%d lost, %d duplicated, %d unexpected, %d out of order",
		r.Lost, r.Duplicated, r.Unexpected, r.OutOfOrder)
	for _, src := range r.Sources {
		if line := src.problems(); line != "" {
			s += fmt.Sprintf("\n  source %q: %s", src.Source, line)
		}
	}
	return s
}

func (s SourceReport) problems() string {
	var parts []string
	add := func(what string, n int, show func(i int) string) {
		if n > 0 {
			parts = append(parts, what+" "+examples(n, show))
		}
	}
	add("lost", len(s.Lost), func(i int) string { return fmt.Sprint(s.Lost[i]) })
	add("duplicated", len(s.Duplicated), func(i int) string {
		return fmt.Sprintf("%d (×%d)", s.Duplicated[i].Seq, s.Duplicated[i].Count)
	})
	add("unexpected", len(s.Unexpected), func(i int) string { return fmt.Sprint(s.Unexpected[i]) })
	add("out of order", len(s.OutOfOrder), func(i int) string {
		v := s.OutOfOrder[i]
		return fmt.Sprintf("%d after %d (partition %s)", v.Seq, v.After, v.Partition)
	})
	return strings.Join(parts, "; ")
}

// examples lists the first maxExamples of n items and counts the rest.
func examples(n int, show func(i int) string) string {
	shown := make([]string, 0, min(n, maxExamples))
	for i := range min(n, maxExamples) {
		shown = append(shown, show(i))
	}
	s := strings.Join(shown, ", ")
	if n > maxExamples {
		s += fmt.Sprintf(" and %d more", n-maxExamples)
	}
	return s
}

// reportBuilder gathers a Report source by source.
type reportBuilder struct {
	rep     Report
	sources map[string]*SourceReport
}

func newReportBuilder(committed int) *reportBuilder {
	return &reportBuilder{rep: Report{Committed: committed}, sources: make(map[string]*SourceReport)}
}

func (b *reportBuilder) source(name string) *SourceReport {
	s := b.sources[name]
	if s == nil {
		s = &SourceReport{Source: name}
		b.sources[name] = s
	}
	return s
}

// addSent finds the lost and duplicated records, in the order sent.
func (b *reportBuilder) addSent(sent map[string][]int64, counts map[RecordID]int) {
	for _, name := range sortedKeys(sent) {
		s := b.source(name)
		seen := make(map[int64]bool, len(sent[name]))
		for _, seq := range sent[name] {
			if seen[seq] {
				continue
			}
			seen[seq] = true
			s.Sent++
			switch n := counts[RecordID{name, seq}]; {
			case n == 0:
				s.Lost = append(s.Lost, seq)
			case n > 1:
				s.Duplicated = append(s.Duplicated, Duplicate{Seq: seq, Count: n})
			}
		}
	}
}

// addUnexpected counts commits per source and finds records never sent.
func (b *reportBuilder) addUnexpected(arrival []RecordID, rank map[RecordID]int, counts map[RecordID]int) {
	for _, rid := range arrival {
		s := b.source(rid.Source)
		s.Committed += counts[rid]
		if _, ok := rank[rid]; !ok {
			s.Unexpected = append(s.Unexpected, rid.Seq)
		}
	}
}

func (b *reportBuilder) addOrder(vs []OrderViolation) {
	for _, v := range vs {
		s := b.source(v.Source)
		s.OutOfOrder = append(s.OutOfOrder, v)
	}
}

// report totals the sources, sorted by name.
func (b *reportBuilder) report() Report {
	rep := b.rep
	for _, name := range sortedKeys(b.sources) {
		s := b.sources[name]
		rep.Sent += s.Sent
		rep.Lost += len(s.Lost)
		rep.Duplicated += len(s.Duplicated)
		rep.Unexpected += len(s.Unexpected)
		rep.OutOfOrder += len(s.OutOfOrder)
		rep.Sources = append(rep.Sources, *s)
	}
	return rep
}
