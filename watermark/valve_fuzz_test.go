package watermark

import (
	"math"
	"testing"
)

// valveModel restates the valve's rules as plainly as possible: it keeps
// per input its highest watermark, whether it is idle, and whether it
// has caught up since it last became active, and after every event
// recomputes the output from scratch.
type valveModel struct {
	wm     []int64
	idle   []bool
	caught []bool
	out    int64
}

func newValveModel(n int) *valveModel {
	m := &valveModel{wm: make([]int64, n), idle: make([]bool, n), caught: make([]bool, n), out: math.MinInt64}
	for i := range n {
		m.wm[i], m.caught[i] = math.MinInt64, true
	}
	return m
}

func (m *valveModel) event(in int, op byte, wm int64) {
	switch {
	case op == 'w' && !m.idle[in]:
		m.wm[in] = max(m.wm[in], wm)
	case op == 'i':
		m.idle[in], m.caught[in] = true, false
	case op == 'a':
		m.idle[in] = false
	}
	for i := range m.wm {
		if !m.idle[i] && m.wm[i] >= m.out {
			m.caught[i] = true
		}
	}
	if lo, ok := m.minCaught(); ok {
		m.out = max(m.out, lo)
	} else if m.allIdle() {
		m.out = max(m.out, slicesMax(m.wm))
	}
}

// minCaught is the minimum watermark over active, caught-up inputs.
func (m *valveModel) minCaught() (int64, bool) {
	lo, ok := int64(math.MaxInt64), false
	for i := range m.wm {
		if !m.idle[i] && m.caught[i] {
			lo, ok = min(lo, m.wm[i]), true
		}
	}
	return lo, ok
}

func (m *valveModel) allIdle() bool {
	for _, idle := range m.idle {
		if !idle {
			return false
		}
	}
	return true
}

func slicesMax(s []int64) int64 {
	hi := int64(math.MinInt64)
	for _, x := range s {
		hi = max(hi, x)
	}
	return hi
}

// decodeValveOp reads one event from two bytes: the input, the kind
// (two in four are watermarks) and a watermark in a small range, so that
// repeats and decreases are common, with 0 and 255 for the extremes.
func decodeValveOp(n int, a, b byte) (in int, op byte, wm int64) {
	in, op = int(a>>2)%n, "wwia"[a&3]
	switch b {
	case 0:
		wm = MinWatermark
	case 255:
		wm = MaxWatermark
	default:
		wm = int64(b) - 128
	}
	return in, op, wm
}

func FuzzValve(f *testing.F) {
	f.Add([]byte{2, 0, 10, 4, 20, 2, 0, 6, 0})
	f.Add([]byte{3, 0, 138, 4, 135, 10, 0, 11, 0, 2, 0, 6, 0, 10, 0, 8, 140})
	f.Add([]byte{1, 0, 200, 2, 0, 3, 0, 0, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n := 1 + int(data[0])%4
		v, m := NewValve(n), newValveModel(n)
		seen := MinWatermark // highest watermark given to the valve
		for k := 1; k+1 < len(data); k += 2 {
			in, op, wm := decodeValveOp(n, data[k], data[k+1])
			before, wasIdle := v.Current(), v.Idle()
			got := apply(v, vstep{in: in, op: op, wm: wm})
			m.event(in, op, wm)
			if op == 'w' && !m.idle[in] {
				seen = max(seen, wm)
			}
			checkValve(t, k, v, m, before, wasIdle, seen, got)
		}
	})
}

// checkValve checks the valve against the model and the invariants after
// event k, which made it forward got.
func checkValve(t *testing.T, k int, v *Valve, m *valveModel, before int64, wasIdle bool, seen int64, got []string) {
	t.Helper()
	if v.Current() < before {
		t.Fatalf("event %d: output went back from %d to %d", k, before, v.Current())
	}
	if v.Current() > seen {
		t.Fatalf("event %d: output %d above every watermark given (%d)", k, v.Current(), seen)
	}
	if v.Current() != m.out {
		t.Fatalf("event %d: output %d, model says %d", k, v.Current(), m.out)
	}
	if lo, ok := m.minCaught(); ok && v.Current() != lo {
		t.Fatalf("event %d: output %d, minimum over aligned inputs %d", k, v.Current(), lo)
	}
	if v.Idle() != m.allIdle() {
		t.Fatalf("event %d: Idle() = %v, every input idle: %v", k, v.Idle(), m.allIdle())
	}
	var want []string
	if v.Current() != before {
		want = append(want, out(v.Current()))
	}
	if v.Idle() != wasIdle {
		want = append(want, map[bool]string{true: "idle", false: "active"}[v.Idle()])
	}
	if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) || (len(got) > 1 && got[1] != want[1]) {
		t.Fatalf("event %d: forwarded %q, want %q", k, got, want)
	}
	checkNoWatermarkWhileIdle(t, k, wasIdle, v.Idle(), got)
}

// checkNoWatermarkWhileIdle fails if event k made an idle output active
// and advanced its watermark in one change. The runtime forwards the
// watermark first (see Change), so downstream, still holding this
// subtask idle, would drop it. The flush when the last input goes idle
// rules it out: nothing that returns is above the flushed watermark.
func checkNoWatermarkWhileIdle(t *testing.T, k int, wasIdle, idle bool, got []string) {
	t.Helper()
	if wasIdle && !idle && len(got) > 1 {
		t.Fatalf("event %d: forwarded %q: a watermark while downstream holds the output idle", k, got)
	}
}
