package natsstore

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Security is how a Store's connection to the NATS servers is secured:
// TLS, and at most one kind of credentials. The zero value connects in
// the clear, without credentials. Secrets (Token, Password) are values,
// files (a key, an nkey seed, a .creds file) are paths: read them from a
// file or the environment, never from a command line (ps shows it).
//
// The embedded server (cluster/natsembed) takes the same struct to serve
// what its own clients present.
type Security struct {
	// CAFile is a PEM bundle of the CAs that sign the servers'
	// certificates: set, the connection is TLS and the server's
	// certificate must be signed by one of them and name the host
	// dialed. Empty, a server that asks for TLS is verified with the
	// system's roots.
	CAFile string
	// CertFile and KeyFile, together, are the client certificate and its
	// key (PEM), for servers that require one (mutual TLS); they make the
	// connection TLS.
	CertFile, KeyFile string

	// Token authenticates with a token (a server's authorization token).
	Token string
	// User and Password authenticate as a user of the servers.
	User, Password string
	// NKeyFile is an nkey seed file (SU...): the client signs the
	// server's challenge with it; the seed never crosses the network.
	NKeyFile string
	// CredsFile is a .creds file (a user JWT and its nkey seed), for
	// servers in operator mode (nsc, Synadia Cloud).
	CredsFile string
}

// SecurityError is a field of Security at fault, the file it names if
// any, and why. Check returns it as is; Open wraps it in ErrConfig.
type SecurityError struct {
	// Field is the field's name in Security ("CAFile", "Token", …).
	Field string
	// Path is the file the field names, or "".
	Path string
	Err  error
}

func (e *SecurityError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("Security.%s %q: %v", e.Field, e.Path, e.Err)
	}
	return fmt.Sprintf("Security.%s: %v", e.Field, e.Err)
}

func (e *SecurityError) Unwrap() error { return e.Err }

func secErr(field, path string, err error) error {
	return &SecurityError{Field: field, Path: path, Err: err}
}

// TLS reports whether the connection is TLS.
func (s Security) TLS() bool { return s.CAFile != "" || s.CertFile != "" || s.KeyFile != "" }

// Credentials names the kind of credentials set ("token", "user",
// "nkey", "creds"), or "" for none.
func (s Security) Credentials() string {
	switch {
	case s.Token != "":
		return "token"
	case s.User != "" || s.Password != "":
		return "user"
	case s.NKeyFile != "":
		return "nkey"
	case s.CredsFile != "":
		return "creds"
	}
	return ""
}

// Check reads every file the struct names and checks what it holds;
// the error is a *SecurityError naming the field and the file.
func (s Security) Check() error {
	if _, err := s.TLSConfig(); err != nil {
		return err
	}
	return s.checkCredentials()
}

// TLSConfig returns the TLS configuration of the files, nil without TLS.
// It serves both ends, as the node's own mutual TLS does: as a client it
// presents Certificates and verifies servers with RootCAs; as a server
// (the embedded one, and its routes) it presents Certificates and, with
// a CA, requires and verifies client certificates (ClientCAs).
func (s Security) TLSConfig() (*tls.Config, error) {
	if !s.TLS() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case s.CertFile != "" && s.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, secErr("CertFile", s.CertFile, fmt.Errorf("with KeyFile %q: %w", s.KeyFile, err))
		}
		cfg.Certificates = []tls.Certificate{cert}
	case s.CertFile != "":
		return nil, secErr("KeyFile", "", errors.New("empty: a client certificate needs its key"))
	case s.KeyFile != "":
		return nil, secErr("CertFile", "", errors.New("empty: a key needs its certificate"))
	}
	if s.CAFile != "" {
		pool, err := readCAs(s.CAFile)
		if err != nil {
			return nil, secErr("CAFile", s.CAFile, err)
		}
		cfg.RootCAs, cfg.ClientCAs, cfg.ClientAuth = pool, pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// readCAs reads a PEM bundle of CA certificates.
func readCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("no PEM certificate in the file")
	}
	return pool, nil
}

// checkCredentials checks that at most one kind is set and reads the
// files of the nkey and creds kinds.
func (s Security) checkCredentials() error {
	var fields, kinds []string
	for _, k := range []struct {
		field, kind string
		set         bool
	}{{"Token", "a token", s.Token != ""}, {"User", "a user and password", s.User != "" || s.Password != ""},
		{"NKeyFile", "an nkey", s.NKeyFile != ""}, {"CredsFile", "a creds file", s.CredsFile != ""}} {
		if k.set {
			fields, kinds = append(fields, k.field), append(kinds, k.kind)
		}
	}
	if len(kinds) > 1 {
		return secErr(fields[1], "", fmt.Errorf("give one kind of credentials, not %s", strings.Join(kinds, " and ")))
	}
	switch {
	case s.Token != "":
		return checkSecret("Token", s.Token)
	case s.User != "" || s.Password != "":
		if s.User == "" {
			return secErr("User", "", errors.New("empty: a password needs a user"))
		}
		if err := checkSecret("User", s.User); err != nil {
			return err
		}
		if s.Password == "" {
			return secErr("Password", "", errors.New("empty: a user needs a password"))
		}
		return checkSecret("Password", s.Password)
	case s.NKeyFile != "":
		return checkNKeySeed(s.NKeyFile)
	case s.CredsFile != "":
		return checkCreds(s.CredsFile)
	}
	return nil
}

// checkSecret refuses what NATS's protocol or a route URL cannot carry:
// control characters and spaces.
func checkSecret(field, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == 0x7f {
			return secErr(field, "", fmt.Errorf("holds a space or control character at byte %d", i))
		}
	}
	return nil
}

func checkNKeySeed(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return secErr("NKeyFile", path, err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err == nil {
		_, err = kp.Seed()
	}
	if err != nil {
		return secErr("NKeyFile", path, fmt.Errorf("not an nkey seed (make one with: nk -gen user): %w", err))
	}
	return nil
}

func checkCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return secErr("CredsFile", path, err)
	}
	token, err := nkeys.ParseDecoratedJWT(b)
	if err == nil {
		_, err = jwt.DecodeUserClaims(token)
	}
	if err != nil {
		return secErr("CredsFile", path, fmt.Errorf("no user JWT (make the file with: nsc generate creds): %w", err))
	}
	if _, err := nkeys.ParseDecoratedNKey(b); err != nil {
		return secErr("CredsFile", path, fmt.Errorf("no nkey seed (make the file with: nsc generate creds): %w", err))
	}
	return nil
}

// options returns the connection options of s, checked.
func (s Security) options() ([]nats.Option, error) {
	cfg, err := s.TLSConfig()
	if err != nil {
		return nil, err
	}
	if err := s.checkCredentials(); err != nil {
		return nil, err
	}
	var opts []nats.Option
	if cfg != nil {
		opts = append(opts, nats.Secure(cfg))
	}
	switch {
	case s.Token != "":
		opts = append(opts, nats.Token(s.Token))
	case s.User != "":
		opts = append(opts, nats.UserInfo(s.User, s.Password))
	case s.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(s.NKeyFile)
		if err != nil {
			return nil, secErr("NKeyFile", s.NKeyFile, err)
		}
		opts = append(opts, opt)
	case s.CredsFile != "":
		opts = append(opts, nats.UserCredentials(s.CredsFile))
	}
	return opts, nil
}

// CheckServer checks s as what a server (the embedded one) requires of
// its clients and routes, besides Check: TLS needs CertFile, KeyFile and
// CAFile together (the CA verifies clients and routes), and the
// certificate must be valid under the CA as a server and as a client
// (routes dial with it) and name every host in hosts (those clients and
// routes dial); credentials are a token or a user and password (a
// server of its own cannot verify an nkey's or a creds file's account).
// The error is a *SecurityError.
func (s Security) CheckServer(hosts ...string) error {
	switch s.Credentials() {
	case "nkey":
		return secErr("NKeyFile", s.NKeyFile, errors.New("an embedded server authorizes a token or a user and password; an nkey is for an external NATS"))
	case "creds":
		return secErr("CredsFile", s.CredsFile, errors.New("an embedded server authorizes a token or a user and password; a creds file is for an external NATS in operator mode"))
	}
	if err := s.Check(); err != nil || !s.TLS() {
		return err
	}
	for _, f := range []struct{ field, v string }{{"CertFile", s.CertFile}, {"KeyFile", s.KeyFile}, {"CAFile", s.CAFile}} {
		if f.v == "" {
			return secErr(f.field, "", errors.New("empty: a server serves TLS with a certificate, its key and a CA together (the CA verifies its clients and routes)"))
		}
	}
	cfg, _ := s.TLSConfig()
	return checkServerCert(s, cfg, hosts)
}

// checkServerCert finds at start what would fail every connection: a
// certificate the CA did not sign, or one that does not name a host
// that clients or routes dial.
func checkServerCert(s Security, cfg *tls.Config, hosts []string) error {
	chain := cfg.Certificates[0].Certificate
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return secErr("CertFile", s.CertFile, err)
	}
	inter := x509.NewCertPool()
	for _, der := range chain[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			return secErr("CertFile", s.CertFile, fmt.Errorf("not valid under the CA file %q for a server that is also its routes' client (signed by the CA, in date, for server and client authentication): %w", s.CAFile, err))
		}
	}
	for _, h := range hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return secErr("CertFile", s.CertFile, fmt.Errorf("clients or routes dial %s, which the certificate does not name (add it as an IP or DNS subject alternative name): %w", h, err))
		}
	}
	return nil
}
