package watermark

import (
	"fmt"
	"slices"
	"testing"
)

// vstep is one event for a Valve (a watermark, idle or active on input
// in) and what the valve must forward, in order: "wm N", "idle",
// "active".
type vstep struct {
	in   int
	op   byte // 'w', 'i' or 'a'
	wm   int64
	want []string
}

func wmOn(in int, wm int64, want ...string) vstep { return vstep{in, 'w', wm, want} }
func idleOn(in int, want ...string) vstep         { return vstep{in, 'i', 0, want} }
func activeOn(in int, want ...string) vstep       { return vstep{in, 'a', 0, want} }
func out(wm int64) string                         { return fmt.Sprintf("wm %d", wm) }

// apply feeds s to v and returns what v says to forward.
func apply(v *Valve, s vstep) []string {
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

func runValve(t *testing.T, n int, steps []vstep) *Valve {
	t.Helper()
	v := NewValve(n)
	for i, s := range steps {
		if got := apply(v, s); !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%c on %d, wm %d): forwarded %q, want %q", i, s.op, s.in, s.wm, got, s.want)
		}
	}
	return v
}

// TestValve_checklist holds the numbered cases of CHECKLISTS.md,
// "Multi-input watermark valve".
func TestValve_checklist(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		steps []vstep
		final int64 // Current() at the end
	}{
		{"1_one_input", 1, []vstep{
			wmOn(0, 0, out(0)), wmOn(0, 25, out(25)),
			wmOn(0, 18), // lower: nothing
			wmOn(0, 42, out(42)),
			idleOn(0, "idle"), idleOn(0), // forwarded once
			activeOn(0, "active"), activeOn(0),
			wmOn(0, 42), wmOn(0, 40), // kept across idleness
			wmOn(0, 43, out(43)),
		}, 43},
		{"2_minimum_of_all_inputs", 3, []vstep{
			wmOn(0, 10), wmOn(1, 5), // input 2 has sent nothing
			wmOn(2, 3, out(3)),
			wmOn(2, 1), // a decrease: nothing
			wmOn(2, 4, out(4)),
			wmOn(1, 12), // not the minimum
			wmOn(2, 15, out(10)),
			wmOn(0, 11, out(11)),
			wmOn(0, 9),
		}, 11},
		{"3_advances_as_inputs_go_idle", 4, []vstep{
			wmOn(0, 25), wmOn(1, 12), wmOn(2, 8), wmOn(3, 30, out(8)),
			idleOn(3), // not holding anything back
			idleOn(2, out(12)), idleOn(1, out(25)), idleOn(0, out(30), "idle"),
		}, 30},
		{"4_last_idle_emits_maximum", 3, []vstep{
			wmOn(0, 10), wmOn(1, 20), wmOn(2, 15, out(10)),
			idleOn(1), idleOn(2), // input 0 still holds 10
			idleOn(0, out(20), "idle"),
			activeOn(1, "active"), // at 20 = output: aligned
			wmOn(1, 25, out(25)),
		}, 25},
		{"5_returning_input_counts_once_caught_up", 3, []vstep{
			wmOn(0, 10), wmOn(1, 7), wmOn(2, 3, out(3)),
			idleOn(2, out(7)),
			activeOn(2), // at 3 < 7: catching up
			wmOn(1, 12, out(10)),
			wmOn(2, 8), // below 10: still ignored
			wmOn(0, 15, out(12)),
			wmOn(2, 11),          // below 12: still ignored
			wmOn(2, 14),          // caught up; min(15, 12, 14) is still 12
			wmOn(1, 20, out(14)), // input 2 now holds the output
		}, 14},
		{"6_no_output_while_all_active_inputs_catch_up", 3, []vstep{
			wmOn(0, 10), wmOn(1, 7),
			idleOn(2, out(7)), activeOn(2), // 2 is behind, at MinWatermark
			idleOn(0), idleOn(1), // only 2 is active: no bogus maximum
			wmOn(2, 5),
			wmOn(2, 8, out(8)),
		}, 8},
		{"7_unaligned_input_going_idle_does_not_move_back", 2, []vstep{
			wmOn(0, 10),
			idleOn(1, out(10)), activeOn(1), // 1 has no watermark: unaligned
			idleOn(0),
			idleOn(1, "idle"), // all idle; the maximum is 10: no change
			activeOn(1, "active"), wmOn(1, 5), wmOn(1, 11, out(11)),
		}, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := runValve(t, tt.n, tt.steps); v.Current() != tt.final {
				t.Fatalf("Current() = %d, want %d", v.Current(), tt.final)
			}
		})
	}
}

// TestValve_cases covers what the checklist does not: the two rules that
// Flink's valve changed in FLINK-40475, end of input and odd inputs.
func TestValve_cases(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		steps []vstep
	}{
		// The last input to go idle is behind the output (it returned and
		// had not caught up); 30 is still promised. Flink before
		// FLINK-40475 flushed only if that input was at the output.
		{"last idle input behind still flushes the maximum", 3, []vstep{
			wmOn(0, 10), wmOn(1, 30), wmOn(2, 5, out(5)),
			idleOn(2, out(10)), activeOn(2),
			idleOn(1), idleOn(0),
			idleOn(2, out(30), "idle"),
		}},
		// Input 1 returns aligned and is the only one: it counts at once.
		// Flink before FLINK-40475 waited for its next watermark.
		{"input returning caught up counts at once", 3, []vstep{
			wmOn(0, 10), wmOn(1, 20), wmOn(2, 5, out(5)),
			idleOn(2, out(10)), activeOn(2),
			idleOn(1), idleOn(0),
			activeOn(1, out(20)),
		}},
		{"end of input no longer holds back", 2, []vstep{
			wmOn(0, MaxWatermark), wmOn(1, 5, out(5)),
			wmOn(1, MaxWatermark, out(MaxWatermark)),
		}},
		{"idle from the start never holds back", 2, []vstep{
			idleOn(1), wmOn(0, 7, out(7)), idleOn(0, "idle"),
		}},
		{"watermark on an idle input is ignored", 2, []vstep{
			wmOn(0, 5), wmOn(1, 6, out(5)),
			idleOn(0, out(6)), wmOn(0, 100), activeOn(0), // 5 < 6: catching up
			wmOn(1, 7, out(7)), // input 0, behind, does not hold it back
		}},
		{"MinWatermark is no watermark", 2, []vstep{
			wmOn(0, MinWatermark), wmOn(1, MinWatermark), wmOn(0, 1), wmOn(1, 2, out(1)),
		}},
		{"idle and active of one input among many", 2, []vstep{
			idleOn(0), activeOn(0), // the output never went idle
			wmOn(0, 3), wmOn(1, 4, out(3)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runValve(t, tt.n, tt.steps) })
	}
}

func TestValve_state(t *testing.T) {
	v := NewValve(2)
	if v.Current() != MinWatermark || v.Idle() || v.Inputs() != 2 {
		t.Fatalf("new valve: Current %d Idle %v Inputs %d", v.Current(), v.Idle(), v.Inputs())
	}
	v.SetIdle(0, true)
	if c := v.SetIdle(1, true); !v.Idle() || c.Status != Idle || c.Watermark != MinWatermark {
		t.Fatalf("all idle: Idle %v, change %+v", v.Idle(), c)
	}
	if c := v.SetIdle(1, true); c.StatusChanged || c.Advanced || c.Status != Idle {
		t.Fatalf("repeated idle: change %+v", c)
	}
}

func TestValve_panicsOnBadInput(t *testing.T) {
	tests := map[string]func(){
		"no inputs":              func() { NewValve(0) },
		"negative input":         func() { NewValve(2).Watermark(-1, 0) },
		"input past the end":     func() { NewValve(2).SetIdle(2, true) },
		"watermark past the end": func() { NewValve(1).Watermark(1, 0) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) { wantPanic(t, ErrInvalidValve, f) })
	}
}

func TestStatus_String(t *testing.T) {
	for s, want := range map[Status]string{Active: "active", Idle: "idle", 7: "Status(7)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}
