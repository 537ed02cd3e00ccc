package cli

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/persistence/natsstore"
)

// Defaults of node start's flags.
const (
	DefaultBind   = "127.0.0.1:0"
	DefaultGossip = "127.0.0.1:7946"
	DefaultHTTP   = "127.0.0.1:8081"
	// DefaultDataRoot is the directory under which a node without
	// --data-dir keeps its files, in a directory named after the node.
	DefaultDataRoot = "troupe-data"
	// DefaultNATSListen is the client address of an embedded NATS
	// server: NATS's own port, on loopback.
	DefaultNATSListen = "127.0.0.1:4222"
)

// StartConfig is a validated node start command line: what a node needs
// to start. The command parses and checks the flags, binds the HTTP
// listener, then fills the fields that depend on its port (HTTPAddr and
// the defaults of Name, DataDir and Store) and those marked "set by the
// command", and hands the config to the StartFunc.
type StartConfig struct {
	// Name is the node's name, unique in the cluster (--name): letters,
	// digits, '.', '_' and '-', at most cluster.MaxFieldLen bytes. Default:
	// the host name and the HTTP port, "<host>-<port>" (the port bound
	// when --http asks for port 0), so that nodes on one machine differ.
	Name string
	// ActorAddr is the host:port of the node's Proto.Actor remote (--bind);
	// port 0 lets the OS choose. Its host is what the other nodes dial, so
	// it is neither empty nor unspecified (0.0.0.0, ::). Default
	// DefaultBind.
	ActorAddr string
	// GossipAddr is the host:port memberlist binds, UDP and TCP (--gossip).
	// The host is an IP address (empty or unspecified: every interface);
	// port 0 lets the OS choose. Default DefaultGossip, memberlist's own
	// port, so that the first node of a quick start has a known address
	// to --join; more nodes on the same machine set other ports.
	GossipAddr string
	// HTTPListen is the host:port the REST API listens on (--http); port 0
	// lets the OS choose. An empty host listens on every interface.
	// Default DefaultHTTP.
	HTTPListen string
	// HTTPAddr is the REST API's address as the other nodes reach it (they
	// forward job requests there): the bound address, with the real port;
	// when HTTPListen's host is empty or unspecified, ActorAddr's host
	// takes its place. Set by the command.
	HTTPAddr string
	// Join lists the gossip addresses (host:port) of seed nodes (--join,
	// comma separated or repeated). Give every node the same list; empty
	// starts a new cluster.
	Join []string
	// Slots is how many subtasks the node runs at once (--slots), 1 to
	// cluster.MaxSlots. Default runtime.NumCPU().
	Slots int
	// Memory is the node's memory budget in bytes (--memory), at least
	// actors.MinMemory; 0 (the default): none. See actors.Config.Memory.
	Memory int64
	// GCPercent is the garbage collector's target (--gc-percent): a
	// percentage, actors.GCOff, or 0 (the default). See
	// actors.Config.GCPercent.
	GCPercent int
	// DataDir is the node's own directory (--data-dir), absolute: local
	// state (bbolt), logs. Default DefaultDataRoot/<Name> under the working
	// directory.
	DataDir string
	// Store is the URL of the store of checkpoints, savepoints and job
	// records, which every node must reach (--store): file://DIR with DIR
	// made absolute (a directory on one machine or a shared mount), or
	// nats://HOST:PORT[,HOST:PORT…][?prefix=NAME&replicas=N] (NATS
	// JetStream, see cluster.OpenStore). Default file://<DataDir>/store,
	// enough for nodes on one machine; with --nats-embedded, empty after
	// complete: the embedded server's, which the StartFunc knows once it
	// listens (EmbeddedNATS.StoreURL).
	Store string
	// StoreDir is the directory of a file:// Store.
	StoreDir string
	// NATS, when set (--nats-embedded), is the NATS server with JetStream
	// the node runs inside itself, for a store that needs no external
	// service.
	NATS *EmbeddedNATS
	// PortFile, if set, is where the command writes the node's addresses
	// as JSON (a PortFile) once it is ready (--port-file).
	PortFile string
	// LogFormat is "text" or "json" (--log-format), LogLevel the least
	// level logged (--log-level). Default text, info.
	LogFormat string
	LogLevel  slog.Level
	// Logger writes to standard error in LogFormat at LogLevel: the node
	// logs there. Set by the command.
	Logger *slog.Logger
	// Registry holds the pipelines the node can build. Set by the command.
	Registry *actors.Registry
	// Demo: once ready, the node submits the demo job (DemoPipeline) and
	// prints where its dashboard is (--demo).
	Demo bool
	// Security is the node's gossip keys, TLS and API tokens (see
	// Security); all off by default.
	Security Security
	// EndedJobs is how long the cluster keeps jobs that have ended
	// (--jobstore-max-capacity, --jobstore-expiration-time, as Flink's
	// jobstore.max-capacity and jobstore.expiration-time); zero fields
	// take cluster.DefaultEndedJobs's values.
	EndedJobs cluster.EndedJobs
	// NATSSecurity is the TLS and credentials of the store's NATS
	// connection (a nats:// Store) and, with NATS, what the embedded
	// server requires of its clients and routes (--nats-tls-ca,
	// --nats-tls-cert, --nats-tls-key, --nats-token-file or
	// $TROUPE_NATS_TOKEN, --nats-user with --nats-password-file or
	// $TROUPE_NATS_PASSWORD, --nats-nkey-file, --nats-creds), checked;
	// off by default.
	NATSSecurity natsstore.Security
}

// EmbeddedNATS is the NATS server of node start --nats-embedded. Three
// nodes whose servers route to each other make one JetStream cluster,
// whose buckets (three replicas) survive the loss of any one node.
type EmbeddedNATS struct {
	// Listen is the server's client address (--nats-listen); port 0 lets
	// the OS choose. Default DefaultNATSListen.
	Listen string
	// Cluster is the server's route address, which the other nodes'
	// servers connect to (--nats-cluster). Empty: a standalone server
	// (a single node).
	Cluster string
	// Routes are the route addresses of all the cluster's embedded
	// servers, this one's included or not (--nats-routes): give every
	// node the same list. Required with Cluster.
	Routes []string
}

// Replicas is the number of replicas of the store's buckets on the
// embedded servers: 3 when they are three or more (the store then
// survives the loss of one), else 1.
func (e *EmbeddedNATS) Replicas() int {
	servers := map[string]bool{}
	for _, r := range append([]string{e.Cluster}, e.Routes...) {
		if r != "" {
			servers[r] = true
		}
	}
	if len(servers) >= 3 {
		return 3
	}
	return 1
}

// StoreURL is the default store of a node with an embedded server whose
// client URL is clientURL (nats://host:port, the port bound).
func (e *EmbeddedNATS) StoreURL(clientURL string) string {
	_, hostPort, ok := strings.Cut(clientURL, "://")
	if !ok {
		hostPort = clientURL
	}
	u := "nats://" + hostPort
	if r := e.Replicas(); r > 1 {
		u += "?replicas=" + strconv.Itoa(r)
	}
	return u
}

// startFlags are the raw values of node start's flags that are checked
// after parsing.
type startFlags struct {
	store                   string
	logLevel                *string // nil: not given
	natsEmbedded            bool
	natsListen, natsCluster string
	natsRoutes              []string
	natsSecurity            natsFlags
	security                securityFlags
}

// parseStart parses node start's arguments into a StartConfig whose
// flags are checked; HTTPAddr and the defaults that depend on the HTTP
// port are left to complete. It returns flag.ErrHelp for -h or --help.
// Secrets not given by a file flag come from the environment.
func parseStart(args []string) (StartConfig, error) { return parseStartEnv(args, os.Getenv) }

// parseStartEnv is parseStart reading the environment with getenv.
func parseStartEnv(args []string, getenv func(string) string) (StartConfig, error) {
	cfg := StartConfig{ActorAddr: DefaultBind, GossipAddr: DefaultGossip, HTTPListen: DefaultHTTP,
		Slots: runtime.NumCPU(), LogFormat: "text", LogLevel: slog.LevelInfo}
	var raw startFlags
	fs := newFlagSet("start")
	fs.StringVar(&cfg.Name, "name", "", "")
	fs.StringVar(&cfg.ActorAddr, "bind", cfg.ActorAddr, "")
	fs.StringVar(&cfg.GossipAddr, "gossip", cfg.GossipAddr, "")
	fs.StringVar(&cfg.HTTPListen, "http", cfg.HTTPListen, "")
	fs.Func("join", "", func(s string) error {
		for seed := range strings.SplitSeq(s, ",") {
			cfg.Join = append(cfg.Join, strings.TrimSpace(seed))
		}
		return nil
	})
	fs.Func("slots", "", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > cluster.MaxSlots {
			return fmt.Errorf("want an integer from 1 to %d", cluster.MaxSlots)
		}
		cfg.Slots = n
		return nil
	})
	memoryFlag(fs, &cfg.Memory)
	gcPercentFlag(fs, &cfg.GCPercent)
	fs.StringVar(&cfg.DataDir, "data-dir", "", "")
	fs.StringVar(&raw.store, "store", "", "")
	fs.BoolVar(&raw.natsEmbedded, "nats-embedded", false, "")
	fs.StringVar(&raw.natsListen, "nats-listen", "", "")
	fs.StringVar(&raw.natsCluster, "nats-cluster", "", "")
	fs.Func("nats-routes", "", func(s string) error {
		for r := range strings.SplitSeq(s, ",") {
			raw.natsRoutes = append(raw.natsRoutes, strings.TrimSpace(r))
		}
		return nil
	})
	fs.Func("jobstore-max-capacity", "", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("want an integer of at least 1")
		}
		cfg.EndedJobs.MaxCount = n
		return nil
	})
	fs.Func("jobstore-expiration-time", "", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 1h or 30m")
		}
		cfg.EndedJobs.Expiration = d
		return nil
	})
	fs.StringVar(&cfg.PortFile, "port-file", "", "")
	fs.BoolVar(&cfg.Demo, "demo", false, "")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "")
	fs.Func("log-level", "", func(v string) error { raw.logLevel = &v; return nil })
	addSecurityFlags(fs, &cfg.Security, &raw.security)
	addNATSSecurityFlags(fs, &raw.natsSecurity)
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return cfg, err
	}
	if len(positional) > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", positional[0])
	}
	if err := cfg.check(raw); err != nil {
		return cfg, err
	}
	if err := cfg.setNATSSecurity(raw.natsSecurity, getenv); err != nil {
		return cfg, err
	}
	bindHost, httpHost := cfg.dialedHosts()
	return cfg, cfg.Security.check(raw.security, getenv, bindHost, httpHost)
}

// dialedHosts returns the hosts the other nodes dial: --bind's, and the
// REST API's (--http's, or --bind's when --http listens everywhere, as
// complete sets HTTPAddr).
func (cfg *StartConfig) dialedHosts() (bindHost, httpHost string) {
	bindHost, _, _ = splitHostPort(cfg.ActorAddr)
	httpHost, _, _ = splitHostPort(cfg.HTTPListen)
	if unspecified(httpHost) {
		httpHost = bindHost
	}
	return bindHost, httpHost
}

// check validates the flags; the error names the flag and its value.
func (cfg *StartConfig) check(raw startFlags) error {
	if cfg.Name != "" {
		if err := checkName(cfg.Name); err != nil {
			return fmt.Errorf("--name %q: %w", cfg.Name, err)
		}
	}
	if err := checkGCPercent(cfg.GCPercent, cfg.Memory); err != nil {
		return err
	}
	if err := checkBind(cfg.ActorAddr); err != nil {
		return fmt.Errorf("--bind %q: %w", cfg.ActorAddr, err)
	}
	if err := checkGossip(cfg.GossipAddr); err != nil {
		return fmt.Errorf("--gossip %q: %w", cfg.GossipAddr, err)
	}
	if _, _, err := splitHostPort(cfg.HTTPListen); err != nil {
		return fmt.Errorf("--http %q: %w", cfg.HTTPListen, err)
	}
	for _, seed := range cfg.Join {
		if err := checkSeed(seed); err != nil {
			return fmt.Errorf("--join %q: %w", seed, err)
		}
	}
	if err := cfg.setStore(raw.store); err != nil {
		return fmt.Errorf("--store %q: %w", raw.store, err)
	}
	if err := cfg.setNATS(raw); err != nil {
		return err
	}
	return parseLogFlags(cfg.LogFormat, raw.logLevel, &cfg.LogLevel)
}

// parseLogFlags checks --log-format and sets level from --log-level, if
// given; start and run share them.
func parseLogFlags(format string, level *string, into *slog.Level) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("--log-format %q: want text or json", format)
	}
	if level == nil {
		return nil
	}
	// Only the four names: slog would also take offsets such as "info+2",
	// which are no level a user means, and an empty value is a mistake.
	l, ok := logLevels[strings.ToLower(*level)]
	if !ok {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", *level)
	}
	*into = l
	return nil
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

// checkName accepts names that are safe as a directory name and in a
// table: letters, digits, '.', '_', '-', not starting with '.'.
func checkName(name string) error {
	if len(name) > cluster.MaxFieldLen {
		return fmt.Errorf("longer than %d bytes", cluster.MaxFieldLen)
	}
	if name[0] == '.' {
		return fmt.Errorf("must not start with '.'")
	}
	for _, r := range name {
		if !nameRune(r) {
			return fmt.Errorf("%q not allowed; use letters, digits, '.', '_' and '-'", r)
		}
	}
	return nil
}

func nameRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

// splitHostPort splits a HOST:PORT flag value; the port is 0 to 65535.
func splitHostPort(addr string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("want HOST:PORT")
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	return host, int(n), nil
}

// checkBind checks --bind: the other nodes dial its host.
func checkBind(addr string) error {
	host, _, err := splitHostPort(addr)
	if err != nil {
		return err
	}
	if unspecified(host) {
		return fmt.Errorf("the other nodes dial this address; give a host they can reach, such as 127.0.0.1 or this machine's IP address")
	}
	return nil
}

// checkGossip checks --gossip: memberlist binds an IP address.
func checkGossip(addr string) error {
	host, _, err := splitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("the host must be an IP address, such as 127.0.0.1")
	}
	return nil
}

// checkSeed checks one --join address: a host to dial and a real port.
func checkSeed(addr string) error {
	host, port, err := splitHostPort(addr)
	switch {
	case err != nil:
		return err
	case host == "":
		return fmt.Errorf("no host")
	case port == 0:
		return fmt.Errorf("port 0; give the seed's gossip port")
	}
	return nil
}

func unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

// setStore checks --store; empty leaves the default to complete.
func (cfg *StartConfig) setStore(raw string) error {
	if raw == "" {
		return nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	switch {
	case !ok:
		return fmt.Errorf("want a URL such as file:///shared/troupe or nats://127.0.0.1:4222")
	case scheme == "nats":
		if err := cluster.CheckStoreURL(raw); err != nil {
			return err
		}
		cfg.Store = raw
		return nil
	case scheme != "file":
		return fmt.Errorf("unsupported scheme %q; want file://DIR or nats://HOST:PORT[,HOST:PORT...]", scheme)
	case rest == "":
		return fmt.Errorf("no directory; want file://DIR")
	}
	dir, err := filepath.Abs(rest)
	if err != nil {
		return err
	}
	cfg.StoreDir, cfg.Store = dir, fileURL(dir)
	return nil
}

// setNATS checks the flags of the embedded NATS server: they need
// --nats-embedded, and --nats-cluster and --nats-routes go together.
func (cfg *StartConfig) setNATS(raw startFlags) error {
	if !raw.natsEmbedded {
		for flag, given := range map[string]bool{"--nats-listen": raw.natsListen != "",
			"--nats-cluster": raw.natsCluster != "", "--nats-routes": raw.natsRoutes != nil} {
			if given {
				return fmt.Errorf("%s: needs --nats-embedded", flag)
			}
		}
		return nil
	}
	e := &EmbeddedNATS{Listen: DefaultNATSListen, Cluster: raw.natsCluster, Routes: raw.natsRoutes}
	if raw.natsListen != "" {
		e.Listen = raw.natsListen
	}
	if _, _, err := splitHostPort(e.Listen); err != nil {
		return fmt.Errorf("--nats-listen %q: %w", e.Listen, err)
	}
	if e.Cluster != "" {
		if _, _, err := splitHostPort(e.Cluster); err != nil {
			return fmt.Errorf("--nats-cluster %q: %w", e.Cluster, err)
		}
	}
	for _, r := range e.Routes {
		if err := checkSeed(r); err != nil {
			return fmt.Errorf("--nats-routes %q: %w", r, err)
		}
	}
	switch {
	case e.Cluster != "" && len(e.Routes) == 0:
		return fmt.Errorf("--nats-cluster %q: needs --nats-routes, the route addresses of the cluster's servers", e.Cluster)
	case e.Cluster == "" && len(e.Routes) > 0:
		return fmt.Errorf("--nats-routes: needs --nats-cluster, this server's route address")
	}
	cfg.NATS = e
	return nil
}

// fileURL returns the file:// URL of an absolute directory.
func fileURL(dir string) string { return "file://" + filepath.ToSlash(dir) }

// complete fills what depends on the HTTP listener bound at boundHTTP:
// HTTPAddr, then the defaults of Name (from hostname), DataDir and Store.
func (cfg *StartConfig) complete(boundHTTP string, hostname func() (string, error)) error {
	host, port, err := splitHostPort(boundHTTP)
	if err != nil {
		return fmt.Errorf("HTTP listener address %q: %w", boundHTTP, err)
	}
	if listenHost, _, _ := splitHostPort(cfg.HTTPListen); unspecified(listenHost) {
		host, _, _ = splitHostPort(cfg.ActorAddr)
	}
	cfg.HTTPAddr = net.JoinHostPort(host, strconv.Itoa(port))
	if cfg.Name == "" {
		cfg.Name = defaultName(hostname, port)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(DefaultDataRoot, cfg.Name)
	}
	if cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return fmt.Errorf("--data-dir %q: %w", cfg.DataDir, err)
	}
	if cfg.Store == "" && cfg.NATS == nil {
		cfg.StoreDir = filepath.Join(cfg.DataDir, "store")
		cfg.Store = fileURL(cfg.StoreDir)
	}
	return nil
}

// defaultName is "<host name>-<port>", the host name reduced to the
// characters a name allows (others become '-'); "node-<port>" when the
// host name is unknown.
func defaultName(hostname func() (string, error), port int) string {
	h, err := hostname()
	if err != nil || h == "" {
		h = "node"
	}
	h = strings.Map(func(r rune) rune {
		if nameRune(r) {
			return r
		}
		return '-'
	}, h)
	h = strings.TrimLeft(h, ".")
	suffix := "-" + strconv.Itoa(port)
	if len(h)+len(suffix) > cluster.MaxFieldLen {
		h = h[:cluster.MaxFieldLen-len(suffix)]
	}
	if h == "" {
		h = "node"
	}
	return h + suffix
}
