package jetstream

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// URLScheme is the scheme of the URLs ParseURL takes.
const URLScheme = "nats"

// Endpoint is a stream at a NATS server, as a nats:// URL names it for
// pipelines' input and output parameters:
//
//	nats://[user:password@]HOST:PORT/STREAM[?subject=S[&subject=S2…]][&bounded=true][&delivery=at-least-once][&late-commit=fail|republish|skip]
//
// Each subject is a subject filter of a source (a split of its own; none:
// the whole stream) or the subject a sink publishes to (none: the
// stream's only subject). bounded=true makes a source stop at the last
// message stored when it first starts. delivery=at-least-once makes a
// sink publish at once instead of on checkpoint completion. late-commit
// is an exactly-once sink's LateCommit policy (see SinkConfig).
type Endpoint struct {
	Servers    string // the server URL without the path, such as "nats://127.0.0.1:4222"
	Stream     string
	Subjects   []string
	Bounded    bool
	Delivery   Delivery
	LateCommit LateCommit
}

// IsURL reports whether s is meant as a nats:// URL rather than a file
// path, so that a pipeline can take either in one parameter.
func IsURL(s string) bool { return strings.HasPrefix(s, URLScheme+"://") }

// ParseURL parses a nats:// URL (see Endpoint). Errors wrap ErrConfig
// and name what is wrong.
func ParseURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %q is not a URL: %v", ErrConfig, redact(raw), err)
	}
	bad := func(why string) (Endpoint, error) {
		return Endpoint{}, fmt.Errorf("%w: URL %q: %s", ErrConfig, u.Redacted(), why)
	}
	switch {
	case u.Scheme != URLScheme:
		return bad("the scheme is not " + URLScheme)
	case u.Host == "":
		return bad("no HOST:PORT")
	case u.Fragment != "":
		return bad("has a #fragment")
	}
	stream := strings.TrimPrefix(u.Path, "/")
	if err := checkStreamName(stream); err != nil {
		return bad(err.Error())
	}
	ep := Endpoint{Servers: (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host}).String(), Stream: stream}
	for key, vals := range u.Query() {
		switch key {
		case "subject":
			for _, v := range vals {
				for _, s := range strings.Split(v, ",") {
					if s = strings.TrimSpace(s); s != "" {
						ep.Subjects = append(ep.Subjects, s)
					}
				}
			}
		case "bounded":
			b, err := strconv.ParseBool(vals[len(vals)-1])
			if err != nil {
				return bad(fmt.Sprintf("bounded=%q is not true or false", vals[len(vals)-1]))
			}
			ep.Bounded = b
		case "delivery":
			d, err := ParseDelivery(vals[len(vals)-1])
			if err != nil {
				return bad(err.Error())
			}
			ep.Delivery = d
		case "late-commit":
			l, err := ParseLateCommit(vals[len(vals)-1])
			if err != nil {
				return bad(err.Error())
			}
			ep.LateCommit = l
		default:
			return bad(fmt.Sprintf("unknown parameter %q (known: subject, bounded, delivery, late-commit)", key))
		}
	}
	return ep, nil
}

// String returns the endpoint as a URL, with any password redacted.
func (e Endpoint) String() string {
	q := url.Values{}
	for _, s := range e.Subjects {
		q.Add("subject", s)
	}
	if e.Bounded {
		q.Set("bounded", "true")
	}
	if e.Delivery != ExactlyOnce {
		q.Set("delivery", e.Delivery.String())
	}
	if e.LateCommit != FailLateCommit {
		q.Set("late-commit", e.LateCommit.String())
	}
	s := redact(e.Servers) + "/" + e.Stream
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// checkStreamName rejects names the server would refuse, early and with
// a clear message.
func checkStreamName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("no STREAM in the path")
	case strings.ContainsAny(name, ".*> /\\\t\r\n"):
		return fmt.Errorf("stream name %q has one of . * > / \\ or a space", name)
	}
	return nil
}

// redact hides a password in a server URL (or list of them) for messages.
func redact(servers string) string {
	parts := strings.Split(servers, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
