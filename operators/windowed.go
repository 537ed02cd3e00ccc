package operators

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

// WindowAssigner is what Window accepts: a window.Assigner (Tumbling,
// Sliding, Session, Global and their processing-time variants) or a
// window.ElementAssigner[T] for the stream's element type T (such as
// DynamicSession). Count windows are the global assigner with the
// trigger and evictor of a window.CountSpec:
//
//	spec := window.SlidingCountWindow(3, 2)
//	operators.Window(ks, spec.Assigner, operators.WithTrigger(spec.Trigger), operators.WithEvictor(spec.Evictor))
type WindowAssigner interface {
	IsEventTime() bool
	Merging() bool
	DefaultTrigger() window.Trigger
}

// WindowedStream is a keyed stream cut into windows, waiting for the
// window function (ReduceWindow, AggregateWindow, ProcessWindow) that
// makes one result per window firing.
type WindowedStream[T any, K comparable] struct {
	ks       KeyedStream[T, K]
	assigner WindowAssigner
	cfg      windowConfig
}

// WindowOption configures a window operator.
type WindowOption func(*windowConfig)

type windowConfig struct {
	trigger   window.Trigger
	lateness  time.Duration
	late      any // OutputTag[T]; nil for none
	evictor   any // window.Evictor or window.ElementEvictor[T]; nil for none
	fireAtEnd bool
	// nilTrigger: WithTrigger(nil) was given, which Build refuses.
	nilTrigger bool
}

// WithTrigger replaces the assigner's default trigger. A nil trigger
// fails Build (it is no trigger, not the default: a zero
// window.CountSpec has one).
func WithTrigger(t window.Trigger) WindowOption {
	return func(c *windowConfig) { c.trigger, c.nilTrigger = t, t == nil }
}

// WithAllowedLateness keeps each event-time window's state for d after
// the watermark passes its end (default 0): a record that comes late but
// within d is added and fires the window again (with the default
// trigger). It must be whole milliseconds. Processing-time windows have
// no lateness and ignore it.
func WithAllowedLateness(d time.Duration) WindowOption {
	return func(c *windowConfig) { c.lateness = d }
}

// WithLateOutput sends the records that are too late for every one of
// their windows (ts + allowed lateness ≤ watermark) to the side output
// tag: get it with GetSideOutput on the window's result stream. Without
// it such records are dropped and counted (Chain.LateRecordsDropped), as
// are records sent to a tag that nothing consumes.
func WithLateOutput[T any](tag OutputTag[T]) WindowOption {
	return func(c *windowConfig) { c.late = tag }
}

// WithEvictor removes records from each window when it fires, before or
// after the window function, by their timestamps and positions
// (window.CountEvictor, as in sliding count windows, and
// window.TimeEvictor), as Flink's evictors. With an evictor the operator
// keeps every record of a window with its timestamp and reduces or
// aggregates them when it fires, instead of incrementally; the window
// function is called even if the evictor left nothing (a reduction then
// emits nothing), and a window left empty is dropped.
func WithEvictor(e window.Evictor) WindowOption {
	return func(c *windowConfig) { c.evictor = e }
}

// WithElementEvictor is WithEvictor for an evictor that looks at the
// records' values too (window.DeltaEvictor); its type T must be the
// stream's.
func WithElementEvictor[T any](e window.ElementEvictor[T]) WindowOption {
	return func(c *windowConfig) { c.evictor = e }
}

// elementEvictor returns the configured evictor for records of type T,
// nil for none.
func elementEvictor[T any](e any) (window.ElementEvictor[T], error) {
	switch e := e.(type) {
	case nil:
		return nil, nil
	case window.ElementEvictor[T]:
		return e, nil
	case window.Evictor:
		return window.ByTimestamps[T](e), nil
	}
	return nil, fmt.Errorf("%w: evictor %T cannot evict records of type %T", ErrWindow, e, *new(T))
}

// WithFireAtEndOfInput fires, at the end of input, every window holding
// records that it has not emitted yet, whatever its trigger: troupe's
// former behaviour for count windows (the partial group) and global
// windows, which Flink never fires by time. An event-time window whose
// trigger has not fired for its last records (a count trigger) fires
// with them before the final watermark's cleanup clears it.
// Processing-time windows do so without it.
func WithFireAtEndOfInput() WindowOption {
	return func(c *windowConfig) { c.fireAtEnd = true }
}

// Window cuts a keyed stream into the windows a assigns (see
// WindowAssigner), with the options given. Windows are [start, end); a
// window's results carry its last timestamp, end-1, as their timestamp.
// Event-time windows fire when the watermark reaches that timestamp,
// processing-time windows once the clock has passed it. At the end of
// input, event-time windows fire through the final watermark, and
// processing-time windows with records they have not emitted fire too
// (where Flink drops them). Global and count windows fire only when
// their trigger says so, as in Flink: a partial count group is not
// emitted, and window.Global's default trigger never fires
// (window.GlobalWithEndOfStreamTrigger fires at the end of input;
// WithFireAtEndOfInput restores troupe's former rule).
func Window[T any, K comparable](ks KeyedStream[T, K], a WindowAssigner, opts ...WindowOption) WindowedStream[T, K] {
	ws := WindowedStream[T, K]{ks: ks, assigner: a}
	for _, o := range opts {
		if o != nil {
			o(&ws.cfg)
		}
	}
	return ws
}

// windowSpec is a validated window configuration.
type windowSpec[T any] struct {
	assigner  window.ElementAssigner[T]
	trigger   window.Trigger
	lateness  int64 // ms; 0 for processing time
	evictor   window.ElementEvictor[T]
	late      OutputTag[T]
	hasLate   bool
	eventTime bool
	merging   bool
	// fireAtEnd: windows with records not yet emitted fire at the end
	// of input (processing-time windows, or WithFireAtEndOfInput).
	fireAtEnd bool
}

// resolve validates the configuration for a window node.
func (ws WindowedStream[T, K]) resolve() (windowSpec[T], error) {
	var s windowSpec[T]
	if err := validateParts(ws.assigner, ws.cfg.trigger, ws.cfg.evictor); err != nil {
		return s, err
	}
	if ws.cfg.nilTrigger {
		return s, fmt.Errorf("%w: WithTrigger(nil)", ErrWindow)
	}
	switch a := ws.assigner.(type) {
	case nil:
		return s, fmt.Errorf("%w: nil assigner", ErrWindow)
	case window.ElementAssigner[T]:
		s.assigner = a
	case window.Assigner:
		s.assigner = window.ByTimestamp[T](a)
	default:
		var zero T
		return s, fmt.Errorf("%w: assigner %T cannot assign records of type %T", ErrWindow, a, zero)
	}
	_, global := ws.assigner.(window.GlobalAssigner)
	s.eventTime, s.merging = s.assigner.IsEventTime(), s.assigner.Merging()
	s.fireAtEnd = ws.cfg.fireAtEnd || !s.eventTime && !global
	s.trigger = ws.cfg.trigger
	if s.trigger == nil {
		s.trigger = s.assigner.DefaultTrigger()
	}
	if s.trigger == nil {
		return s, fmt.Errorf("%w: nil trigger", ErrWindow)
	}
	var err error
	if s.evictor, err = elementEvictor[T](ws.cfg.evictor); err != nil {
		return s, err
	}
	lateness, err := window.Lateness(ws.cfg.lateness)
	if err != nil {
		return s, fmt.Errorf("%w: allowed lateness: %v", ErrWindow, err)
	}
	if s.eventTime {
		s.lateness = lateness
	}
	return s, s.lateTag(ws.cfg.late)
}

// validateParts reports the first part (assigner, trigger, evictor) whose
// Validate method finds it cannot be used: the window package's
// constructors take constant settings without returning errors, so that
// pipeline helpers stay func(...) Stream[T], and a bad value fails the
// build here, naming the operator.
func validateParts(parts ...any) error {
	for _, p := range parts {
		if v, ok := p.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("%w: %w", ErrWindow, err)
			}
		}
	}
	return nil
}

func (s *windowSpec[T]) lateTag(late any) error {
	if late == nil {
		return nil
	}
	tag, ok := late.(OutputTag[T])
	if !ok {
		var zero T
		return fmt.Errorf("late output %T for records of type %T: %w", late, zero, ErrSideOutputType)
	}
	s.late, s.hasLate = tag, true
	return nil
}

// LateRecordsDropped returns how many late records the chain's operators
// could not send to a late side output (none set, or nothing consuming
// it): records too late for all their windows, and interval-join records
// below the watermark.
func (c *Chain) LateRecordsDropped() int64 {
	var n int64
	for _, h := range c.hooks {
		if d, ok := h.(interface{ LateRecordsDropped() int64 }); ok {
			n += d.LateRecordsDropped()
		}
	}
	return n
}
