package watermark

import "fmt"

// Combined combines the watermarks and statuses of an operator's logical
// inputs — each the output of that input's Valve — into the operator's
// watermark and status, as Flink's CombinedWatermarkStatus does for
// two-input operators (connected streams, interval joins). It combines
// the splits of a source subtask the same way, as Flink's per-split
// watermarks do (Remove takes out a split that has ended):
//
//   - the output is the minimum over the inputs that are not idle, and
//     never goes back; nothing is emitted while an active input has no
//     watermark yet;
//   - the output is idle when every input is idle, and then it is the
//     highest watermark of any input (the flush of FLINK-38454): where
//     the inputs end up must not depend on the order in which they went
//     idle;
//   - unlike a Valve, there is no catch-up rule: an input that returns
//     from idleness behind the output counts at once (the output stays
//     where it is until that input passes it).
//
// The catch-up rule belongs to the channels of one input, which the
// input's Valve combines; between inputs it would let the operator run
// ahead of an input that still has records to send.
//
// Because of the flush, an input returning from idleness never moves the
// output in the change that makes it active: the runtime forwards a
// Change's watermark before its status, and downstream would drop a
// watermark from a channel it still holds idle.
//
// A Combined is not safe for concurrent use.
type Combined struct {
	inputs []partial
	out    int64
	idle   bool
}

// partial is one input's watermark and status, as its valve emitted them.
type partial struct {
	wm   int64
	idle bool
	gone bool // removed (Remove): counts for nothing any more
}

// NewCombined returns the combination of n inputs, all active with no
// watermark yet. It panics with ErrInvalidValve if n < 1.
func NewCombined(n int) *Combined {
	if n < 1 {
		panic(fmt.Errorf("%w: NewCombined(%d) needs n ≥ 1", ErrInvalidValve, n))
	}
	c := &Combined{inputs: make([]partial, n), out: MinWatermark}
	for i := range c.inputs {
		c.inputs[i].wm = MinWatermark
	}
	return c
}

// Watermark handles input i's watermark wm and returns the output, with
// advanced true if it is new. A watermark not above input i's previous
// one, or from an idle input, changes nothing. It panics with
// ErrInvalidValve if i is out of range.
func (c *Combined) Watermark(i int, wm int64) (out int64, advanced bool) {
	in := c.input(i)
	if in.idle || in.gone || wm <= in.wm {
		return c.out, false
	}
	in.wm = wm
	return c.update()
}

// SetIdle handles input i going idle (idle true) or active again and
// returns what to forward: the watermark first if Advanced, then the
// status if StatusChanged (the output goes idle only with its last input
// and active with its first). It panics with ErrInvalidValve if i is out
// of range.
func (c *Combined) SetIdle(i int, idle bool) Change {
	in := c.input(i)
	if in.gone {
		return Change{Watermark: c.out, Status: c.status()}
	}
	was := c.idle
	in.idle = idle
	return c.changed(was)
}

// Remove takes input i out of the combination for good, as Flink
// unregisters the output of a source split that has ended: it no longer
// holds the output back, nor is its watermark part of the flush when the
// others are all idle (a Combined of splits, unlike one of an operator's
// inputs, whose ended input sends MaxWatermark and stays). The Change is
// forwarded as SetIdle's; with every input removed the output is idle.
// Removing an input twice changes nothing. It panics with
// ErrInvalidValve if i is out of range.
func (c *Combined) Remove(i int) Change {
	in := c.input(i)
	if in.gone {
		return Change{Watermark: c.out, Status: c.status()}
	}
	was := c.idle
	in.gone = true
	return c.changed(was)
}

// changed recomputes the output after an input's status changed from an
// output status of was.
func (c *Combined) changed(was bool) Change {
	wm, adv := c.update()
	return Change{Watermark: wm, Advanced: adv, Status: c.status(), StatusChanged: c.idle != was}
}

// update recomputes the status and the output: the minimum over the
// active inputs, or when every input is idle the maximum over all
// (removed inputs count for neither).
func (c *Combined) update() (int64, bool) {
	lo, hi, active := MaxWatermark, MinWatermark, false
	for _, in := range c.inputs {
		if in.gone {
			continue
		}
		hi = max(hi, in.wm)
		if !in.idle {
			lo, active = min(lo, in.wm), true
		}
	}
	c.idle = !active
	m := lo
	if !active {
		m = hi
	}
	if m <= c.out {
		return c.out, false
	}
	c.out = m
	return m, true
}

func (c *Combined) input(i int) *partial {
	if i < 0 || i >= len(c.inputs) {
		panic(fmt.Errorf("%w: input %d of %d", ErrInvalidValve, i, len(c.inputs)))
	}
	return &c.inputs[i]
}

func (c *Combined) status() Status {
	if c.idle {
		return Idle
	}
	return Active
}

// Current returns the output watermark: the last one emitted, or
// MinWatermark before the first.
func (c *Combined) Current() int64 { return c.out }

// Idle reports whether every input is idle.
func (c *Combined) Idle() bool { return c.idle }

// InputValves is the watermark logic of a subtask whose head operator has
// several logical inputs: one Valve per input over that input's channels,
// whose outputs a Combined combines. A single-input operator — a union
// too, whose streams are one input — uses one Valve over all channels.
//
// It has the methods of Valve, by channel, so the runtime drives either
// the same way. It is not safe for concurrent use.
type InputValves struct {
	valves   []*Valve
	route    []route // by channel
	combined *Combined
}

// route is where a channel's events go: its input, and its index among
// that input's channels.
type route struct{ input, ch int }

// NewInputValves returns the valves of a subtask whose channel ch belongs
// to logical input inputOf[ch]. Inputs are numbered from 0 and each must
// have at least one channel; otherwise it panics with ErrInvalidValve.
func NewInputValves(inputOf []int) *InputValves {
	var counts []int
	v := &InputValves{route: make([]route, len(inputOf))}
	for ch, in := range inputOf {
		if in < 0 {
			panic(fmt.Errorf("%w: channel %d of input %d", ErrInvalidValve, ch, in))
		}
		for len(counts) <= in {
			counts = append(counts, 0)
		}
		v.route[ch] = route{input: in, ch: counts[in]}
		counts[in]++
	}
	if len(counts) == 0 {
		panic(fmt.Errorf("%w: NewInputValves with no channels", ErrInvalidValve))
	}
	for in, n := range counts {
		if n == 0 {
			panic(fmt.Errorf("%w: input %d has no channel", ErrInvalidValve, in))
		}
		v.valves = append(v.valves, NewValve(n))
	}
	v.combined = NewCombined(len(counts))
	return v
}

// Watermark handles watermark wm from channel ch and returns the output
// watermark, with advanced true if it is new and must be forwarded.
func (v *InputValves) Watermark(ch int, wm int64) (out int64, advanced bool) {
	r := v.channel(ch)
	if wm, ok := v.valves[r.input].Watermark(r.ch, wm); ok {
		return v.combined.Watermark(r.input, wm)
	}
	return v.combined.Current(), false
}

// SetIdle handles channel ch announcing that it is idle or active again;
// the Change is forwarded as a Valve's is.
func (v *InputValves) SetIdle(ch int, idle bool) Change {
	r := v.channel(ch)
	in := v.valves[r.input].SetIdle(r.ch, idle)
	out := Change{Watermark: v.combined.Current(), Status: v.combined.status()}
	if in.Advanced {
		out.Watermark, out.Advanced = v.combined.Watermark(r.input, in.Watermark)
	}
	if in.StatusChanged {
		c := v.combined.SetIdle(r.input, in.Status == Idle)
		out.Watermark, out.Advanced = c.Watermark, out.Advanced || c.Advanced
		out.Status, out.StatusChanged = c.Status, c.StatusChanged
	}
	return out
}

func (v *InputValves) channel(ch int) route {
	if ch < 0 || ch >= len(v.route) {
		panic(fmt.Errorf("%w: channel %d of %d", ErrInvalidValve, ch, len(v.route)))
	}
	return v.route[ch]
}

// Current returns the output watermark.
func (v *InputValves) Current() int64 { return v.combined.Current() }

// Idle reports whether the output is idle: every input is.
func (v *InputValves) Idle() bool { return v.combined.Idle() }
