package natsstore

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config configures a Store (Open). ParseURL fills one from a store URL.
type Config struct {
	// Servers are the client URLs of the NATS servers, such as
	// "nats://10.0.0.1:4222"; give all of a cluster's, the client then
	// reconnects to whichever is up.
	Servers []string
	// Prefix names the buckets: <Prefix>-jobs (key-value: the job
	// records) and <Prefix>-checkpoints (key-value: the checkpoints'
	// metadata; object store: the subtasks' states). Two clusters share
	// one NATS system under different prefixes. Default DefaultPrefix.
	Prefix string
	// Replicas is the number of servers that keep each bucket, when this
	// store creates it (an existing bucket keeps its own): 1 for a single
	// server; 3 over a cluster of three or more, which then survives the
	// loss of one. 1 to 5; default 1.
	Replicas int
	// Retain is how many complete checkpoints of a run are kept (every
	// savepoint is kept besides). Default 3.
	Retain int
	// Timeout bounds one operation of the store, retries included: while
	// the servers elect a new leader of a bucket (a few seconds after
	// losing one) or the client reconnects, operations are retried until
	// then. Default DefaultTimeout.
	Timeout time.Duration
	// Name is the client connection's name in the servers' monitoring.
	Name string
	// Security is the connection's TLS and credentials; the zero value
	// connects in the clear without credentials. Credentials never come
	// in the URL (ParseURL refuses a user).
	Security Security
	// Logger receives retries and reconnections at debug and warn level;
	// nil discards them.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultPrefix   = "troupe"
	DefaultRetain   = 3
	DefaultTimeout  = 30 * time.Second
	defaultReplicas = 1
	maxReplicas     = 5
)

// withDefaults returns cfg with its zero fields set, or an error wrapping
// ErrConfig naming the field.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Servers) == 0 {
		return cfg, fmt.Errorf("%w: Servers is empty", ErrConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if err := checkBucket(cfg.Prefix + "-checkpoints"); err != nil {
		return cfg, fmt.Errorf("%w: Prefix %q: %v", ErrConfig, cfg.Prefix, err)
	}
	switch {
	case cfg.Replicas == 0:
		cfg.Replicas = defaultReplicas
	case cfg.Replicas < 0 || cfg.Replicas > maxReplicas:
		return cfg, fmt.Errorf("%w: Replicas %d: want 1 to %d", ErrConfig, cfg.Replicas, maxReplicas)
	}
	switch {
	case cfg.Retain == 0:
		cfg.Retain = DefaultRetain
	case cfg.Retain < 0:
		return cfg, fmt.Errorf("%w: Retain %d is negative", ErrConfig, cfg.Retain)
	}
	switch {
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	case cfg.Timeout < 0:
		return cfg, fmt.Errorf("%w: Timeout %v is negative", ErrConfig, cfg.Timeout)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Security.Check(); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return cfg, nil
}

// checkBucket accepts the bucket names of JetStream: letters, digits,
// '-' and '_'.
func checkBucket(name string) error {
	if name == "" || len(name) > 200 {
		return fmt.Errorf("want 1 to 200 letters, digits, '-' or '_'")
	}
	for i := 0; i < len(name); i++ {
		if !keyByte(name[i]) {
			return fmt.Errorf("%q is not a letter, digit, '-' or '_'", name[i])
		}
	}
	return nil
}

// ParseURL parses a store URL:
//
//	nats://HOST:PORT[,HOST:PORT…][?prefix=NAME&replicas=N]
//
// Each address may repeat the scheme (nats://a:4222,nats://b:4222). The
// error wraps ErrConfig and says what is wrong.
func ParseURL(raw string) (Config, error) {
	var cfg Config
	rest, ok := strings.CutPrefix(raw, pathScheme)
	if !ok {
		return cfg, fmt.Errorf("%w: %q: want nats://HOST:PORT[,HOST:PORT...]", ErrConfig, raw)
	}
	hosts, query, _ := strings.Cut(rest, "?")
	for h := range strings.SplitSeq(hosts, ",") {
		h = strings.TrimPrefix(strings.TrimSpace(h), pathScheme)
		if err := checkHostPort(h); err != nil {
			return cfg, fmt.Errorf("%w: server %q: %v", ErrConfig, h, err)
		}
		cfg.Servers = append(cfg.Servers, pathScheme+h)
	}
	if err := cfg.parseQuery(query); err != nil {
		return cfg, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	_, err := cfg.withDefaults()
	return cfg, err
}

// checkHostPort checks one server address: a host and a port 1–65535,
// no user or path (credentials are not taken in the URL).
func checkHostPort(h string) error {
	if strings.ContainsAny(h, "@/") {
		return fmt.Errorf("want HOST:PORT, without user or path")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		return fmt.Errorf("want HOST:PORT")
	}
	if host == "" {
		return fmt.Errorf("no host")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

func (cfg *Config) parseQuery(query string) error {
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("query: %v", err)
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return fmt.Errorf("query parameter %s given %d times", k, len(vs))
		}
		switch v := vs[0]; k {
		case "prefix":
			cfg.Prefix = v
		case "replicas":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxReplicas {
				return fmt.Errorf("replicas=%q: want 1 to %d", v, maxReplicas)
			}
			cfg.Replicas = n
		default:
			return fmt.Errorf("unknown query parameter %q (want prefix or replicas)", k)
		}
	}
	return nil
}

// URL returns the store URL that ParseURL parses back into cfg's
// servers, prefix and replicas.
func (cfg Config) URL() string {
	hosts := make([]string, len(cfg.Servers))
	for i, s := range cfg.Servers {
		hosts[i] = strings.TrimPrefix(s, pathScheme)
	}
	u := pathScheme + strings.Join(hosts, ",")
	q := url.Values{}
	if cfg.Prefix != "" && cfg.Prefix != DefaultPrefix {
		q.Set("prefix", cfg.Prefix)
	}
	if cfg.Replicas > 0 {
		q.Set("replicas", strconv.Itoa(cfg.Replicas))
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// redacted returns the servers for messages.
func (cfg Config) redacted() string { return strings.Join(cfg.Servers, ",") }
