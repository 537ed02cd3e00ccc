package operators

import (
	"fmt"
	"reflect"

	"github.com/troupe-dev/troupe/persistence"
)

// What a source holds of its poll while the chain's output waits for
// credit (see chain_hold.go): the records its reader emitted after the
// output filled up, and the events between them, in order.

// heldKind says what a heldItem is.
type heldKind uint8

const (
	heldRecord    heldKind = iota
	heldWatermark          // at is the watermark
	heldStatus             // idle is the status
	heldEvent              // ev: an event of a test's source (TaskContext.EmitEvent)
)

// heldItem is a record, or an event emitted between records, that a
// source holds while the chain's output waits for credit.
type heldItem[T any] struct {
	kind heldKind
	v    T
	at   int64 // the record's timestamp, or the watermark
	idle bool
	ev   Event
}

// heldCollector holds the records the reader emits while the chain's
// output waits for credit.
type heldCollector[T any] struct{ s *sourceRunner[T] }

func (h heldCollector[T]) Collect(v T, ts int64) {
	h.s.held = append(h.s.held, heldItem[T]{v: v, at: ts})
}

func (h heldCollector[T]) takesRuns() bool { return true }

func (h heldCollector[T]) collectBatch(es []Element[T]) {
	for i := range es {
		h.s.held = append(h.s.held, heldItem[T]{v: es[i].Value, at: es[i].Timestamp})
	}
}

// stop is called by the brake as the output turns full, after the ship
// that filled it: the reader's next records are held.
func (s *sourceRunner[T]) stop() { s.counted.next, s.counted.nextB = s.holder, s.holder }

func (s *sourceRunner[T]) holding() bool { return s.heldAt < len(s.held) }

// release emits the held records and events, in order, until the
// output is full again; it reports whether none is left. A source reads
// its mailbox between two polls anyway (one poll per pump message), so
// it stops within a poll, and here, only for credit, never for urgent
// mail.
func (s *sourceRunner[T]) release() bool {
	for s.holding() {
		it := &s.held[s.heldAt]
		if it.kind == heldRecord && s.brake.full {
			return false
		}
		item := *it
		*it = heldItem[T]{} // no reference kept to what left
		s.heldAt++
		s.emitHeld(item)
	}
	s.held, s.heldAt = s.held[:0], 0
	return true
}

// emitHeld sends a held record or event into the chain.
func (s *sourceRunner[T]) emitHeld(it heldItem[T]) {
	switch it.kind {
	case heldRecord:
		s.out.Collect(it.v, it.at)
	case heldWatermark:
		s.emitWM(it.at)
	case heldStatus:
		s.emitStatus(it.idle)
	case heldEvent:
		s.emitEvent(it.ev)
	}
}

// holdEvents makes the events the reader emits through tc (watermarks,
// status changes, the events of a test's source) wait behind the records
// held, so that none overtakes a record emitted before it.
func (s *sourceRunner[T]) holdEvents(tc *TaskContext) {
	s.emitWM, s.emitStatus, s.emitEvent = tc.emitWM, tc.emitStatus, tc.emitEvent
	if s.emitWM != nil {
		tc.emitWM = func(w int64) {
			if s.holding() {
				s.held = append(s.held, heldItem[T]{kind: heldWatermark, at: w})
				return
			}
			s.emitWM(w)
		}
	}
	if s.emitStatus != nil {
		tc.emitStatus = func(idle bool) {
			if s.holding() {
				s.held = append(s.held, heldItem[T]{kind: heldStatus, idle: idle})
				return
			}
			s.emitStatus(idle)
		}
	}
	if s.emitEvent != nil {
		tc.emitEvent = func(ev Event) {
			if s.holding() {
				s.held = append(s.held, heldItem[T]{kind: heldEvent, ev: ev})
				return
			}
			s.emitEvent(ev)
		}
	}
}

// heldLoss says why the held records of a source on codec c could not be
// stored (see sourceRunner.lossy): "" unless c is the default JSON codec
// and JSON would not round-trip T.
func heldLoss[T any](c Codec[T]) string {
	if !isJSON(c) {
		return ""
	}
	return jsonLoss(reflect.TypeFor[T]())
}

// storable reports whether what the source holds can be stored as
// in-flight data: records (of a type its codec round-trips), watermarks
// and statuses can; the events of a test's source cannot.
func (s *sourceRunner[T]) storable() bool {
	if s.lossy != "" {
		return false
	}
	for _, it := range s.held[s.heldAt:] {
		if it.kind == heldEvent {
			return false
		}
	}
	return true
}

// heldEntries encodes what the source holds as channel entries, in
// order: each run of records as one batch, in the source stream's codec.
// It fails (ErrHeldEvent) if it holds an event that is not storable, and
// (ErrLossyJSON) if its records' codec is JSON and JSON would lose them.
func (s *sourceRunner[T]) heldEntries() ([]persistence.ChannelEntry, error) {
	if s.lossy != "" {
		return nil, fmt.Errorf("held records of source %q: %w", s.tc.Operator,
			lossyJSONError(reflect.TypeFor[T](), s.lossy, "give the source's stream a codec (WithCodec)"))
	}
	var entries []persistence.ChannelEntry
	var run Batch[T]
	flush := func() error {
		if len(run.Elems) == 0 {
			return nil
		}
		b, err := s.codec.Encode(nil, &run)
		if err != nil {
			return err
		}
		entries = append(entries, persistence.ChannelEntry{Kind: persistence.EntryBatch, Batch: b})
		run.Elems = run.Elems[:0]
		return nil
	}
	for _, it := range s.held[s.heldAt:] {
		var e persistence.ChannelEntry
		switch it.kind {
		case heldRecord:
			run.Elems = append(run.Elems, Element[T]{Value: it.v, Timestamp: it.at})
			continue
		case heldWatermark:
			e = persistence.ChannelEntry{Kind: persistence.EntryWatermark, Watermark: it.at}
		case heldStatus:
			e = persistence.ChannelEntry{Kind: persistence.EntryStatus, Idle: it.idle}
		default:
			return nil, fmt.Errorf("%w: %v", ErrHeldEvent, it.ev)
		}
		if err := flush(); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return entries, nil
}

// restoreHeld holds the entries heldEntries encoded, after what the
// source holds already.
func (s *sourceRunner[T]) restoreHeld(entries []persistence.ChannelEntry) error {
	for i, e := range entries {
		switch e.Kind {
		case persistence.EntryBatch:
			b, err := s.codec.Decode(e.Batch)
			if err != nil {
				return fmt.Errorf("held record batch %d: %w", i, err)
			}
			for _, el := range b.(*Batch[T]).Elems {
				s.held = append(s.held, heldItem[T]{v: el.Value, at: el.Timestamp})
			}
		case persistence.EntryWatermark:
			s.held = append(s.held, heldItem[T]{kind: heldWatermark, at: e.Watermark})
		case persistence.EntryStatus:
			s.held = append(s.held, heldItem[T]{kind: heldStatus, idle: e.Idle})
		default:
			return fmt.Errorf("%w: held entry %d of kind %d", ErrDecode, i, e.Kind)
		}
	}
	return nil
}
