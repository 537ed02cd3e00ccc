package actors

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/troupe-dev/troupe/operators"
)

// Param declares one parameter of a registered pipeline. Values are strings,
// as they come from a command line or a job submission; the pipeline's Build
// function converts them with the getters of Params.
type Param struct {
	// Name is what users write before the '=' of key=value.
	Name string
	// Description says what the value means, in one line.
	Description string
	// Default is the value used when none is given. It is ignored for a
	// required parameter.
	Default string
	// Required parameters must be given a non-empty value.
	Required bool
}

// Params holds the values of a pipeline's declared parameters, with
// defaults applied, as handed to PipelineSpec.Build. Its values do not
// change; the typed getters note the canonical form of what they parse
// (see Registry.BuildCanonical), so call them from one goroutine.
type Params struct {
	values map[string]string // every declared parameter has an entry
	canon  map[string]string // canonical forms of the values read typed
}

// String returns the value of the named parameter ("" for an undeclared
// one).
func (p Params) String(name string) string { return p.values[name] }

// Int returns the named parameter as a base-10 integer.
func (p Params) Int(name string) (int, error) {
	v, err := p.lookup(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, badValue(name, v, "not an integer")
	}
	p.note(name, strconv.Itoa(n))
	return n, nil
}

// Float returns the named parameter as a finite floating-point number.
func (p Params) Float(name string) (float64, error) {
	v, err := p.lookup(name)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, badValue(name, v, "not a finite number")
	}
	p.note(name, strconv.FormatFloat(f, 'g', -1, 64))
	return f, nil
}

// Duration returns the named parameter parsed by time.ParseDuration
// ("250ms", "1m30s").
func (p Params) Duration(name string) (time.Duration, error) {
	v, err := p.lookup(name)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, badValue(name, v, "not a duration such as 250ms or 1m30s")
	}
	p.note(name, d.String())
	return d, nil
}

// note records the canonical form of a value read typed: "020" read as
// an Int is "20", "1000ms" read as a Duration is "1s".
func (p Params) note(name, canonical string) {
	if p.canon != nil {
		p.canon[name] = canonical
	}
}

// canonical returns every declared parameter's value in canonical form:
// as the typed getters formatted it, else as given.
func (p Params) canonical() map[string]string {
	out := maps.Clone(p.values)
	maps.Copy(out, p.canon)
	return out
}

// IntAtLeast returns the named parameter as a base-10 integer of at least
// min.
func (p Params) IntAtLeast(name string, min int) (int, error) {
	n, err := p.Int(name)
	if err == nil && n < min {
		err = badValue(name, p.values[name], atLeast(min))
	}
	return n, err
}

// FloatAtLeast returns the named parameter as a finite number of at least
// min.
func (p Params) FloatAtLeast(name string, min float64) (float64, error) {
	f, err := p.Float(name)
	if err == nil && f < min {
		err = badValue(name, p.values[name], atLeast(min))
	}
	return f, err
}

func atLeast[N int | float64](min N) string {
	if min == 0 {
		return "must not be negative"
	}
	return fmt.Sprintf("must be at least %v", min)
}

// Invalid returns an error wrapping ErrBadParam that names the parameter,
// its value and why, for the checks a Build function makes itself.
func (p Params) Invalid(name string, why error) error {
	return badValue(name, p.values[name], why.Error())
}

// lookup fails for an undeclared name: asking for one is a bug in the
// pipeline's Build function, which a silent "" would hide.
func (p Params) lookup(name string) (string, error) {
	v, ok := p.values[name]
	if !ok {
		return "", fmt.Errorf("%w: %q is not a declared parameter", ErrBadParam, name)
	}
	return v, nil
}

func badValue(name, value, why string) error {
	return fmt.Errorf("%w: %s=%q: %s", ErrBadParam, name, value, why)
}

// PipelineSpec describes a pipeline that can be built by name.
type PipelineSpec struct {
	// Name identifies the pipeline on the command line and in jobs.
	Name string
	// Description says what the pipeline computes, in one line.
	Description string
	// Params are the parameters the pipeline accepts; no others are.
	Params []Param
	// Build assembles the pipeline from validated values. It must be
	// deterministic and free of side effects other than reading params,
	// because every node of a cluster builds the same job from the same
	// values. A malformed value should be reported by returning the error
	// of the Params getter, which wraps ErrBadParam.
	Build func(Params) (*operators.Pipeline, error)
}

// Registry maps pipeline names to their specs. Every node runs the same
// binary and registers the same pipelines, so any node can build any job
// from its name and parameter values. It is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	specs map[string]PipelineSpec
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{specs: make(map[string]PipelineSpec)}
}

// Register adds a pipeline. It returns an error wrapping ErrInvalidSpec for
// an empty or malformed name, a nil Build or a malformed parameter list,
// and one wrapping ErrDuplicatePipeline when the name is taken.
func (r *Registry) Register(spec PipelineSpec) error {
	if err := checkSpec(spec); err != nil {
		return err
	}
	spec.Params = slices.Clone(spec.Params) // the caller may reuse its slice
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.specs[spec.Name]; ok {
		return fmt.Errorf("%w: %q is already registered", ErrDuplicatePipeline, spec.Name)
	}
	r.specs[spec.Name] = spec
	return nil
}

// MustRegister is Register that panics on error, for registering built-in
// pipelines at start-up, where an error is a programming mistake.
func (r *Registry) MustRegister(spec PipelineSpec) {
	if err := r.Register(spec); err != nil {
		panic(err)
	}
}

// checkSpec rejects names that a command line could not express: empty,
// with spaces, with '=' in a parameter, or starting with '-' (a flag).
func checkSpec(spec PipelineSpec) error {
	if err := checkName(spec.Name); err != nil {
		return fmt.Errorf("%w: pipeline name: %v", ErrInvalidSpec, err)
	}
	if spec.Build == nil {
		return fmt.Errorf("%w: pipeline %q: nil Build function", ErrInvalidSpec, spec.Name)
	}
	seen := make(map[string]bool, len(spec.Params))
	for _, p := range spec.Params {
		switch err := checkName(p.Name); {
		case err != nil:
			return fmt.Errorf("%w: pipeline %q: parameter name: %v", ErrInvalidSpec, spec.Name, err)
		case strings.Contains(p.Name, "="):
			return fmt.Errorf("%w: pipeline %q: parameter name %q contains '='", ErrInvalidSpec, spec.Name, p.Name)
		case seen[p.Name]:
			return fmt.Errorf("%w: pipeline %q: parameter %q declared twice", ErrInvalidSpec, spec.Name, p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty")
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("%q starts with '-'", name)
	case strings.ContainsFunc(name, unicode.IsSpace):
		return fmt.Errorf("%q contains white space", name)
	}
	return nil
}

// Lookup returns the spec registered under name, or an error wrapping
// ErrUnknownPipeline that names it and lists the registered names.
func (r *Registry) Lookup(name string) (PipelineSpec, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	spec, ok := r.specs[name]
	if !ok {
		known := "none are registered"
		if len(r.specs) > 0 {
			known = "known: " + strings.Join(slices.Sorted(maps.Keys(r.specs)), ", ")
		}
		return PipelineSpec{}, fmt.Errorf("%w %q (%s)", ErrUnknownPipeline, name, known)
	}
	spec.Params = slices.Clone(spec.Params)
	return spec, nil
}

// Specs returns every registered spec, sorted by name.
func (r *Registry) Specs() []PipelineSpec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	specs := make([]PipelineSpec, 0, len(r.specs))
	for _, spec := range r.specs {
		spec.Params = slices.Clone(spec.Params)
		specs = append(specs, spec)
	}
	slices.SortFunc(specs, func(a, b PipelineSpec) int { return strings.Compare(a.Name, b.Name) })
	return specs
}

// Build builds the named pipeline from parameter values. It validates the
// values first: a name the spec does not declare, or a required parameter
// that is missing or empty, gives an error wrapping ErrBadParam that names
// it; omitted parameters take their defaults. A parallelism above 0 becomes
// the pipeline's default parallelism (operators that set their own keep
// it); 0 keeps the pipeline's. An unknown pipeline gives ErrUnknownPipeline.
// Errors of the spec's Build are returned wrapped with the pipeline's name.
func (r *Registry) Build(name string, values map[string]string, parallelism int) (*operators.Pipeline, error) {
	p, _, err := r.BuildCanonical(name, values, parallelism)
	return p, err
}

// BuildCanonical is Build that also returns the parameters in canonical
// form, the identity of the job they make: every declared parameter with
// defaults filled in, and each value that the pipeline read with a typed
// getter (Int, Float, Duration) formatted back by its type, so that
// "-p rate=3000", "-p rate=3e3" and leaving out a rate whose default is
// 3000 are one job. Values read with String are kept as given.
func (r *Registry) BuildCanonical(name string, values map[string]string, parallelism int) (*operators.Pipeline, map[string]string, error) {
	spec, err := r.Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	if parallelism < 0 {
		return nil, nil, fmt.Errorf("actors: pipeline %q: parallelism %d: %w", name, parallelism, operators.ErrParallelism)
	}
	params, err := spec.params(values)
	if err != nil {
		return nil, nil, err
	}
	p, err := spec.Build(params)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("actors: build pipeline %q: %w", name, err)
	case p == nil:
		return nil, nil, fmt.Errorf("actors: build pipeline %q: Build returned no pipeline and no error", name)
	}
	if parallelism > 0 {
		p.SetParallelism(parallelism)
	}
	return p, params.canonical(), nil
}

// params validates values against the declared parameters and applies the
// defaults. Unknown names are all reported at once, sorted, so that a user
// fixes a command line in one go.
func (s PipelineSpec) params(values map[string]string) (Params, error) {
	declared := make(map[string]Param, len(s.Params))
	for _, p := range s.Params {
		declared[p.Name] = p
	}
	var unknown []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if _, ok := declared[k]; !ok {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		return Params{}, fmt.Errorf("%w: pipeline %q has no parameter %s (it has: %s)",
			ErrBadParam, s.Name, strings.Join(unknown, ", "), s.paramNames())
	}
	out := make(map[string]string, len(s.Params))
	for _, p := range s.Params {
		v, ok := values[p.Name]
		switch {
		case p.Required && v == "":
			return Params{}, fmt.Errorf("%w: pipeline %q: missing required parameter %q", ErrBadParam, s.Name, p.Name)
		case !ok:
			v = p.Default
		}
		out[p.Name] = v
	}
	return Params{values: out, canon: map[string]string{}}, nil
}

func (s PipelineSpec) paramNames() string {
	if len(s.Params) == 0 {
		return "none"
	}
	names := make([]string, len(s.Params))
	for i, p := range s.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}
