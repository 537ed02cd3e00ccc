package operators_test

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// The timestamp assigner is the new source of event time: it ignores the
// idle/active status of its input, as Flink's
// TimestampsAndWatermarksOperator does (checklist valve 8; issue 19,
// bug 3).

func assignByValue(idle time.Duration) func(operators.Stream[int64]) operators.Stream[int64] {
	return func(s operators.Stream[int64]) operators.Stream[int64] {
		ws := watermark.ForMonotonous()
		ws.IdleTimeout = idle
		return operators.AssignTimestamps(s, operators.WatermarkStrategy[int64]{Strategy: ws,
			Timestamp: func(v, _ int64) int64 { return v }})
	}
}

// An idle input (a processing-time window upstream whose source is idle
// still emits) does not make the assigner's output idle, so downstream
// does not ignore the watermarks it makes; nor does an input's "active"
// reach downstream.
func TestAssignTimestamps_ignoresUpstreamStatus(t *testing.T) {
	h := testkit.NewHarness(t, assignByValue(0))
	h.SetIdle(true)
	h.ProcessElement(500, operators.NoTimestamp)
	h.AdvanceProcessingTime(200 * time.Millisecond) // the periodic watermark
	h.SetIdle(false)
	wantOutput(t, h.Output(), "500@500 watermark(499)")
}

// An assigner that went idle by its own timeout announces "active"
// before the final watermark, which downstream would otherwise ignore.
func TestAssignTimestamps_idleAnnouncesActiveBeforeEndOfInput(t *testing.T) {
	h := testkit.NewHarness(t, assignByValue(time.Second))
	h.ProcessElement(5, operators.NoTimestamp)
	h.AdvanceProcessingTime(200 * time.Millisecond)
	h.AdvanceProcessingTime(time.Second) // no record for the timeout: idle
	h.EndInput()
	wantOutput(t, h.Output(), "5@5 watermark(4) idle active watermark(max)")
}

// A map before the assigner in the same chain does not change that: the
// status stops at the assigner, not only at the head of the chain.
func TestAssignTimestamps_chainedAfterMap_ignoresUpstreamStatus(t *testing.T) {
	h := testkit.NewHarness(t, func(s operators.Stream[int64]) operators.Stream[int64] {
		return assignByValue(0)(operators.Map(s, func(v int64) int64 { return v + 1 }))
	})
	h.SetIdle(true)
	h.ProcessElement(9, operators.NoTimestamp)
	h.AdvanceProcessingTime(200 * time.Millisecond)
	wantOutput(t, h.Output(), "10@10 watermark(9)")
}
