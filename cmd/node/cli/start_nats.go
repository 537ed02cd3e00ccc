package cli

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"

	"github.com/troupe-dev/troupe/persistence/natsstore"
)

// The environment variables of the NATS secrets; a file flag, when
// given, wins over its variable.
const (
	// NATSTokenEnv holds the token to present to the NATS servers (and,
	// with --nats-embedded, the one the embedded server requires):
	// --nats-token-file.
	NATSTokenEnv = "TROUPE_NATS_TOKEN"
	// NATSPasswordEnv holds the password of --nats-user:
	// --nats-password-file.
	NATSPasswordEnv = "TROUPE_NATS_PASSWORD"
)

// natsFlags are the raw values of the flags that secure the store's
// NATS connection and the embedded server.
type natsFlags struct {
	ca, cert, key           string
	tokenFile, user, pwFile string
	nkey, creds             string
}

func addNATSSecurityFlags(fs *flag.FlagSet, raw *natsFlags) {
	fs.StringVar(&raw.ca, "nats-tls-ca", "", "")
	fs.StringVar(&raw.cert, "nats-tls-cert", "", "")
	fs.StringVar(&raw.key, "nats-tls-key", "", "")
	fs.StringVar(&raw.tokenFile, "nats-token-file", "", "")
	fs.StringVar(&raw.user, "nats-user", "", "")
	fs.StringVar(&raw.pwFile, "nats-password-file", "", "")
	fs.StringVar(&raw.nkey, "nats-nkey-file", "", "")
	fs.StringVar(&raw.creds, "nats-creds", "", "")
}

// natsSecurityFlagNames names the flag of each field of
// natsstore.Security whose value is a file.
var natsSecurityFlagNames = map[string]string{
	"CAFile": "--nats-tls-ca", "CertFile": "--nats-tls-cert", "KeyFile": "--nats-tls-key",
	"User": "--nats-user", "NKeyFile": "--nats-nkey-file", "CredsFile": "--nats-creds",
}

// given lists the flags given, in a fixed order.
func (raw natsFlags) given() []string {
	var out []string
	for _, f := range []struct {
		name, v string
	}{{"--nats-tls-ca", raw.ca}, {"--nats-tls-cert", raw.cert}, {"--nats-tls-key", raw.key},
		{"--nats-token-file", raw.tokenFile}, {"--nats-user", raw.user}, {"--nats-password-file", raw.pwFile},
		{"--nats-nkey-file", raw.nkey}, {"--nats-creds", raw.creds}} {
		if f.v != "" {
			out = append(out, f.name)
		}
	}
	return out
}

// setNATSSecurity reads and checks the NATS security flags (after
// setStore and setNATS): they secure the store's connection when it is
// nats://, and the embedded server with --nats-embedded, which then
// requires of its clients and routes what its own node presents. The
// error names the flag (or variable) and its file.
func (cfg *StartConfig) setNATSSecurity(raw natsFlags, getenv func(string) string) error {
	if cfg.NATS == nil && !strings.HasPrefix(cfg.Store, "nats://") {
		if g := raw.given(); len(g) > 0 {
			return fmt.Errorf("%s: needs a nats:// --store or --nats-embedded", g[0])
		}
		return nil
	}
	sec := natsstore.Security{CAFile: raw.ca, CertFile: raw.cert, KeyFile: raw.key,
		User: raw.user, NKeyFile: raw.nkey, CredsFile: raw.creds}
	where := map[string]string{}
	if err := readNATSSecrets(raw, getenv, &sec, where); err != nil {
		return err
	}
	err := sec.Check()
	if err == nil && cfg.NATS != nil {
		err = sec.CheckServer(cfg.NATS.dialedHosts()...)
	}
	if err != nil {
		return natsFlagError(err, where)
	}
	cfg.NATSSecurity = sec
	return nil
}

// readNATSSecrets reads the token and the password from their files, or
// from the environment when no credentials flag is given, and records
// where each came from.
func readNATSSecrets(raw natsFlags, getenv func(string) string, sec *natsstore.Security, where map[string]string) error {
	switch {
	case raw.tokenFile != "":
		t, err := oneSecret(raw.tokenFile)
		if err != nil {
			return fmt.Errorf("--nats-token-file %q: %w", raw.tokenFile, err)
		}
		sec.Token, where["Token"] = t, fmt.Sprintf("--nats-token-file %q", raw.tokenFile)
	case raw.user == "" && raw.nkey == "" && raw.creds == "" && getenv(NATSTokenEnv) != "":
		sec.Token, where["Token"] = strings.TrimSpace(getenv(NATSTokenEnv)), NATSTokenEnv
	}
	switch {
	case raw.pwFile != "":
		if raw.user == "" {
			return fmt.Errorf("--nats-password-file %q: needs --nats-user", raw.pwFile)
		}
		p, err := oneSecret(raw.pwFile)
		if err != nil {
			return fmt.Errorf("--nats-password-file %q: %w", raw.pwFile, err)
		}
		sec.Password, where["Password"] = p, fmt.Sprintf("--nats-password-file %q", raw.pwFile)
	case raw.user != "":
		if getenv(NATSPasswordEnv) == "" {
			return fmt.Errorf("--nats-user %q: needs --nats-password-file or $%s", raw.user, NATSPasswordEnv)
		}
		sec.Password, where["Password"] = strings.TrimSpace(getenv(NATSPasswordEnv)), NATSPasswordEnv
	}
	return nil
}

// oneSecret reads a file that holds one secret (blank lines and '#'
// comments aside).
func oneSecret(path string) (string, error) {
	lines, err := secretLines(path)
	switch {
	case err != nil:
		return "", err
	case len(lines) != 1:
		return "", fmt.Errorf("holds %d secrets, want one line", len(lines))
	}
	return lines[0], nil
}

// natsFlagError names the flag or variable of the field a
// natsstore.SecurityError is about, and its file.
func natsFlagError(err error, where map[string]string) error {
	var se *natsstore.SecurityError
	if !errors.As(err, &se) {
		return err
	}
	name := where[se.Field]
	if name == "" {
		name = natsSecurityFlagNames[se.Field]
		if se.Path != "" {
			name += fmt.Sprintf(" %q", se.Path)
		}
	}
	if name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", name, se.Err)
}

// dialedHosts are the hosts the embedded server's clients and routes
// dial, which its TLS certificate must name: the client address's host
// (127.0.0.1 when it listens on every interface: the node dials its own
// server there), and the route address's unless unspecified.
func (e *EmbeddedNATS) dialedHosts() []string {
	listen, _, _ := net.SplitHostPort(e.Listen)
	if unspecified(listen) {
		listen = "127.0.0.1"
	}
	hosts := []string{listen}
	if h, _, err := net.SplitHostPort(e.Cluster); err == nil && !unspecified(h) && h != listen {
		hosts = append(hosts, h)
	}
	return hosts
}
