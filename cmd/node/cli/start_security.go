package cli

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/troupe-dev/troupe/cmd/node/rest"
)

// The environment variables that hold secrets, so that they stay out of
// the command line (which ps shows every user of the machine). A file
// flag, when given, wins over its variable.
const (
	// GossipKeyEnv holds the gossip keys, base64, comma separated, the
	// first the one the node sends with (--gossip-key-file).
	GossipKeyEnv = "TROUPE_GOSSIP_KEY"
	// TokenEnv holds the REST API's tokens, comma separated, the first the
	// one a client sends (--api-token-file).
	TokenEnv = "TROUPE_API_TOKEN"
)

// Security is what secures a node: gossip encryption, mutual TLS between
// the nodes (Proto.Actor remote) and HTTPS for the REST API, and the REST
// API's tokens. Each part is off when empty; defaults bind loopback only.
type Security struct {
	// GossipKeys encrypt gossip (--gossip-key-file or $TROUPE_GOSSIP_KEY):
	// 16, 24 or 32 bytes each (AES-128, -192, -256), the first the one
	// the node sends with; every key is accepted on receipt.
	GossipKeys [][]byte
	// GossipKeyFile is --gossip-key-file, read again on SIGHUP to rotate
	// the keys; empty when the keys came from the environment.
	GossipKeyFile string
	// TLSCert, TLSKey and TLSCA are the PEM files of --tls-cert,
	// --tls-key and --tls-ca: given together or not at all.
	TLSCert, TLSKey, TLSCA string
	// TLS is the node's mutual-TLS config built from them (its
	// certificate; the CA for the peers, as servers and as clients), for
	// Proto.Actor remote; nil without --tls-cert.
	TLS *tls.Config
	// APITokens are the REST API's bearer tokens (--api-token-file or
	// $TROUPE_API_TOKEN): every endpoint but /healthz requires one.
	APITokens []string
	// APITokenFile is --api-token-file, read again on SIGHUP; empty when
	// the tokens came from the environment.
	APITokenFile string
}

// securityFlags are the raw values of the security flags.
type securityFlags struct {
	gossipKeyFile, tokenFile string
}

// addSecurityFlags registers node start's security flags.
func addSecurityFlags(fs *flag.FlagSet, sec *Security, raw *securityFlags) {
	fs.StringVar(&raw.gossipKeyFile, "gossip-key-file", "", "")
	fs.StringVar(&sec.TLSCert, "tls-cert", "", "")
	fs.StringVar(&sec.TLSKey, "tls-key", "", "")
	fs.StringVar(&sec.TLSCA, "tls-ca", "", "")
	fs.StringVar(&raw.tokenFile, "api-token-file", "", "")
}

// check reads and checks the security flags and variables; the error
// names the flag or variable at fault. The TLS certificate must be
// signed by the CA and name the hosts the others dial: bindHost (--bind)
// and httpHost (the REST API's).
func (sec *Security) check(raw securityFlags, getenv func(string) string, bindHost, httpHost string) error {
	if err := sec.loadGossipKeys(raw.gossipKeyFile, getenv); err != nil {
		return err
	}
	if err := sec.loadTLS(bindHost, httpHost); err != nil {
		return err
	}
	return sec.loadTokens(raw.tokenFile, getenv)
}

func (sec *Security) loadGossipKeys(file string, getenv func(string) string) error {
	var err error
	switch {
	case file != "":
		sec.GossipKeyFile = file
		if sec.GossipKeys, err = readGossipKeyFile(file); err != nil {
			return fmt.Errorf("--gossip-key-file %q: %w", file, err)
		}
	case getenv(GossipKeyEnv) != "":
		if sec.GossipKeys, err = parseGossipKeys(strings.Split(getenv(GossipKeyEnv), ",")); err != nil {
			return fmt.Errorf("%s: %w", GossipKeyEnv, err)
		}
	}
	return nil
}

// readGossipKeyFile reads gossip keys, one per line in base64, the first
// the primary; blank lines and lines starting with '#' are skipped.
func readGossipKeyFile(path string) ([][]byte, error) {
	lines, err := secretLines(path)
	if err != nil {
		return nil, err
	}
	return parseGossipKeys(lines)
}

// parseGossipKeys decodes base64 keys; an error names the key by its
// place (never its value).
func parseGossipKeys(encoded []string) ([][]byte, error) {
	var keys [][]byte
	for i, e := range encoded {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(e))
		if err != nil {
			return nil, fmt.Errorf("key %d is not base64 (make one with: openssl rand -base64 32)", i+1)
		}
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("key %d is %d bytes, want 16, 24 or 32 (AES-128, -192 or -256; make one with: openssl rand -base64 32)", i+1, n)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key")
	}
	return keys, nil
}

// secretLines returns the lines of a secrets file that are neither blank
// nor comments, trimmed.
func secretLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

func (sec *Security) loadTLS(bindHost, httpHost string) error {
	given := map[string]string{"--tls-cert": sec.TLSCert, "--tls-key": sec.TLSKey, "--tls-ca": sec.TLSCA}
	var missing []string
	for _, f := range []string{"--tls-cert", "--tls-key", "--tls-ca"} {
		if given[f] == "" {
			missing = append(missing, f)
		}
	}
	switch len(missing) {
	case 3:
		return nil
	case 0:
	default:
		return fmt.Errorf("%s: --tls-cert, --tls-key and --tls-ca go together", strings.Join(missing, ", "))
	}
	cert, err := tls.LoadX509KeyPair(sec.TLSCert, sec.TLSKey)
	if err != nil {
		return fmt.Errorf("--tls-cert %q, --tls-key %q: %w", sec.TLSCert, sec.TLSKey, err)
	}
	pool, err := readCAs(sec.TLSCA)
	if err != nil {
		return fmt.Errorf("--tls-ca %q: %w", sec.TLSCA, err)
	}
	if err := checkCert(cert, pool, bindHost, httpHost); err != nil {
		return fmt.Errorf("--tls-cert %q: %w", sec.TLSCert, err)
	}
	sec.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}
	return nil
}

// readCAs reads a PEM bundle of CA certificates (several during a CA
// rotation).
func readCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no PEM certificate in the file")
	}
	return pool, nil
}

// checkCert finds at start what would otherwise fail every connection:
// a certificate the CA did not sign, one that has expired, or one that
// does not name the hosts the other nodes dial.
func checkCert(cert tls.Certificate, pool *x509.CertPool, hosts ...string) error {
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return err
	}
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	// A node is a TLS server and a TLS client: its certificate must do for
	// both (Verify accepts a chain valid for any one of its KeyUsages).
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
		if err != nil {
			return fmt.Errorf("not valid under --tls-ca for a node (signed by the CA, in date, for server and client authentication): %w", err)
		}
	}
	for _, h := range hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return fmt.Errorf("the other nodes dial %s, which the certificate does not name (add it as an IP or DNS subject alternative name): %w", h, err)
		}
	}
	return nil
}

func (sec *Security) loadTokens(file string, getenv func(string) string) error {
	var tokens []string
	where := TokenEnv
	switch {
	case file != "":
		var err error
		if tokens, err = readTokenFile(file); err != nil {
			return fmt.Errorf("--api-token-file %q: %w", file, err)
		}
		sec.APITokenFile = file
	case getenv(TokenEnv) != "":
		tokens = strings.Split(getenv(TokenEnv), ",")
		if err := checkTokens(tokens); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	sec.APITokens = tokens
	return nil
}

// readTokenFile reads API tokens, one per line; blank lines and lines
// starting with '#' are skipped.
func readTokenFile(path string) ([]string, error) {
	tokens, err := secretLines(path)
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("no token")
	}
	return tokens, checkTokens(tokens)
}

// checkTokens trims and checks tokens in place; an error names the token
// by its place (never its value).
func checkTokens(tokens []string) error {
	for i, t := range tokens {
		tokens[i] = strings.TrimSpace(t)
		if err := rest.CheckToken(tokens[i]); err != nil {
			return fmt.Errorf("token %d: %w", i+1, err)
		}
	}
	return nil
}

// keyRotator is a node that can replace its gossip keys while it runs
// (cluster.Node can): an optional capability of RunningNode.
type keyRotator interface {
	SetGossipKeys(keys [][]byte) error
}

// reloadSecrets reads --gossip-key-file and --api-token-file again (on
// SIGHUP) and puts their contents in force. A file that cannot be read or
// holds a bad entry changes nothing and is logged as an error: the node
// keeps what it had. TLS files are not read again: certificates change
// by a rolling restart (docs/operations.md).
func reloadSecrets(cfg *StartConfig, node RunningNode, tokens *rest.Tokens) {
	log, sec := cfg.Logger, &cfg.Security
	if sec.GossipKeyFile == "" && sec.APITokenFile == "" {
		log.Info("SIGHUP: nothing to reload: only --gossip-key-file and --api-token-file are read again")
	}
	if sec.GossipKeyFile != "" {
		reloadGossipKeys(log, sec, node)
	}
	if sec.APITokenFile != "" && tokens != nil {
		list, err := readTokenFile(sec.APITokenFile)
		if err != nil {
			log.Error("SIGHUP: API tokens not reloaded; the old ones stay", "file", sec.APITokenFile, "err", err)
			return
		}
		tokens.Set(list...)
		sec.APITokens = list
		log.Info("SIGHUP: API tokens reloaded", "file", sec.APITokenFile, "tokens", len(list))
	}
}

func reloadGossipKeys(log *slog.Logger, sec *Security, node RunningNode) {
	kr, ok := node.(keyRotator)
	if !ok {
		log.Error("SIGHUP: this node cannot change its gossip keys while it runs")
		return
	}
	keys, err := readGossipKeyFile(sec.GossipKeyFile)
	if err == nil {
		err = kr.SetGossipKeys(keys)
	}
	if err != nil {
		log.Error("SIGHUP: gossip keys not reloaded; the old ones stay", "file", sec.GossipKeyFile, "err", err)
		return
	}
	sec.GossipKeys = keys
	log.Info("SIGHUP: gossip keys reloaded; the first sends", "file", sec.GossipKeyFile, "keys", len(keys))
}

// insecure lists, for a warning, what a node that listens beyond loopback
// leaves open: one entry per address, naming it and what is missing.
func (cfg *StartConfig) insecure() []string {
	var out []string
	sec := cfg.Security
	if !loopback(cfg.GossipAddr) && len(sec.GossipKeys) == 0 {
		out = append(out, fmt.Sprintf("gossip on %s is in the clear: whoever reaches it can join the cluster (give --gossip-key-file or $%s)", cfg.GossipAddr, GossipKeyEnv))
	}
	if !loopback(cfg.ActorAddr) && sec.TLS == nil {
		out = append(out, fmt.Sprintf("the data plane on %s is plaintext and unauthenticated: whoever reaches it can send the node's actors messages (give --tls-cert, --tls-key and --tls-ca)", cfg.ActorAddr))
	}
	if !loopback(cfg.HTTPListen) && (sec.TLS == nil || len(sec.APITokens) == 0) {
		var miss []string
		if len(sec.APITokens) == 0 {
			miss = append(miss, fmt.Sprintf("no API token, so whoever reaches it can submit and cancel jobs (give --api-token-file or $%s)", TokenEnv))
		}
		if sec.TLS == nil {
			miss = append(miss, "no TLS, so requests and tokens cross in the clear (give --tls-cert, --tls-key and --tls-ca)")
		}
		out = append(out, fmt.Sprintf("the REST API on %s has %s", cfg.HTTPListen, strings.Join(miss, ", and ")))
	}
	return append(out, cfg.insecureNATS()...)
}

// insecureNATS lists what the embedded NATS server leaves open on its
// client and route addresses beyond loopback: whoever reaches them
// reads and writes the store (job records, every checkpoint).
func (cfg *StartConfig) insecureNATS() []string {
	if cfg.NATS == nil {
		return nil
	}
	sec := cfg.NATSSecurity
	var miss []string
	if sec.Credentials() == "" {
		miss = append(miss, fmt.Sprintf("no credentials, so whoever reaches it reads and writes the store (give --nats-token-file or $%s, or --nats-user)", NATSTokenEnv))
	}
	if !sec.TLS() {
		miss = append(miss, "no TLS, so the store's data and credentials cross in the clear (give --nats-tls-cert, --nats-tls-key and --nats-tls-ca)")
	}
	if len(miss) == 0 {
		return nil
	}
	var out []string
	for _, a := range []struct{ what, addr string }{{"the embedded NATS server's client port", cfg.NATS.Listen}, {"its route port", cfg.NATS.Cluster}} {
		if a.addr != "" && !loopback(a.addr) {
			out = append(out, fmt.Sprintf("%s %s has %s", a.what, a.addr, strings.Join(miss, ", and ")))
		}
	}
	return out
}

// warnInsecure logs, once, at warning level, what insecure lists.
func warnInsecure(log *slog.Logger, cfg *StartConfig) {
	if gaps := cfg.insecure(); len(gaps) > 0 {
		log.Warn("SECURITY: this node listens beyond loopback unprotected: " + strings.Join(gaps, "; "))
	}
}

// loopback reports whether a HOST:PORT listens on loopback only: a
// loopback IP address or "localhost". An empty or unspecified host (every
// interface) and any other name are not.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// serverTLS is the REST API's HTTPS config: the node's certificate, no
// client certificate asked (clients authenticate with the API token),
// TLS 1.2 at least for the tools of the world (curl, browsers).
func (sec *Security) serverTLS() *tls.Config {
	if sec.TLS == nil {
		return nil
	}
	return &tls.Config{Certificates: sec.TLS.Certificates, MinVersion: tls.VersionTLS12}
}

// scheme is the REST API's URL scheme: https with TLS.
func (sec *Security) scheme() string {
	if sec.TLS != nil {
		return "https"
	}
	return "http"
}

// forwardTLS is how a node verifies the coordinator it forwards to: by
// the cluster's CA.
func (sec *Security) forwardTLS() *tls.Config {
	return &tls.Config{RootCAs: sec.TLS.RootCAs, MinVersion: tls.VersionTLS12}
}
