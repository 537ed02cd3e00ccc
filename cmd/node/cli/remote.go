package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/troupe-dev/troupe/cmd/node/rest"
)

// DefaultServer is the node the client commands talk to unless --server
// or the environment variable ServerEnv says otherwise.
const DefaultServer = "http://127.0.0.1:8081"

// ServerEnv names the environment variable that sets the default of
// --server.
const ServerEnv = "TROUPE_SERVER"

// addServerFlag registers --server on fs, defaulting to $TROUPE_SERVER or
// DefaultServer.
func addServerFlag(fs *flag.FlagSet, server *string) {
	def := DefaultServer
	if env := strings.TrimSpace(os.Getenv(ServerEnv)); env != "" {
		def = env
	}
	fs.StringVar(server, "server", def, "")
}

// clientFlags are the flags every client command has besides --server:
// how to authenticate to the node and how to trust it.
type clientFlags struct {
	server    string
	tokenFile string // --api-token-file
	ca        string // --tls-ca
}

func (f *clientFlags) add(fs *flag.FlagSet) {
	addServerFlag(fs, &f.server)
	fs.StringVar(&f.tokenFile, "api-token-file", "", "")
	fs.StringVar(&f.ca, "tls-ca", "", "")
}

// newClient returns a REST client of the --server, which may omit the
// scheme ("127.0.0.1:8081" is http://127.0.0.1:8081), sending the first
// token of --api-token-file or $TROUPE_API_TOKEN, and trusting --tls-ca
// (else the system's roots) for https. getenv reads the environment.
func newClient(f clientFlags, getenv func(string) string) (*rest.Client, error) {
	server := f.server
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	token, err := clientToken(f.tokenFile, getenv)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{}
	if f.ca != "" {
		pool, err := readCAs(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca %q: %w", f.ca, err)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		hc.Transport = t
	}
	c, err := rest.NewClient(server, hc, rest.WithToken(token))
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	return c, nil
}

// clientToken returns the token a client sends: the first of the file,
// else of the variable; "" for none.
func clientToken(file string, getenv func(string) string) (string, error) {
	var tokens []string
	where := TokenEnv
	if file != "" {
		var err error
		if tokens, err = secretLines(file); err != nil {
			return "", fmt.Errorf("--api-token-file %q: %w", file, err)
		}
		if len(tokens) == 0 {
			return "", fmt.Errorf("--api-token-file %q: no token", file)
		}
		where = fmt.Sprintf("--api-token-file %q", file)
	} else if env := getenv(TokenEnv); env != "" {
		tokens = strings.Split(env, ",")
	}
	if len(tokens) == 0 {
		return "", nil
	}
	token := strings.TrimSpace(tokens[0])
	if err := rest.CheckToken(token); err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	return token, nil
}

// remoteError reports an error of a call to the node at server and
// returns the exit code. The server's refusals (4xx) are the user's
// mistakes: exit 2, with the server's message and a hint. A node that
// cannot be reached, or that fails (5xx), is exit 1.
func (c *command) remoteError(sub, server string, err error) int {
	name := c.prog + " " + sub
	if ae, ok := errors.AsType[*rest.APIError](err); ok {
		if ae.StatusCode == http.StatusUnauthorized {
			fmt.Fprintf(c.stderr, "%s: the node at %s refused the request: %s\nGive the cluster's API token with --api-token-file FILE or %s.\n",
				name, server, ae.Message, TokenEnv)
			return ExitUsage
		}
		if ae.StatusCode >= 400 && ae.StatusCode < 500 && ae.StatusCode != http.StatusServiceUnavailable {
			fmt.Fprintf(c.stderr, "%s: %s\n%s\n", name, ae.Message, c.hintFor(sub, ae))
			return ExitUsage
		}
		fmt.Fprintf(c.stderr, "%s: the node at %s answered %d: %s\n", name, server, ae.StatusCode, ae.Message)
		return ExitFailed
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		fmt.Fprintf(c.stderr, "%s: the node at %s has a certificate this command does not trust: %v\nGive the CA that signed it with --tls-ca FILE.\n",
			name, server, err)
		return ExitFailed
	}
	if ue, ok := errors.AsType[*url.Error](err); ok && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(c.stderr, "%s: cannot reach the node at %s: %v\nIs a node running there? Point at one with --server URL or %s.\n",
			name, server, ue.Err, ServerEnv)
		return ExitFailed
	}
	fmt.Fprintf(c.stderr, "%s: %v\n", name, err)
	return ExitFailed
}

// hintFor says where to look after the server refused a request.
func (c *command) hintFor(sub string, ae *rest.APIError) string {
	switch {
	case ae.StatusCode == http.StatusNotFound:
		return fmt.Sprintf("Run '%s jobs' for the jobs.", c.prog)
	case ae.StatusCode == http.StatusConflict:
		return fmt.Sprintf("Run '%s job ID' for its state.", c.prog)
	case sub == "submit" && (ae.Field() == "pipeline" || strings.HasPrefix(ae.Field(), "params")):
		return fmt.Sprintf("Run '%s pipelines' for the pipelines and their parameters.", c.prog)
	}
	return fmt.Sprintf("Run '%s %s --help' for usage.", c.prog, sub)
}

// parseClientArgs parses the arguments of a client command: its flags
// and exactly the positional arguments named by names (for errors). It
// returns flag.ErrHelp for -h or --help.
func parseClientArgs(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	positional, err := parseInterleaved(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(positional) < len(names):
		return nil, fmt.Errorf("missing %s", names[len(positional)])
	case len(positional) == len(names):
		return positional, nil
	case len(names) == 0:
		return nil, fmt.Errorf("unexpected argument %q", positional[0])
	}
	last := len(names) - 1
	return nil, fmt.Errorf("unexpected argument %q after %s %q", positional[last+1], names[last], positional[last])
}

// clientCmd is a command that calls a node's REST API.
type clientCmd struct {
	usage string
	args  []string               // the names of its positional arguments
	flags func(fs *flag.FlagSet) // registers its own flags; nil: none
	// run calls the node and returns the exit code.
	run func(rc remoteCall, args []string) int
}

// remoteCall is one client command's connection to its node.
type remoteCall struct {
	c   *command
	sub string
	cl  *rest.Client
}

// fail reports err of a call and returns the exit code.
func (rc remoteCall) fail(err error) int { return rc.c.remoteError(rc.sub, rc.cl.BaseURL(), err) }

// runClient parses a client command's arguments (with --server), handles
// --help and usage errors, and runs it.
func (c *command) runClient(sub string, args []string, cmd clientCmd) int {
	fs := newFlagSet(sub)
	var cf clientFlags
	cf.add(fs)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	positional, err := parseClientArgs(fs, args, cmd.args...)
	if errors.Is(err, flag.ErrHelp) {
		c.printUsage(cmd.usage)
		return ExitOK
	}
	if err != nil {
		return c.usageError(sub, err)
	}
	cl, err := newClient(cf, c.getenv)
	if err != nil {
		return c.usageError(sub, err)
	}
	return cmd.run(remoteCall{c: c, sub: sub, cl: cl}, positional)
}
