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
			p := operators.NewPipeline("bad")
			ks := operators.KeyBy(operators.FromSlice[ev](p, nil), evKey)
			operators.Discard(tt.add(ks).Name("the-operator"))
			_, err := p.Build()
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
