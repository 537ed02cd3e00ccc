package operators_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
	"github.com/troupe-dev/troupe/operators/window"
)

// Constant settings of windows and retries take no error at the call:
// a bad value fails Pipeline.Build, naming the operator (issue 18, item
// 6), so that pipeline helpers stay func(...) Stream[T].
func TestBuild_badConstantSettingsNameTheOperator(t *testing.T) {
	tests := []struct {
		name  string
		add   func(ks operators.KeyedStream[ev, string]) operators.Stream[ev]
		want  error
		parts []string
	}{
		{"tumbling size", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			return operators.ReduceWindow(operators.Window(ks, window.Tumbling(0)), sumEv)
		}, window.ErrInvalidAssigner, []string{"size"}},
		{"sliding offset", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			return operators.ReduceWindow(operators.Window(ks, window.Sliding(ms(10), ms(5)).WithOffset(ms(5))), sumEv)
		}, window.ErrInvalidAssigner, []string{"offset"}},
		{"session gap", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			return operators.ReduceWindow(operators.Window(ks, window.Session(-time.Second)), sumEv)
		}, window.ErrInvalidAssigner, []string{"gap"}},
		{"count window", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			spec := window.CountWindow(0)
			return operators.ReduceWindow(operators.Window(ks, spec.Assigner, operators.WithTrigger(spec.Trigger)), sumEv)
		}, window.ErrInvalidTrigger, nil},
		{"evictor", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			return operators.ReduceWindow(operators.Window(ks, window.Global(), operators.WithTrigger(window.NewCountTrigger(2)),
				operators.WithEvictor(window.NewTimeEvictor(0, window.BeforeFunction))), sumEv)
		}, window.ErrInvalidEvictor, nil},
		{"retry", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			retry := async.FixedDelay(0, time.Millisecond)
			return operators.AsyncMap(operators.ReduceWindow(operators.Window(ks, window.Tumbling(ms(10))), sumEv),
				func(context.Context, ev) ([]ev, error) { return nil, nil }, operators.AsyncConfig[ev, ev]{Retry: retry})
		}, async.ErrRetry, []string{"maxAttempts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := buildOperator(tt.add)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), `"the-operator"`) {
				t.Fatalf("Build: %v; want %v naming the operator", err, tt.want)
			}
			for _, part := range tt.parts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("Build: %v; does not name %q", err, part)
				}
			}
		})
	}
}

// buildOperator builds a pipeline of the operator add makes, named
// "the-operator", on a keyed stream of ev, and returns Build's error.
func buildOperator(add func(ks operators.KeyedStream[ev, string]) operators.Stream[ev]) error {
	p := operators.NewPipeline("settings")
	ks := operators.KeyBy(operators.FromSlice[ev](p, nil), evKey)
	operators.Discard(add(ks).Name("the-operator"))
	_, err := p.Build()
	return err
}

// Settings made as zero values instead of by their constructors — a
// TumblingAssigner{} of size 0, a CountSpec{} without a trigger — fail
// Build naming the operator and the constructor to use, where they ran
// before and divided by zero or never fired. A nil WithTrigger too.
func TestBuild_zeroValueSettingsRefused(t *testing.T) {
	reduce := func(a operators.WindowAssigner, opts ...operators.WindowOption) func(operators.KeyedStream[ev, string]) operators.Stream[ev] {
		return func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			return operators.ReduceWindow(operators.Window(ks, a, opts...), sumEv)
		}
	}
	counted := operators.WithTrigger(window.NewCountTrigger(2))
	tests := []struct {
		name string
		add  func(ks operators.KeyedStream[ev, string]) operators.Stream[ev]
		want error
		part string
	}{
		{"tumbling", reduce(window.TumblingAssigner{}), window.ErrInvalidAssigner, "zero TumblingAssigner"},
		{"tumbling adapted", reduce(window.ByTimestamp[ev](window.TumblingAssigner{})), window.ErrInvalidAssigner, "zero TumblingAssigner"},
		{"tumbling with offset", reduce(window.TumblingAssigner{}.WithOffset(0)), window.ErrInvalidAssigner, "size"},
		{"sliding", reduce(window.SlidingAssigner{}), window.ErrInvalidAssigner, "zero SlidingAssigner"},
		{"session", reduce(window.SessionAssigner{}), window.ErrInvalidAssigner, "zero SessionAssigner"},
		{"dynamic session", reduce(window.DynamicSessionAssigner[ev]{}), window.ErrInvalidAssigner, "gap function is nil"},
		{"count spec", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			var spec window.CountSpec
			if err := spec.Validate(); !errors.Is(err, window.ErrInvalidTrigger) {
				t.Errorf("CountSpec{}.Validate() = %v, want ErrInvalidTrigger", err)
			}
			return reduce(spec.Assigner, operators.WithTrigger(spec.Trigger))(ks)
		}, operators.ErrWindow, "WithTrigger(nil)"},
		{"purging", reduce(window.Global(), operators.WithTrigger(window.PurgingTrigger{})), window.ErrInvalidTrigger, "Purging"},
		{"purging nil", reduce(window.Global(), operators.WithTrigger(window.Purging(nil))), window.ErrInvalidTrigger, "Purging"},
		{"count trigger", reduce(window.Global(), operators.WithTrigger(window.CountTrigger{})), window.ErrInvalidTrigger, "count 0"},
		{"time evictor", reduce(window.Global(), counted, operators.WithEvictor(window.TimeEvictor{})), window.ErrInvalidEvictor, "zero TimeEvictor"},
		{"time evictor adapted", reduce(window.Global(), counted,
			operators.WithElementEvictor(window.ByTimestamps[ev](window.TimeEvictor{}))), window.ErrInvalidEvictor, "zero TimeEvictor"},
		{"count evictor", reduce(window.Global(), counted, operators.WithEvictor(window.CountEvictor{})), window.ErrInvalidEvictor, "count 0"},
		{"retry", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			return operators.AsyncMap(reduce(window.Tumbling(ms(10)))(ks),
				func(context.Context, ev) ([]ev, error) { return nil, nil }, operators.AsyncConfig[ev, ev]{Retry: &async.Backoff{}})
		}, async.ErrRetry, "zero Backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := buildOperator(tt.add)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), `"the-operator"`) || !strings.Contains(err.Error(), tt.part) {
				t.Fatalf("Build: %v; want %v naming the operator and %q", err, tt.want, tt.part)
			}
		})
	}
}
