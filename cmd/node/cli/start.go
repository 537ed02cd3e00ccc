package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/troupe-dev/troupe/cmd/node/dashboard"
	"github.com/troupe-dev/troupe/cmd/node/metrics"
	"github.com/troupe-dev/troupe/cmd/node/rest"
)

// RunningNode is a started cluster node, as node start drives it.
// node start calls Service's methods from HTTP goroutines, concurrently;
// the others from one goroutine: Leave at most once, then Close once.
type RunningNode interface {
	// ActorAddr and GossipAddr return the addresses the node's Proto.Actor
	// remote and memberlist are bound to, with the real ports.
	ActorAddr() string
	GossipAddr() string
	// Service is the node's job service and its view of the coordinator,
	// which node start serves over HTTP.
	Service() rest.Service
	// Leave tells the cluster the node is going (memberlist's Leave), so
	// the others know at once, waiting at most timeout.
	Leave(timeout time.Duration) error
	// Close stops everything of the node and waits for it.
	Close() error
}

// StartFunc starts a node from cfg and returns once it is ready: it has
// started a cluster or sent its join (seeds are retried in the
// background), and can run subtasks. If ctx is done first (a stop
// signal), it gives up, releases what it started, and returns an error.
type StartFunc func(ctx context.Context, cfg StartConfig) (RunningNode, error)

// PortFile is what node start writes to --port-file once the node is
// ready: the name and the bound addresses (host:port), the real ports
// where 0 was asked. Tests and scripts read it instead of fixing ports.
type PortFile struct {
	Name   string `json:"name"`
	Actor  string `json:"actor"`
	Gossip string `json:"gossip"`
	HTTP   string `json:"http"`
	// NATS is the embedded NATS server's client URL (--nats-embedded).
	NATS string `json:"nats,omitempty"`
	// Store is the URL of the store the node uses.
	Store string `json:"store,omitempty"`
}

// A RunningNode may also say where its store and embedded NATS server
// are, for the log and the port file.
type (
	storeURLer interface{ StoreURL() string }
	natsURLer  interface{ NATSURL() string }
)

// How long a stopping node waits for its leave to spread, and for the
// HTTP requests in flight.
const (
	leaveTimeout    = 5 * time.Second
	shutdownTimeout = 10 * time.Second
)

const startUsage = `Usage: node start [--name NAME] [--bind HOST:PORT] [--gossip HOST:PORT]
                  [--http HOST:PORT] [--join HOST:PORT[,...]] [--slots N]
                  [--memory SIZE] [--gc-percent N|off]
                  [--data-dir DIR] [--store URL] [--nats-embedded
                  [--nats-listen HOST:PORT] [--nats-cluster HOST:PORT
                  --nats-routes HOST:PORT,...]] [--port-file FILE]
                  [--jobstore-max-capacity N] [--jobstore-expiration-time D]
                  [--log-format text|json] [--log-level LEVEL] [--demo]
                  [--gossip-key-file FILE] [--api-token-file FILE]
                  [--tls-cert FILE --tls-key FILE --tls-ca FILE]
                  [--nats-tls-ca FILE] [--nats-tls-cert FILE --nats-tls-key FILE]
                  [--nats-token-file FILE | --nats-user NAME
                  [--nats-password-file FILE] | --nats-nkey-file FILE |
                  --nats-creds FILE]

Starts a cluster node and runs until SIGINT or SIGTERM, which make it
leave the cluster (the others learn it at once) and exit 0. Nodes started
with the same --join list form a cluster by themselves; a node without
--join starts one. Every node serves the REST API on --http and forwards
job requests to the coordinator (the oldest node). Everything binds
loopback unless told otherwise.

Every node also serves, on --http, a web dashboard at / (members, jobs,
each job's graph with rates, backpressure and watermarks, checkpoints,
exceptions; cancel and savepoint buttons) and its metrics at /metrics in
the Prometheus format (docs/metrics.md). With --demo the node submits a
continuous demo job once it is ready and prints the dashboard's address:

  node start --demo

Flags:
  --name NAME              the node's name, unique in the cluster: letters,
                           digits, '.', '_', '-' (default: the host name and
                           the HTTP port, such as box-8081)
  --bind HOST:PORT         the address of the node's actor system, which the
                           other nodes dial (default 127.0.0.1:0: any port)
  --gossip HOST:PORT       the address memberlist binds, UDP and TCP; HOST is
                           an IP address (default 127.0.0.1:7946)
  --http HOST:PORT         the REST API's address (default 127.0.0.1:8081)
  --join HOST:PORT,...     gossip addresses of seed nodes; give every node
                           the same list (default: none, a new cluster)
  --slots N                how many subtasks the node runs at once
                           (default: the number of CPUs)
  --memory SIZE            the node's memory budget, such as 512MiB or 2GiB
                           (at least 16MiB): the Go runtime's soft memory
                           limit, from which the credits, batch bytes, bbolt
                           cache and async ceiling of the jobs this node
                           coordinates are derived (see docs/operations.md;
                           give every node the same; default: no budget)
  --gc-percent N|off       the garbage collector's target, as GOGC (default:
                           800 with --memory unless GOGC is set, else the
                           runtime's, paced with an 8 MiB heap reserve
                           unless a valid GOGC or a GOMEMLIMIT limit is
                           set; any N turns the reserve off); off collects
                           only near --memory
  --data-dir DIR           the node's own files (default ./troupe-data/NAME)
  --store URL              where checkpoints, savepoints and job records go,
                           a place every node reaches: file://DIR, such as a
                           shared mount (default file://DATA-DIR/store), or
                           NATS JetStream: nats://HOST:PORT[,HOST:PORT...]
                           [?replicas=N&prefix=NAME] (default with
                           --nats-embedded: the embedded server, with 3
                           replicas when --nats-routes names 3 or more)
  --nats-embedded          run a NATS server with JetStream in the node,
                           storing under DATA-DIR/nats: a cluster's store
                           without an external service
  --nats-listen HOST:PORT  the embedded server's client address (default
                           127.0.0.1:4222)
  --nats-cluster HOST:PORT the embedded server's route address, which the
                           other nodes' servers connect to (default: none,
                           a standalone server)
  --nats-routes HOST:PORT,...
                           route addresses of all the embedded servers of
                           the cluster; give every node the same list
  --jobstore-max-capacity N
                           keep at most N jobs that have ended (the newest),
                           in the store and in memory (default 1000)
  --jobstore-expiration-time D
                           forget a job D after it ended (default 1h); a
                           forgotten job is unknown to the API, its
                           checkpoints and savepoints stay
  --port-file FILE         once the node is ready, write its name and bound
                           addresses there as JSON:
                           {"name","actor","gossip","http","nats","store"}
  --log-format FORMAT      text (the default) or json, on standard error
  --log-level LEVEL        debug, info (the default), warn or error
  --demo                   once ready, run the demo job (the "demo"
                           pipeline, checkpointed every 2 s) and print
                           the dashboard's address
  -h, --help               show this help

Security (all off by default; a node that binds beyond loopback without
them warns once on standard error, naming the address):
  --gossip-key-file FILE   encrypt gossip: base64 AES keys of 16, 24 or 32
                           bytes, one per line, the first the one the node
                           sends with (default: $TROUPE_GOSSIP_KEY, keys
                           comma separated); a node without one of the
                           cluster's keys cannot join. SIGHUP reads the
                           file again, to rotate keys without a restart
  --tls-cert FILE          the node's certificate (PEM), signed by --tls-ca,
                           naming the hosts of --bind and --http; for
                           server and client authentication
  --tls-key FILE           its private key (PEM)
  --tls-ca FILE            the CA certificates (PEM) that sign the nodes':
                           with the three, the nodes talk mutual TLS (a
                           node whose certificate the CA did not sign
                           gets no work) and the REST API is HTTPS
  --api-token-file FILE    the REST API's bearer tokens, one per line (any
                           is accepted: several for a rotation); every
                           endpoint but /healthz then needs one (default:
                           $TROUPE_API_TOKEN, comma separated)

NATS security (a nats:// --store's connection; with --nats-embedded also
what the embedded server requires of its clients and routes):
  --nats-tls-ca FILE       the CA certificates (PEM) that sign the servers'
                           (and, embedded, the clients' and routes')
  --nats-tls-cert FILE     this node's certificate (PEM) for mutual TLS;
                           embedded: the server's too, naming the hosts of
                           --nats-listen (127.0.0.1 if it listens
                           everywhere) and --nats-cluster; the embedded
                           server needs the three --nats-tls-* together
  --nats-tls-key FILE      its private key (PEM)
  --nats-token-file FILE   a token, on one line (default:
                           $TROUPE_NATS_TOKEN)
  --nats-user NAME         a user, whose password is in
  --nats-password-file FILE (default: $TROUPE_NATS_PASSWORD)
  --nats-nkey-file FILE    an nkey seed (external NATS only)
  --nats-creds FILE        a .creds file: user JWT and seed (external NATS
                           in operator mode only)
                           One kind of credentials at most; the variables
                           apply when no credentials flag is given.

Port 0 in an address lets the OS choose; --port-file tells which it chose.
Secrets are read from files or the environment, never from the command
line, which every user of the machine can see.

Exit codes: 0 the node left after a signal, 1 it could not start (an
address in use, a store it cannot open) or failed, 2 usage error.
`

func (c *command) startNode(args []string) int {
	cfg, err := parseStartEnv(args, c.getenv)
	if errors.Is(err, flag.ErrHelp) {
		c.printUsage(startUsage)
		return ExitOK
	}
	if err != nil {
		return c.usageError("start", err)
	}
	if c.start == nil {
		fmt.Fprintf(c.stderr, "%s start: this program has no cluster runtime (build it with cli.WithStart)\n", c.prog)
		return ExitFailed
	}
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s start: --http %s: %v\n", c.prog, cfg.HTTPListen, err)
		return ExitFailed
	}
	defer ln.Close() // once served, the server closes it; again is harmless
	if err := cfg.complete(ln.Addr().String(), c.hostname); err != nil {
		fmt.Fprintf(c.stderr, "%s start: %v\n", c.prog, err)
		return ExitFailed
	}
	cfg.Logger, cfg.Registry = newLogger(c.stderr, cfg.LogFormat, cfg.LogLevel), c.reg
	warnInsecure(cfg.Logger, &cfg)
	if err := removeStale(cfg.PortFile); err != nil {
		fmt.Fprintf(c.stderr, "%s start: --port-file: %v\n", c.prog, err)
		return ExitFailed
	}
	signals, stop := c.notify()
	defer stop()
	node, code := c.bootNode(cfg, signals)
	if node == nil {
		return code
	}
	return c.serveNode(cfg, node, ln, signals)
}

// bootNode starts the node; a stop signal meanwhile cancels the start. A
// nil node comes with the exit code.
func (c *command) bootNode(cfg StartConfig, signals <-chan os.Signal) (RunningNode, int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type started struct {
		node RunningNode
		err  error
	}
	done := make(chan started, 1)
	go func() {
		node, err := c.start(ctx, cfg)
		done <- started{node, err}
	}()
	var r started
	select {
	case r = <-done:
	case s := <-signals:
		cancel()
		if r = <-done; r.err == nil {
			closeNode(cfg.Logger, r.node)
		}
		cfg.Logger.Info("stopped before the node was ready", "signal", s.String())
		return nil, ExitOK
	}
	if r.err != nil {
		cfg.Logger.Error("the node could not start", "node", cfg.Name, "err", r.err)
		return nil, ExitFailed
	}
	return r.node, ExitOK
}

// serveNode serves the REST API of a ready node on ln, writes the port
// file, and waits for a stop signal (exit 0) or for the HTTP server to
// fail (exit 1); either way the node leaves and closes.
func (c *command) serveNode(cfg StartConfig, node RunningNode, ln net.Listener, signals <-chan os.Signal) int {
	log := cfg.Logger
	var tokens *rest.Tokens
	if len(cfg.Security.APITokens) > 0 {
		tokens = rest.NewTokens(cfg.Security.APITokens...)
	}
	srv := &http.Server{
		Handler:           nodeHandler(cfg, node, tokens),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if tc := cfg.Security.serverTLS(); tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	code := ExitOK
	pf := PortFile{Name: cfg.Name, Actor: node.ActorAddr(), Gossip: node.GossipAddr(), HTTP: cfg.HTTPAddr, Store: cfg.Store}
	if n, ok := node.(storeURLer); ok {
		pf.Store = n.StoreURL()
	}
	if n, ok := node.(natsURLer); ok {
		pf.NATS = n.NATSURL()
	}
	if err := writePortFile(cfg.PortFile, pf); err != nil {
		log.Error("cannot write the port file", "path", cfg.PortFile, "err", err)
		code = ExitFailed
	} else {
		log.Info("node ready", "node", pf.Name, "http", pf.HTTP, "dashboard", cfg.Security.scheme()+"://"+pf.HTTP+"/",
			"actor", pf.Actor, "gossip", pf.Gossip, "slots", cfg.Slots, "store", pf.Store, "nats", pf.NATS, "data_dir", cfg.DataDir)
		stopDemo := c.startDemo(cfg)
		code = c.awaitStop(&cfg, node, tokens, signals, served)
		stopDemo()
	}
	c.stopNode(cfg, node, srv, served)
	return code
}

// metricsSource is a RunningNode that exports metrics (node start's
// cluster node does).
type metricsSource interface {
	Metrics() metrics.Config
}

// nodeHandler is what a node serves on its HTTP address: the REST API
// (and its JSON 404 for any other path), the dashboard at / and, if the
// node has them, its metrics at /metrics. With tokens (nil: none),
// /metrics needs one as the API does; the dashboard's files, which hold
// no data, do not.
func nodeHandler(cfg StartConfig, node RunningNode, tokens *rest.Tokens) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", rest.NewHandler(node.Service(), restOptions(cfg, tokens)...))
	dash := dashboard.Handler()
	mux.Handle("GET /{$}", dash)
	mux.Handle("GET /dashboard/", dash)
	if m, ok := node.(metricsSource); ok {
		mc := m.Metrics()
		mc.Logger = cfg.Logger
		mux.Handle("GET /metrics", rest.Protect(tokens, metrics.NewHandler(mc)))
	}
	return mux
}

// awaitStop waits for a stop signal (exit 0) or for the HTTP server to
// fail (exit 1), reading the key and token files again on each SIGHUP.
func (c *command) awaitStop(cfg *StartConfig, node RunningNode, tokens *rest.Tokens, signals <-chan os.Signal, served chan error) int {
	hups, stop := c.notifyReload()
	defer stop()
	for {
		select {
		case s := <-signals:
			cfg.Logger.Info("leaving the cluster", "signal", s.String())
			return ExitOK
		case err := <-served:
			cfg.Logger.Error("the HTTP server failed", "addr", cfg.HTTPAddr, "err", err)
			served <- err // for stopNode, which waits for the server
			return ExitFailed
		case <-hups:
			reloadSecrets(cfg, node, tokens)
		}
	}
}

// restOptions configures the REST API as the security flags say: tokens
// (nil: none) required, forwards to the coordinator over HTTPS.
func restOptions(cfg StartConfig, tokens *rest.Tokens) []rest.Option {
	opts := []rest.Option{rest.WithLogger(cfg.Logger)}
	if tokens != nil {
		opts = append(opts, rest.RequireTokens(tokens))
	}
	if cfg.Security.TLS != nil {
		opts = append(opts, rest.WithForwardTLS(cfg.Security.forwardTLS()))
	}
	return opts
}

// stopNode leaves the cluster, drains the HTTP server, closes the node
// and removes the port file.
func (c *command) stopNode(cfg StartConfig, node RunningNode, srv *http.Server, served <-chan error) {
	log := cfg.Logger
	if err := node.Leave(leaveTimeout); err != nil {
		log.Warn("leave not confirmed; the others will find the node gone", "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("HTTP requests still in flight were cut", "err", err)
		srv.Close()
	}
	<-served
	closeNode(log, node)
	if cfg.PortFile != "" {
		if err := os.Remove(cfg.PortFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("cannot remove the port file", "path", cfg.PortFile, "err", err)
		}
	}
}

func closeNode(log *slog.Logger, node RunningNode) {
	if err := node.Close(); err != nil {
		log.Error("closing the node", "err", err)
	}
}

// removeStale removes a port file left by an earlier run, so that whoever
// waits for it does not read old addresses.
func removeStale(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// writePortFile writes pf to path atomically (a temporary file in the same
// directory, renamed), so that a reader sees all of it or nothing.
func writePortFile(path string, pf PortFile) error {
	if path == "" {
		return nil
	}
	data, err := json.Marshal(pf)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// newLogger returns the node's logger: format "json" or text, on w.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
