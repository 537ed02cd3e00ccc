// Package natsembed runs a NATS server with JetStream inside a troupe
// node (`node start --nats-embedded`), so that a cluster's store needs no
// external service: the embedded servers of three nodes, routed to each
// other, form one JetStream cluster, whose buckets with three replicas
// survive the loss of any one node. Only the node command (and tests)
// import it: it links the whole nats-server.
//
// Config.Security secures a server: TLS with client certificates of a
// CA on the client port and the routes, and a token or a user and
// password that clients and routes must present; a server without them
// never joins the cluster's routes.
//
// # Caveats
//
// A JetStream cluster needs a majority of its servers to elect the
// leaders that answer: the first node of three serves no bucket until a
// second one has joined, so stores over embedded servers bind their
// buckets lazily (natsstore.Store). Give every server the same Routes
// (all of the cluster's route addresses, its own included); a server
// that knows only a seed finds the others through it, but the cluster
// then takes seconds longer to form.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/troupe-dev/troupe/persistence/natsstore"
)

// ErrConfig is returned by Start for an invalid Config; the detail names
// the field.
var ErrConfig = errors.New("natsembed: invalid configuration")

// ErrStart is returned by Start when the server cannot start: an address
// in use, a store directory it cannot use, or no readiness in time.
var ErrStart = errors.New("natsembed: server did not start")

// DefaultClusterName is the NATS cluster name every embedded server of
// a troupe cluster shares.
const DefaultClusterName = "troupe"

// readyTimeout bounds the wait for the server to accept clients (about
// 30 ms measured).
const readyTimeout = 10 * time.Second

// Config configures an embedded server.
type Config struct {
	// Name is the server's name, unique and stable in the NATS cluster
	// (JetStream knows its peers by name): the node's name.
	Name string
	// StoreDir is where JetStream keeps its streams, a directory of the
	// node's own (such as <data-dir>/nats); a restarted node finds its
	// replicas there.
	StoreDir string
	// Listen is the client address, host:port; port 0 lets the OS
	// choose (ClientURL tells which).
	Listen string
	// Cluster is the route address other servers connect to, host:port
	// (port 0: any). Empty: a standalone server, without routes.
	Cluster string
	// Routes are the route addresses (host:port) of the cluster's
	// servers, its own included or not; required with Cluster.
	Routes []string
	// ClusterName is the NATS cluster's name. Default DefaultClusterName.
	ClusterName string
	// SyncAlways makes JetStream fsync every write before it answers, as
	// the file store does. By default it syncs every two minutes: a
	// replicated bucket is then safe against the loss of a minority of
	// machines, a single server against a crash of its process but not
	// of its machine.
	SyncAlways bool
	// Logger receives the server's log: notices at debug level, warnings
	// and errors as such. Nil discards it.
	Logger *slog.Logger
	// Security is what clients and routes must present; the zero value
	// lets anyone who reaches the ports in. With CertFile, KeyFile and
	// CAFile (all three) the server speaks only TLS, on its client port
	// and its routes, and requires a certificate signed by the CA of
	// every client and every route (mutual TLS); the certificate must
	// name the hosts dialed (Listen's, or 127.0.0.1 when it listens on
	// every interface, and Cluster's). With a Token, or a User and
	// Password, clients must present them, and so must routes (the
	// token as a route password): a server without them cannot join
	// the cluster. An nkey or creds file is refused: those need an
	// external NATS. The node's own store connection presents the same
	// (natsstore.Config.Security).
	Security natsstore.Security
}

// Server is a running embedded server.
type Server struct {
	srv       *server.Server
	closeOnce sync.Once
}

// Start starts a server and returns once it accepts clients. Its
// JetStream may still wait for a majority of its cluster.
func Start(cfg Config) (*Server, error) {
	opts, err := options(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkFree(cfg.Name, "Listen", cfg.Listen); err != nil {
		return nil, err
	}
	if err := checkFree(cfg.Name, "Cluster", cfg.Cluster); err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStart, cfg.Name, err)
	}
	if cfg.Logger != nil {
		srv.SetLoggerV2(&logger{log: cfg.Logger.With("component", "nats")}, false, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("%w: %s: not accepting clients on %s within %v (is the address in use?)", ErrStart, cfg.Name, cfg.Listen, readyTimeout)
	}
	return &Server{srv: srv}, nil
}

// checkFree fails at once if addr (with a port) cannot be bound: the
// server would only log it and never become ready.
func checkFree(name, field, addr string) error {
	if addr == "" {
		return nil
	}
	if _, port, _ := hostPort(addr); port <= 0 {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: %s: %s %s: %v", ErrStart, name, field, addr, err)
	}
	return ln.Close()
}

// options turns cfg into the server's options, checking each field.
func options(cfg Config) (*server.Options, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: Name is empty", ErrConfig)
	}
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("%w: StoreDir is empty", ErrConfig)
	}
	host, port, err := hostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("%w: Listen %q: %v", ErrConfig, cfg.Listen, err)
	}
	opts := &server.Options{ServerName: cfg.Name, Host: host, Port: port,
		JetStream: true, StoreDir: cfg.StoreDir, NoSigs: true, NoLog: cfg.Logger == nil,
		// A lost route is retried every second: report the first failure
		// and then one in 30, not each.
		ConnectErrorReports: 30, ReconnectErrorReports: 30, SyncAlways: cfg.SyncAlways}
	switch {
	case cfg.Cluster == "" && len(cfg.Routes) > 0:
		return nil, fmt.Errorf("%w: Routes without Cluster, the server's own route address", ErrConfig)
	case cfg.Cluster != "" && len(cfg.Routes) == 0:
		return nil, fmt.Errorf("%w: Cluster %q without Routes: give the route addresses of the cluster's servers", ErrConfig, cfg.Cluster)
	case cfg.Cluster == "":
		return opts, secure(cfg, opts)
	}
	chost, cport, err := hostPort(cfg.Cluster)
	if err != nil {
		return nil, fmt.Errorf("%w: Cluster %q: %v", ErrConfig, cfg.Cluster, err)
	}
	name := cfg.ClusterName
	if name == "" {
		name = DefaultClusterName
	}
	opts.Cluster = server.ClusterOpts{Name: name, Host: chost, Port: cport}
	for _, r := range cfg.Routes {
		if _, p, err := hostPort(r); err != nil || p <= 0 {
			return nil, fmt.Errorf("%w: Routes: %q: want HOST:PORT with a port", ErrConfig, r)
		}
		opts.Routes = append(opts.Routes, server.RoutesFromStr("nats://"+r)...)
	}
	return opts, secure(cfg, opts)
}

// hostPort splits host:port; port 0 becomes the server's "any port" (-1:
// 0 would mean its default).
func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("want HOST:PORT")
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	if port == 0 {
		return host, server.RANDOM_PORT, nil
	}
	return host, int(port), nil
}

// ClientURL returns the URL clients connect to, such as
// "nats://127.0.0.1:4222", with the port bound; 127.0.0.1 when the
// server listens on every interface. Its scheme is nats:// with TLS too:
// the client's own options (natsstore.Security) ask for TLS, and nats.go
// upgrades to it when the server requires it.
func (s *Server) ClientURL() string {
	addr := s.srv.Addr()
	if addr == nil {
		return s.srv.ClientURL()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return "nats://" + net.JoinHostPort(dialHost(addr.String()), port)
}

// ClusterAddr returns the route address bound, host:port, or "" for a
// standalone server.
func (s *Server) ClusterAddr() string {
	if a := s.srv.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Routes returns the number of route connections to other servers
// (NATS pools several per peer): 0 for a server alone. A server the
// others refuse may count, for a moment, a route it dialed: it
// registers its half on the other end's greeting, before that end
// checks its TLS and credentials and refuses it.
func (s *Server) Routes() int { return s.srv.NumRoutes() }

// Name returns the server's name.
func (s *Server) Name() string { return s.srv.Name() }

// Close shuts the server down and waits for it; it is safe to call more
// than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	})
	return nil
}

// logger passes the server's log to slog.
type logger struct{ log *slog.Logger }

func (l *logger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *logger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *logger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *logger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *logger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *logger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
