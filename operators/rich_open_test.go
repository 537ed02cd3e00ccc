package operators

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

// panicky is a function of every rich kind whose Open (or, with
// inNew, whose constructor) panics; it counts its Closes.
type panicky struct {
	closes *int
}

func (f panicky) Open(*RuntimeContext) error { panic("dial: bad address") }
func (f panicky) Close() error {
	*f.closes++
	return nil
}
func (f panicky) Map(v int) (int, error) { return v, nil }
func (f panicky) ProcessElement(_ *KeyedContext[int], v int, out Collector[int]) error {
	out.Collect(v, NoTimestamp)
	return nil
}
func (f panicky) ProcessElement1(_ *KeyedContext[int], v int, out Collector[int]) error {
	return f.ProcessElement(nil, v, out)
}
func (f panicky) ProcessElement2(_ *KeyedContext[int], v int, out Collector[int]) error {
	return f.ProcessElement(nil, v, out)
}
func (f panicky) Process(_ *WindowContext[int], vs []int, out Collector[int]) error { return nil }
func (f panicky) AsyncInvoke(_ context.Context, v int) ([]int, error) {
	return []int{v}, nil
}

// openVertex builds p and opens the subtask 0 of its vertex that runs the
// operator named "under-test", on the bbolt backend in dir. A panic of
// Open is returned as an error saying so.
func openVertex(t *testing.T, p *Pipeline, dir string) (c *Chain, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Open panicked: %v", r)
		}
	}()
	g, err := p.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	for _, v := range g.Vertices {
		if slices.Contains(v.Operators(), "under-test") {
			return v.Open(ChainConfig{Job: "j", BatchSize: 8, Ship: &recordingShipper{},
				StateBackend: StateBackendBolt, StateDir: dir})
		}
	}
	t.Fatal("no vertex runs the operator under-test")
	return nil, nil
}

// A function whose Open panics (or whose constructor does, once the
// operator holds its state backend) fails the subtask's open with a
// *PanicError naming the operator, and is closed, as is its operator: no
// bbolt file is left open or on disk. Flink closes every operator of a
// failed task, whatever its open did.
func TestRich_openPanicClosesFunctionAndState(t *testing.T) {
	ints := func(p *Pipeline) Stream[int] { return FromSlice(p, []int{1}) }
	keyed := func(p *Pipeline) KeyedStream[int, int] { return KeyBy(ints(p), func(v int) int { return v }) }
	for _, tt := range []struct {
		name   string
		build  func(p *Pipeline, newFn func() panicky) Stream[int]
		inNew  bool // the constructor panics, not Open
		closes int  // Closes expected (none when the function was never made)
	}{
		{"map", func(p *Pipeline, newFn func() panicky) Stream[int] { return MapRich(ints(p), newFn) }, false, 1},
		{"async", func(p *Pipeline, newFn func() panicky) Stream[int] {
			return AsyncMapRich(ints(p), newFn, AsyncConfig[int, int]{})
		}, false, 1},
		{"keyed", func(p *Pipeline, newFn func() panicky) Stream[int] { return ProcessKeyedRich(keyed(p), newFn) }, false, 1},
		{"window", func(p *Pipeline, newFn func() panicky) Stream[int] {
			return ProcessWindowRich(Window(keyed(p), window.Tumbling(time.Second)), newFn)
		}, false, 1},
		{"connected", func(p *Pipeline, newFn func() panicky) Stream[int] {
			return ProcessConnectedRich(keyed(p), keyed(p), newFn)
		}, false, 1},
		{"connected-constructor", func(p *Pipeline, newFn func() panicky) Stream[int] {
			return ProcessConnectedRich(keyed(p), keyed(p), newFn)
		}, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			closes, dir := 0, t.TempDir()
			newFn := func() panicky {
				if tt.inNew {
					panic("constructor: bad address")
				}
				return panicky{closes: &closes}
			}
			p := NewPipeline("open-panics")
			Discard(tt.build(p, newFn).Name("under-test"))
			c, err := openVertex(t, p, dir)
			if c != nil {
				t.Fatal("Open succeeded")
			}
			var pe *PanicError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), `"under-test"`) {
				t.Errorf("Open: %v, want a *PanicError naming the operator", err)
			}
			if closes != tt.closes {
				t.Errorf("Close called %d times, want %d", closes, tt.closes)
			}
			if files := filesUnder(t, dir); len(files) > 0 {
				t.Errorf("left in the state dir: %v (the backend was not closed)", files)
			}
		})
	}
}

// filesUnder returns the files in dir and its subdirectories.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
