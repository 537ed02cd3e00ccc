package actors

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// testSpec declares a required "input", an optional "rate" with a default
// and an optional "label" without one; Build records the params it got.
func testSpec(name string, got *Params) PipelineSpec {
	return PipelineSpec{
		Name:        name,
		Description: "a test pipeline",
		Params: []Param{
			{Name: "input", Description: "where to read", Required: true},
			{Name: "rate", Description: "records per second", Default: "10"},
			{Name: "label", Description: "free text"},
		},
		Build: func(ps Params) (*operators.Pipeline, error) {
			if got != nil {
				*got = ps
			}
			p := operators.NewPipeline(name)
			operators.Discard(operators.FromSlice(p, []int{1, 2, 3}))
			return p, nil
		},
	}
}

func newTestRegistry(t testing.TB, specs ...PipelineSpec) *Registry {
	t.Helper()
	r := NewRegistry()
	for _, s := range specs {
		if err := r.Register(s); err != nil {
			t.Fatalf("Register(%q): %v", s.Name, err)
		}
	}
	return r
}

// wantErr fails unless err wraps target and its message contains every
// one of parts.
func wantErr(t testing.TB, err, target error, parts ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want one wrapping %v", err, target)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

func TestRegistry_Register_invalid(t *testing.T) {
	build := testSpec("x", nil).Build
	tests := []struct {
		name string
		spec PipelineSpec
		want string
	}{
		{"empty name", PipelineSpec{Build: build}, "empty"},
		{"nil build", PipelineSpec{Name: "x"}, "nil Build"},
		{"space in name", PipelineSpec{Name: "word count", Build: build}, `"word count"`},
		{"flag-like name", PipelineSpec{Name: "-x", Build: build}, `"-x"`},
		{"empty param", PipelineSpec{Name: "x", Build: build, Params: []Param{{}}}, "parameter name"},
		{"param with =", PipelineSpec{Name: "x", Build: build, Params: []Param{{Name: "a=b"}}}, `"a=b"`},
		{"param twice", PipelineSpec{Name: "x", Build: build, Params: []Param{{Name: "a"}, {Name: "a"}}}, `"a" declared twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, NewRegistry().Register(tt.spec), ErrInvalidSpec, tt.want)
		})
	}
}

func TestRegistry_Register_duplicate(t *testing.T) {
	r := newTestRegistry(t, testSpec("dup", nil))
	wantErr(t, r.Register(testSpec("dup", nil)), ErrDuplicatePipeline, `"dup"`)
}

func TestRegistry_MustRegister_panics(t *testing.T) {
	r := newTestRegistry(t, testSpec("dup", nil))
	defer func() {
		err, _ := recover().(error)
		wantErr(t, err, ErrDuplicatePipeline, `"dup"`)
	}()
	r.MustRegister(testSpec("dup", nil))
}

func TestRegistry_Lookup_unknown(t *testing.T) {
	r := newTestRegistry(t, testSpec("b", nil), testSpec("a", nil))
	_, err := r.Lookup("nope")
	wantErr(t, err, ErrUnknownPipeline, `"nope"`, "known: a, b")
	_, err = NewRegistry().Lookup("nope")
	wantErr(t, err, ErrUnknownPipeline, `"nope"`, "none are registered")
}

func TestRegistry_Lookup_copiesParams(t *testing.T) {
	r := newTestRegistry(t, testSpec("a", nil))
	spec, err := r.Lookup("a")
	if err != nil {
		t.Fatal(err)
	}
	spec.Params[0].Name = "changed"
	if again, _ := r.Lookup("a"); again.Params[0].Name != "input" {
		t.Fatalf("a caller's change leaked into the registry: %q", again.Params[0].Name)
	}
}

func TestRegistry_Specs_sorted(t *testing.T) {
	r := newTestRegistry(t, testSpec("c", nil), testSpec("a", nil), testSpec("b", nil))
	var names []string
	for _, s := range r.Specs() {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,c" {
		t.Fatalf("Specs() names %s, want a,b,c", got)
	}
}

func TestRegistry_Build_defaults(t *testing.T) {
	var got Params
	r := newTestRegistry(t, testSpec("p", &got))
	if _, err := r.Build("p", map[string]string{"input": "in.txt"}, 0); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"input": "in.txt", "rate": "10", "label": ""} {
		if v := got.String(name); v != want {
			t.Errorf("String(%q) = %q, want %q", name, v, want)
		}
	}
	// An explicit empty value is a value, not an absence.
	if _, err := r.Build("p", map[string]string{"input": "x", "rate": ""}, 0); err != nil {
		t.Fatal(err)
	}
	if v := got.String("rate"); v != "" {
		t.Errorf(`rate = %q after rate="", want ""`, v)
	}
}

func TestRegistry_Build_badParams(t *testing.T) {
	r := newTestRegistry(t, testSpec("p", nil))
	tests := []struct {
		name   string
		values map[string]string
		want   []string
	}{
		{"unknown", map[string]string{"input": "x", "zeta": "1", "alpha": "2"}, []string{`"alpha", "zeta"`, "input, rate, label"}},
		{"missing required", map[string]string{"rate": "1"}, []string{`missing required parameter "input"`}},
		{"empty required", map[string]string{"input": ""}, []string{`"input"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Build("p", tt.values, 0)
			wantErr(t, err, ErrBadParam, tt.want...)
		})
	}
}

func TestRegistry_Build_unknownPipeline(t *testing.T) {
	_, err := newTestRegistry(t, testSpec("p", nil)).Build("nope", nil, 0)
	wantErr(t, err, ErrUnknownPipeline, `"nope"`, "known: p")
}

func TestRegistry_Build_parallelism(t *testing.T) {
	r := newTestRegistry(t, testSpec("p", nil))
	for _, par := range []int{0, 1, 3} {
		p, err := r.Build("p", map[string]string{"input": "x"}, par)
		if err != nil {
			t.Fatal(err)
		}
		g, err := p.Build()
		if err != nil {
			t.Fatal(err)
		}
		if want := max(par, 1); g.Vertices[0].Parallelism != want {
			t.Errorf("parallelism %d: vertex parallelism %d, want %d", par, g.Vertices[0].Parallelism, want)
		}
	}
	_, err := r.Build("p", map[string]string{"input": "x"}, -1)
	wantErr(t, err, operators.ErrParallelism, "-1")
}

func TestRegistry_Build_specErrors(t *testing.T) {
	boom := errors.New("boom")
	r := newTestRegistry(t,
		PipelineSpec{Name: "fails", Build: func(Params) (*operators.Pipeline, error) { return nil, boom }},
		PipelineSpec{Name: "empty", Build: func(Params) (*operators.Pipeline, error) { return nil, nil }},
		PipelineSpec{Name: "badint", Params: []Param{{Name: "n", Default: "ten"}},
			Build: func(ps Params) (*operators.Pipeline, error) {
				_, err := ps.Int("n")
				return nil, err
			}},
	)
	_, err := r.Build("fails", nil, 0)
	wantErr(t, err, boom, `"fails"`)
	_, err = r.Build("empty", nil, 0)
	if err == nil || !strings.Contains(err.Error(), `"empty"`) {
		t.Errorf("nil pipeline: error %v, want one naming the pipeline", err)
	}
	_, err = r.Build("badint", nil, 0)
	wantErr(t, err, ErrBadParam, `"badint"`, `n="ten"`)
}

func TestParams_getters(t *testing.T) {
	ps := Params{values: map[string]string{
		"int": "-42", "float": "2.5", "dur": "1m30s", "word": "abc", "empty": "", "inf": "Inf",
	}}
	if n, err := ps.Int("int"); err != nil || n != -42 {
		t.Errorf("Int(int) = %d, %v", n, err)
	}
	if f, err := ps.Float("float"); err != nil || f != 2.5 {
		t.Errorf("Float(float) = %v, %v", f, err)
	}
	if f, err := ps.Float("int"); err != nil || f != -42 {
		t.Errorf("Float(int) = %v, %v", f, err)
	}
	if d, err := ps.Duration("dur"); err != nil || d != 90*time.Second {
		t.Errorf("Duration(dur) = %v, %v", d, err)
	}
	bad := []struct {
		name string
		get  func(string) error
		arg  string
		want string
	}{
		{"Int word", func(n string) error { _, err := ps.Int(n); return err }, "word", `word="abc"`},
		{"Int empty", func(n string) error { _, err := ps.Int(n); return err }, "empty", `empty=""`},
		{"Int float", func(n string) error { _, err := ps.Int(n); return err }, "float", `float="2.5"`},
		{"Float word", func(n string) error { _, err := ps.Float(n); return err }, "word", `word="abc"`},
		{"Float inf", func(n string) error { _, err := ps.Float(n); return err }, "inf", `inf="Inf"`},
		{"Duration int", func(n string) error { _, err := ps.Duration(n); return err }, "int", `int="-42"`},
		{"undeclared", func(n string) error { _, err := ps.Int(n); return err }, "nope", `"nope" is not a declared`},
		{"IntAtLeast below", func(n string) error { _, err := ps.IntAtLeast(n, -41); return err }, "int", `int="-42": must be at least -41`},
		{"IntAtLeast negative", func(n string) error { _, err := ps.IntAtLeast(n, 0); return err }, "int", `int="-42": must not be negative`},
		{"IntAtLeast word", func(n string) error { _, err := ps.IntAtLeast(n, 0); return err }, "word", `word="abc": not an integer`},
		{"FloatAtLeast below", func(n string) error { _, err := ps.FloatAtLeast(n, 2.75); return err }, "float", `float="2.5": must be at least 2.75`},
		{"FloatAtLeast negative", func(n string) error { _, err := ps.FloatAtLeast(n, 0); return err }, "int", `int="-42": must not be negative`},
		{"Invalid", func(n string) error { return ps.Invalid(n, errors.New("not a colour")) }, "word", `word="abc": not a colour`},
	}
	if n, err := ps.IntAtLeast("int", -42); err != nil || n != -42 {
		t.Errorf("IntAtLeast(int, -42) = %d, %v", n, err)
	}
	if f, err := ps.FloatAtLeast("float", 2.5); err != nil || f != 2.5 {
		t.Errorf("FloatAtLeast(float, 2.5) = %v, %v", f, err)
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.get(tt.arg), ErrBadParam, tt.want)
		})
	}
	if v := ps.String("nope"); v != "" {
		t.Errorf(`String(nope) = %q, want ""`, v)
	}
}

// The race detector checks the registry's locking.
func TestRegistry_concurrent(t *testing.T) {
	r := NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("p%d", i)
			if err := r.Register(testSpec(name, nil)); err != nil {
				t.Error(err)
				return
			}
			for range 50 {
				if _, err := r.Build(name, map[string]string{"input": "x"}, 2); err != nil {
					t.Error(err)
				}
				_ = r.Specs()
			}
		})
	}
	wg.Wait()
	if n := len(r.Specs()); n != 8 {
		t.Fatalf("%d specs registered, want 8", n)
	}
}

// BuildCanonical fills in defaults and writes each value the pipeline
// read typed as its type formats it, so that spellings of one value make
// one job.
func TestRegistry_BuildCanonical(t *testing.T) {
	spec := testSpec("typed", nil)
	spec.Params = append(spec.Params, Param{Name: "wait", Default: "1s"}, Param{Name: "n", Default: "7"})
	spec.Build = func(ps Params) (*operators.Pipeline, error) {
		_, err1 := ps.Float("rate")
		_, err2 := ps.Duration("wait")
		_, err3 := ps.Int("n")
		p := operators.NewPipeline("typed")
		operators.Discard(operators.FromSlice(p, []int{1}))
		return p, errors.Join(err1, err2, err3)
	}
	r := newTestRegistry(t, spec)
	want := map[string]string{"input": "x", "rate": "10", "label": "", "wait": "1s", "n": "7"}
	for _, given := range []map[string]string{
		{"input": "x"},
		{"input": "x", "rate": "10.0", "wait": "1000ms", "n": "007"},
		{"input": "x", "rate": "1e1", "wait": "1s", "n": " 7"},
	} {
		_, got, err := r.BuildCanonical("typed", given, 0)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("BuildCanonical(%v) = %v, %v; want %v", given, got, err, want)
		}
	}
}
