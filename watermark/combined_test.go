package watermark

import (
	"math"
	"slices"
	"testing"
)

// combinedValve is what the combination tests drive: a Combined (events
// by input) or InputValves (events by channel).
type combinedValve interface {
	Watermark(i int, wm int64) (int64, bool)
	SetIdle(i int, idle bool) Change
	Current() int64
	Idle() bool
}

// applyTo feeds s to v and returns what v says to forward.
func applyTo(v combinedValve, s vstep) []string {
	if s.op == 'w' {
		if wm, ok := v.Watermark(s.in, s.wm); ok {
			return []string{out(wm)}
		}
		return nil
	}
	var got []string
	c := v.SetIdle(s.in, s.op == 'i')
	if c.Advanced {
		got = append(got, out(c.Watermark))
	}
	if c.StatusChanged {
		got = append(got, c.Status.String())
	}
	return got
}

func runCombined(t *testing.T, v combinedValve, steps []vstep) {
	t.Helper()
	for i, s := range steps {
		if got := applyTo(v, s); !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%c on %d, wm %d): forwarded %q, want %q", i, s.op, s.in, s.wm, got, s.want)
		}
	}
}

// Checklist valve 8, between inputs: the minimum over the active inputs,
// with no catch-up rule; when every input is idle, the highest watermark
// of any input (Flink's CombinedWatermarkStatus since FLINK-38454).
func TestCombined_cases(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		steps []vstep
	}{
		{"minimum once every input has one", 2, []vstep{
			wmOn(0, 10), wmOn(1, 4, out(4)), wmOn(1, 3), wmOn(1, 12, out(10)), wmOn(0, 11, out(11)),
		}},
		{"an idle input does not hold back", 2, []vstep{
			wmOn(0, 10), idleOn(1, out(10)), wmOn(0, 15, out(15)),
		}},
		// Issue 19, bug 2: input 0 returns at 10 while the output is 50;
		// it holds the output there (a Valve would let it catch up first).
		{"returning input counts at once", 2, []vstep{
			wmOn(0, 10), wmOn(1, 10, out(10)), idleOn(0),
			wmOn(1, 50, out(50)), activeOn(0), wmOn(1, 70),
			wmOn(0, 60, out(60)), wmOn(0, 80, out(70)),
		}},
		// The result does not depend on the order the inputs go idle in.
		{"the last input going idle flushes the highest watermark", 2, []vstep{
			wmOn(0, 10), wmOn(1, 4, out(4)), idleOn(0), idleOn(1, out(10), "idle"),
			wmOn(1, 20),                       // from an idle input: ignored
			activeOn(1, "active"), wmOn(1, 6), // behind the flushed 10
			wmOn(1, 12, out(12)),
		}},
		{"the same flush whichever input goes idle last", 2, []vstep{
			wmOn(0, 10), wmOn(1, 4, out(4)), idleOn(1, out(10)), idleOn(0, "idle"),
		}},
		// Without the flush, input 0 coming back would move the output to
		// 50 in the same change that makes it active: forwarded watermark
		// first, the watermark would reach downstream while it still
		// holds this subtask idle, and be dropped there.
		{"an input back from all idle is active at the flushed watermark", 2, []vstep{
			wmOn(0, 50), wmOn(1, 10, out(10)), idleOn(0), idleOn(1, out(50), "idle"),
			activeOn(0, "active"),
		}},
		{"an active input without a watermark holds everything", 2, []vstep{
			idleOn(0), wmOn(1, 5, out(5)), activeOn(0), wmOn(1, 9),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runCombined(t, NewCombined(tt.n), tt.steps) })
	}
}

// InputValves applies a valve's catch-up rule among the channels of one
// input and the combination between inputs: channels 0 and 1 are input
// 0, channel 2 is input 1.
func TestInputValves_cases(t *testing.T) {
	tests := []struct {
		name  string
		steps []vstep
	}{
		{"minimum over channels, then over inputs", []vstep{
			wmOn(0, 10), wmOn(2, 3), wmOn(1, 7, out(3)), wmOn(2, 20, out(7)), wmOn(1, 12, out(10)),
		}},
		{"catch-up among the channels of one input", []vstep{
			wmOn(0, 10), wmOn(1, 4), wmOn(2, 30, out(4)),
			idleOn(1, out(10)), activeOn(1), // channel 1 at 4: not counted in input 0 yet
			wmOn(0, 20, out(20)),
			wmOn(1, 15), wmOn(1, 25), // caught up: input 0 is min(20, 25)
			wmOn(0, 40, out(25)),
		}},
		{"an input's flush reaches the combination", []vstep{
			wmOn(0, 10), wmOn(1, 20), wmOn(2, 30, out(10)),
			idleOn(1), idleOn(0, out(30)), // input 0 flushes 20, then goes idle: input 1 alone
		}},
		{"every channel idle", []vstep{
			wmOn(0, 1), wmOn(1, 2), wmOn(2, 3, out(1)),
			idleOn(2), idleOn(0, out(2)), idleOn(1, out(3), "idle"),
			activeOn(2, "active"), wmOn(2, 4, out(4)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runCombined(t, NewInputValves([]int{0, 0, 1}), tt.steps) })
	}
}

// Remove takes an input (an ended source split) out for good: it no
// longer holds the output back, is not part of the flush when the others
// go idle, and its announcements and watermarks are ignored; with every
// input removed the output is idle.
func TestCombined_remove(t *testing.T) {
	c := NewCombined(3)
	runCombined(t, c, []vstep{wmOn(0, 10), wmOn(1, 50), wmOn(2, 30, out(10))})
	step := func(what string, ch Change, want ...string) {
		t.Helper()
		var got []string
		if ch.Advanced {
			got = append(got, out(ch.Watermark))
		}
		if ch.StatusChanged {
			got = append(got, ch.Status.String())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: forwarded %q, want %q", what, got, want)
		}
	}
	step("remove the lowest", c.Remove(0), out(30))
	step("remove it again", c.Remove(0))
	runCombined(t, c, []vstep{wmOn(0, 90), activeOn(0), idleOn(0)})
	step("remove the highest", c.Remove(1))
	runCombined(t, c, []vstep{idleOn(2, "idle")}) // the flush is 30, not input 1's 50
	step("remove the last, idle", c.Remove(2))
	if !c.Idle() || c.Current() != 30 {
		t.Fatalf("all removed: idle %v at %d, want idle at 30", c.Idle(), c.Current())
	}
	wantPanic(t, ErrInvalidValve, func() { c.Remove(3) })
}

func TestInputValves_panicsOnBadInput(t *testing.T) {
	tests := map[string]func(){
		"no channels":             func() { NewInputValves(nil) },
		"input without a channel": func() { NewInputValves([]int{0, 2}) },
		"negative input":          func() { NewInputValves([]int{-1}) },
		"channel past the end":    func() { NewInputValves([]int{0, 1}).Watermark(2, 0) },
		"no combined inputs":      func() { NewCombined(0) },
		"combined input range":    func() { NewCombined(2).SetIdle(2, true) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) { wantPanic(t, ErrInvalidValve, f) })
	}
}

// combinedModel restates InputValves plainly: a valve model per input,
// and the combination recomputed from scratch after every event.
type combinedModel struct {
	inputOf []int
	local   []int
	valves  []*valveModel
	out     int64
	idle    bool
}

func newCombinedModel(inputOf []int, inputs int) *combinedModel {
	m := &combinedModel{inputOf: inputOf, local: make([]int, len(inputOf)), out: math.MinInt64}
	counts := make([]int, inputs)
	for ch, in := range inputOf {
		m.local[ch] = counts[in]
		counts[in]++
	}
	for _, n := range counts {
		m.valves = append(m.valves, newValveModel(n))
	}
	return m
}

func (m *combinedModel) event(ch int, op byte, wm int64) {
	in := m.inputOf[ch]
	wasIdle := m.valves[in].allIdle()
	m.valves[in].event(m.local[ch], op, wm)
	// An input's valve forwards its watermark before its new status.
	m.combine(in, wasIdle)
	m.combine(in, m.valves[in].allIdle())
}

// combine recomputes the output with input in's idleness taken as idle:
// the minimum over the active inputs, or the maximum over all when none
// is active.
func (m *combinedModel) combine(in int, idle bool) {
	lo, hi, active := int64(math.MaxInt64), int64(math.MinInt64), false
	for i, v := range m.valves {
		hi = max(hi, v.out)
		if i == in && idle || i != in && v.allIdle() {
			continue
		}
		lo, active = min(lo, v.out), true
	}
	m.idle = !active
	if active {
		m.out = max(m.out, lo)
	} else {
		m.out = max(m.out, hi)
	}
}

func FuzzInputValves(f *testing.F) {
	f.Add([]byte{5, 0, 10, 8, 20, 2, 0, 6, 0, 3, 0})
	f.Add([]byte{7, 0, 138, 4, 135, 10, 0, 11, 0, 2, 0, 6, 0, 10, 0, 8, 140})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		// data[0] lays out 2 to 4 channels over 2 inputs, each with one
		inputOf := []int{0, 1}
		for b := range int(data[0]) % 3 {
			inputOf = append(inputOf, int(data[0]>>(2+b))&1)
		}
		v, m := NewInputValves(inputOf), newCombinedModel(inputOf, 2)
		for k := 1; k+1 < len(data); k += 2 {
			ch, op, wm := decodeValveOp(len(inputOf), data[k], data[k+1])
			before, wasIdle := v.Current(), v.Idle()
			got := applyTo(v, vstep{in: ch, op: op, wm: wm})
			m.event(ch, op, wm)
			if v.Current() != m.out || v.Idle() != m.idle {
				t.Fatalf("event %d: output %d idle %v, model %d idle %v", k, v.Current(), v.Idle(), m.out, m.idle)
			}
			var want []string
			if v.Current() != before {
				want = append(want, out(v.Current()))
			}
			if v.Idle() != wasIdle {
				want = append(want, map[bool]string{true: "idle", false: "active"}[v.Idle()])
			}
			if !slices.Equal(got, want) {
				t.Fatalf("event %d: forwarded %q, want %q", k, got, want)
			}
			checkNoWatermarkWhileIdle(t, k, wasIdle, v.Idle(), got)
		}
	})
}
