package watermark

import "fmt"

// Status is whether a stream is active or idle. An idle stream sends no
// records or watermarks for a while and must not hold back the
// watermark of the operators it feeds.
type Status uint8

const (
	// Active: the stream sends records and watermarks. The zero Status.
	Active Status = iota
	// Idle: the stream has announced it will send nothing for a while.
	Idle
)

// String returns "active" or "idle".
func (s Status) String() string {
	switch s {
	case Active:
		return "active"
	case Idle:
		return "idle"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Change is what the runtime forwards downstream after Valve.SetIdle:
// first the watermark if Advanced, then the status if StatusChanged.
// Both happen only when the last active input goes idle, and then in that
// order, so that downstream sees the final watermark while still active.
type Change struct {
	// Watermark is the valve's output watermark after the event; it is
	// new only if Advanced.
	Watermark int64
	// Advanced: Watermark is higher than the previous output; forward it.
	Advanced bool
	// Status is the valve's output status after the event; it is new
	// only if StatusChanged.
	Status Status
	// StatusChanged: Status differs from the previous one; forward it.
	StatusChanged bool
}

// input is the valve's view of one input channel.
type input struct {
	wm      int64 // highest watermark received; MinWatermark before the first
	idle    bool
	aligned bool // active, and caught up with the output since it last became active
}

// Valve combines the watermarks and idle/active announcements of a
// subtask's n input channels into its output watermark and status, as
// Flink's StatusWatermarkValve does since FLINK-40475 (the package
// documentation lists the invariants and what changed in Flink then).
//
// Each event costs O(n): watermarks come a few times a second per channel,
// so a scan beats keeping a heap in step.
//
// A Valve is not safe for concurrent use: the subtask's goroutine calls
// it as it consumes each channel, in channel order.
type Valve struct {
	inputs []input
	out    int64
	active int // inputs not idle; the output is idle when it is 0
}

// NewValve returns a valve for n input channels, numbered 0 to n−1, all
// active and aligned with no watermark yet. It panics with
// ErrInvalidValve if n < 1.
func NewValve(n int) *Valve {
	if n < 1 {
		panic(fmt.Errorf("%w: NewValve(%d) needs n ≥ 1", ErrInvalidValve, n))
	}
	v := &Valve{inputs: make([]input, n), out: MinWatermark, active: n}
	for i := range v.inputs {
		v.inputs[i] = input{wm: MinWatermark, aligned: true}
	}
	return v
}

// Watermark handles watermark wm from input i and returns the output
// watermark, with advanced true if it is new and must be forwarded. A
// watermark not above input i's previous one is ignored, as is one from
// an idle input (a channel announces "active" before sending again); a
// watermark never changes the output status. An input that has ended
// sends MaxWatermark, so that it no longer holds the output back. It
// panics with ErrInvalidValve if i is out of range.
func (v *Valve) Watermark(i int, wm int64) (out int64, advanced bool) {
	in := v.input(i)
	if in.idle || wm <= in.wm {
		return v.out, false
	}
	in.wm = wm
	in.aligned = in.aligned || wm >= v.out
	return v.advanceToMin()
}

// SetIdle handles input i announcing that it is idle (idle true) or
// active again (false); an announcement of its current status changes
// nothing. Going idle, the input stops holding the output back; if it was
// the last active one, the output advances to the highest watermark seen
// and goes idle. Going active, the input counts again once its watermark
// is ≥ the output, and an idle output becomes active. The input keeps its
// watermark throughout. It panics with ErrInvalidValve if i is out of
// range.
func (v *Valve) SetIdle(i int, idle bool) Change {
	in := v.input(i)
	switch {
	case idle == in.idle:
		return Change{Watermark: v.out, Status: v.status()}
	case idle:
		return v.goIdle(in)
	default:
		return v.goActive(in)
	}
}

func (v *Valve) goIdle(in *input) Change {
	in.idle, in.aligned = true, false
	v.active--
	if v.active > 0 {
		wm, adv := v.advanceToMin()
		return Change{Watermark: wm, Advanced: adv, Status: Active}
	}
	// Nothing can advance any more: flush what the inputs have promised.
	wm, adv := v.advanceTo(v.maxWatermark())
	return Change{Watermark: wm, Advanced: adv, Status: Idle, StatusChanged: true}
}

func (v *Valve) goActive(in *input) Change {
	in.idle = false
	in.aligned = in.wm >= v.out
	v.active++
	wm, adv := v.advanceToMin()
	return Change{Watermark: wm, Advanced: adv, Status: Active, StatusChanged: v.active == 1}
}

// advanceToMin advances the output to the minimum over the aligned
// inputs; with none aligned there is no minimum, and no output (rather
// than a bogus MaxWatermark).
func (v *Valve) advanceToMin() (int64, bool) {
	m, found := MaxWatermark, false
	for _, in := range v.inputs {
		if in.aligned {
			m, found = min(m, in.wm), true
		}
	}
	if !found {
		return v.out, false
	}
	return v.advanceTo(m)
}

func (v *Valve) advanceTo(wm int64) (int64, bool) {
	if wm <= v.out {
		return v.out, false
	}
	v.out = wm
	return wm, true
}

func (v *Valve) maxWatermark() int64 {
	m := MinWatermark
	for _, in := range v.inputs {
		m = max(m, in.wm)
	}
	return m
}

func (v *Valve) input(i int) *input {
	if i < 0 || i >= len(v.inputs) {
		panic(fmt.Errorf("%w: input %d of %d", ErrInvalidValve, i, len(v.inputs)))
	}
	return &v.inputs[i]
}

func (v *Valve) status() Status {
	if v.active == 0 {
		return Idle
	}
	return Active
}

// Current returns the output watermark: the last one emitted, or
// MinWatermark before the first.
func (v *Valve) Current() int64 { return v.out }

// Idle reports whether the output status is idle: every input is idle.
func (v *Valve) Idle() bool { return v.active == 0 }

// Inputs returns the number of input channels.
func (v *Valve) Inputs() int { return len(v.inputs) }
