package enrich

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/troupe-dev/troupe/operators/async"
)

// ErrorPolicy says what happens to a record whose call still fails after
// its last attempt, or times out.
type ErrorPolicy uint8

const (
	// FailOnError fails the job with an error naming the record's id (the
	// default). With a restart strategy and checkpoints, the job restarts
	// from its last checkpoint and the record is called again.
	FailOnError ErrorPolicy = iota
	// EmitErrors emits the input record with an ErrorField saying what
	// went wrong, and the job goes on.
	EmitErrors
)

// Config configures an enrich pipeline. Zero fields take their defaults.
type Config struct {
	// Input is the JSON lines file New reads; Enrich ignores it.
	Input string
	// URL is the service; each record is fetched with GET URL?id=<id>
	// (added to the URL's own query, if any). Required.
	URL string
	// Mode is the order records leave in: async.Ordered (input order, the
	// default), async.Unordered (completion order) or async.KeyOrdered
	// (input order per id).
	Mode async.Mode
	// Capacity bounds the requests in flight per subtask. Default 100.
	Capacity int
	// Timeout bounds each record's calls, all attempts and backoff
	// included. 0 means none (Spec defaults to 10 s).
	Timeout time.Duration
	// Retry decides which failed calls are made again. Default
	// DefaultRetry(); a custom strategy should retry only errors for
	// which Retryable is true.
	Retry async.RetryStrategy
	// OnError is the policy for records that fail for good. Default
	// FailOnError.
	OnError ErrorPolicy
	// Output is the directory New writes JSON lines into, as part files
	// (see operators.WriteFiles; read them with operators.CommittedParts);
	// empty means Stdout. It is created if missing; one job per directory.
	Output string
	// Stdout receives the JSON lines when Output is empty; nil means
	// os.Stdout.
	Stdout io.Writer
	// Client makes the requests; nil means NewClient(Capacity), one for
	// the pipeline, shared by its subtasks.
	Client *http.Client
}

// Defaults of Config and of Spec's parameters.
const (
	DefaultCapacity = async.DefaultCapacity
	DefaultTimeout  = 10 * time.Second // Spec's default; Config's is none
	DefaultAttempts = 3
	DefaultBackoff  = "exp:10ms:2:1s"
)

// DefaultRetry returns the default strategy: DefaultAttempts attempts in
// all, DefaultBackoff between them, retrying what Retryable accepts.
func DefaultRetry() async.RetryStrategy {
	r, err := ParseRetry(DefaultAttempts, DefaultBackoff)
	if err != nil {
		panic(err) // the defaults are constants
	}
	return r
}

// ParseRetry builds the retry strategy of up to attempts attempts in all
// (the first included; 1 means no retry) from a backoff such as
// "fixed:10ms" (the same delay each time) or "exp:10ms:2:1s" (initial
// delay, multiplier, most delay). Only errors Retryable accepts are retried.
func ParseRetry(attempts int, backoff string) (*async.Backoff, error) {
	kind, args, _ := strings.Cut(backoff, ":")
	parts := strings.Split(args, ":")
	onErr := async.RetryOnError(Retryable)
	switch {
	case kind == "fixed" && len(parts) == 1:
		d, err := time.ParseDuration(parts[0])
		if err != nil {
			return nil, fmt.Errorf("fixed delay %q is not a duration such as 10ms", parts[0])
		}
		return validated(async.FixedDelay(attempts, d, onErr))
	case kind == "exp" && len(parts) == 3:
		initial, err1 := time.ParseDuration(parts[0])
		mult, err2 := strconv.ParseFloat(parts[1], 64)
		most, err3 := time.ParseDuration(parts[2])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("want exp:<initial>:<multiplier>:<max>, such as %s", DefaultBackoff)
		}
		return validated(async.ExponentialBackoff(attempts, initial, most, mult, onErr))
	}
	return nil, fmt.Errorf("want fixed:<delay> or exp:<initial>:<multiplier>:<max>, such as fixed:10ms or %s", DefaultBackoff)
}

// validated returns b, or the error that makes it unusable.
func validated(b *async.Backoff) (*async.Backoff, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// ParseMode reads "ordered", "unordered" or "keyed" (key-ordered by id).
func ParseMode(s string) (async.Mode, error) {
	switch s {
	case "ordered":
		return async.Ordered, nil
	case "unordered":
		return async.Unordered, nil
	case "keyed":
		return async.KeyOrdered, nil
	}
	return 0, fmt.Errorf("want ordered, unordered or keyed")
}

// ParseErrorPolicy reads "fail" or "emit".
func ParseErrorPolicy(s string) (ErrorPolicy, error) {
	switch s {
	case "fail":
		return FailOnError, nil
	case "emit":
		return EmitErrors, nil
	}
	return 0, fmt.Errorf("want fail or emit")
}

// withDefaults fills zero fields and checks the others; errors wrap
// ErrConfig and name the field.
func (c Config) withDefaults() (Config, error) {
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.Retry == nil {
		c.Retry = DefaultRetry()
	}
	ac := async.Config{Mode: c.Mode, Capacity: c.Capacity, Timeout: c.Timeout, Retry: c.Retry}
	if err := ac.Validate(); err != nil {
		return c, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if c.OnError > EmitErrors {
		return c, fmt.Errorf("%w: OnError %d is not FailOnError or EmitErrors", ErrConfig, c.OnError)
	}
	if _, err := ParseURL(c.URL); err != nil {
		return c, fmt.Errorf("%w: URL %q: %v", ErrConfig, c.URL, err)
	}
	if c.Client == nil {
		c.Client = NewClient(c.Capacity)
	}
	return c, nil
}
