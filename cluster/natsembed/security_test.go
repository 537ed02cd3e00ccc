package natsembed_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/troupe-dev/troupe/cluster/natsembed"
	"github.com/troupe-dev/troupe/persistence/natsstore"
	"github.com/troupe-dev/troupe/testkit"
)

// A secured embedded server: TLS with client certificates of the
// cluster's CA, and a token or a user and password. Only clients (and
// routes) that present both get in; the others are refused with an
// error that says why, at once rather than after the store's timeout.

const testToken = "bmF0cy10b2tlbi1mb3ItdGhlLXRlc3Rz"

// tlsFiles issues a certificate for 127.0.0.1 by ca into a new
// directory and returns the security of its files.
func tlsFiles(t *testing.T, ca *testkit.CA, name string) natsstore.Security {
	t.Helper()
	f := ca.WriteFiles(t, t.TempDir(), name, "127.0.0.1")
	return natsstore.Security{CAFile: f.CA, CertFile: f.Cert, KeyFile: f.Key}
}

// refusedWithin opens a store with sec and checks that its first
// operation fails with ErrRefused naming want, well before its timeout.
func refusedWithin(t *testing.T, url string, sec natsstore.Security, want ...string) {
	t.Helper()
	const timeout = 30 * time.Second
	s, err := natsstore.Open(natsstore.Config{Servers: []string{url}, Timeout: timeout, Security: sec})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, _, err = s.Jobs().Get(context.Background(), "job-1")
	took := time.Since(start)
	if !errors.Is(err, natsstore.ErrRefused) {
		t.Fatalf("get with %s: %v (after %v), want ErrRefused", describe(sec), err, took)
	}
	if !containsAny(err.Error(), want) {
		t.Errorf("get with %s: %v, want it to say %q", describe(sec), err, want)
	}
	if took > timeout/2 {
		t.Errorf("get with %s: refused after %v; a refusal should not wait for the store's timeout (%v)", describe(sec), took, timeout)
	}
	t.Logf("%s: refused after %v: %v", describe(sec), took.Round(time.Millisecond), err)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
			return true
		}
	}
	return false
}

func describe(sec natsstore.Security) string {
	var parts []string
	if sec.CAFile != "" {
		parts = append(parts, "CA")
	}
	if sec.CertFile != "" {
		parts = append(parts, "client cert")
	}
	if c := sec.Credentials(); c != "" {
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "+")
}

// works opens a store with sec and writes and reads a job record.
func works(t *testing.T, urls []string, sec natsstore.Security, replicas int) {
	t.Helper()
	s, err := natsstore.Open(natsstore.Config{Servers: urls, Replicas: replicas, Timeout: time.Minute, Security: sec})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	key := fmt.Sprintf("job-%d", time.Now().UnixNano())
	rev, err := s.Jobs().Create(ctx, key, []byte("v1"))
	if err != nil {
		t.Fatalf("create with %s: %v", describe(sec), err)
	}
	if _, err := s.Jobs().Update(ctx, key, []byte("v2"), rev); err != nil {
		t.Fatalf("update with %s: %v", describe(sec), err)
	}
	if v, _, err := s.Jobs().Get(ctx, key); err != nil || string(v) != "v2" {
		t.Fatalf("get with %s: %q, %v", describe(sec), v, err)
	}
}

// A server with mutual TLS and a token: a client with the CA, a
// certificate of the CA and the token reads and writes; without the CA,
// without a client certificate, with a certificate of another CA,
// without the token or with another, it is refused, and the error says
// which.
func TestSecurity_tlsAndTokenRefuseStrangers(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	srvSec := tlsFiles(t, ca, "server")
	srvSec.Token = testToken
	srv := startServer(t, natsembed.Config{Name: "n1", StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Security: srvSec})
	url := srv.ClientURL()

	client := tlsFiles(t, ca, "client")
	client.Token = testToken
	works(t, []string{url}, client, 1)

	// A plain NATS client, as a stranger would try.
	if nc, err := nats.Connect(url, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("a client without TLS or token connected")
	}
	badCA := "certificate signed by unknown authority"
	noCA := client
	noCA.CAFile = "" // the system's roots: none signed the server's
	refusedWithin(t, url, noCA, badCA)
	noCert := client
	noCert.CertFile, noCert.KeyFile = "", ""
	refusedWithin(t, url, noCert, "certificate required", "bad certificate")
	foreign := tlsFiles(t, testkit.NewCA(t, "another CA"), "intruder")
	foreign.CAFile = client.CAFile // trusts the server, but the server does not trust it
	foreign.Token = testToken
	// Go's client sends no certificate the server's CAs did not sign.
	refusedWithin(t, url, foreign, "certificate required", "unknown certificate authority", "bad certificate")
	noToken := client
	noToken.Token = ""
	refusedWithin(t, url, noToken, "authorization violation")
	wrongToken := client
	wrongToken.Token = testToken + "x"
	refusedWithin(t, url, wrongToken, "authorization violation")
}

// A server with a user and password (no TLS): the right pair gets in,
// another password or none is refused.
func TestSecurity_userAndPassword(t *testing.T) {
	sec := natsstore.Security{User: "troupe", Password: "s3cret-pass"}
	srv := startServer(t, natsembed.Config{Name: "n1", StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Security: sec})
	works(t, []string{srv.ClientURL()}, sec, 1)
	refusedWithin(t, srv.ClientURL(), natsstore.Security{User: "troupe", Password: "other"}, "authorization violation")
	refusedWithin(t, srv.ClientURL(), natsstore.Security{}, "authorization violation")
	// A client that wants TLS from a server without it.
	ca := testkit.NewCA(t, "cluster CA")
	tlsClient := tlsFiles(t, ca, "client")
	tlsClient.User, tlsClient.Password = sec.User, sec.Password
	refusedWithin(t, srv.ClientURL(), tlsClient, "secure connection not available")
}

// securedCluster starts three servers routed to each other with sec,
// and returns them with their route addresses.
func securedCluster(t *testing.T, sec natsstore.Security) ([]*natsembed.Server, []string) {
	t.Helper()
	var routes []string
	for _, p := range freePorts(t, 3) {
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", p))
	}
	var servers []*natsembed.Server
	for i := range 3 {
		servers = append(servers, startServer(t, natsembed.Config{Name: fmt.Sprintf("n%d", i+1), StoreDir: t.TempDir(),
			Listen: "127.0.0.1:0", Cluster: routes[i], Routes: routes, Security: sec}))
	}
	return servers, routes
}

// Three servers with mutual TLS and a token on clients and routes form
// one JetStream cluster: a store with three replicas works over it. A
// fourth server routed to them without TLS, or with TLS but without
// the token, never becomes a member; with both it does.
func TestSecurity_routesNeedTLSAndCredentials(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	sec := tlsFiles(t, ca, "node")
	sec.Token = testToken
	servers, routes := securedCluster(t, sec)
	works(t, urls(servers), sec, 3)
	for i, s := range servers {
		if s.Routes() == 0 {
			t.Fatalf("n%d has no route", i+1)
		}
	}

	noTLS := natsstore.Security{Token: testToken}
	noToken := sec
	noToken.Token = ""
	for _, tc := range []struct {
		name string
		sec  natsstore.Security
	}{{"without TLS", noTLS}, {"without the token", noToken}} {
		log := &lineLog{}
		x := startServer(t, natsembed.Config{Name: "intruder", StoreDir: t.TempDir(), Listen: "127.0.0.1:0",
			Cluster: "127.0.0.1:0", Routes: routes, Security: tc.sec, Logger: slog.New(log)})
		neverAdmitted(t, tc.name, x, servers, routes, log)
		x.Close()
	}
	// The same server with the cluster's TLS and token joins: the
	// refusals were theirs.
	good := startServer(t, natsembed.Config{Name: "n4", StoreDir: t.TempDir(), Listen: "127.0.0.1:0",
		Cluster: "127.0.0.1:0", Routes: routes, Security: sec})
	testkit.Eventually(t, 30*time.Second, func() bool { return good.Routes() > 0 }, "a server with the cluster's TLS and token got no route")
}

// neverAdmitted watches, by polling, that the intruder x never becomes
// a member of the cluster of members: no member ever holds a route to
// it (a member registers a route only once it has accepted the other
// end's TLS and credentials), and no route of the intruder's ever
// carries a message (only an accepted route does). The intruder's own
// route count is no evidence: it registers its half of a route on the
// member's greeting, a moment before the member refuses it. The watch
// lasts until the intruder has dialed every member's route address
// (its log says so) and two seconds (dilated) have passed, so that
// the members' refusals and the intruder's retry a second later fall
// within it; a minute at most.
func neverAdmitted(t *testing.T, name string, x *natsembed.Server, members []*natsembed.Server, routes []string, log *lineLog) {
	t.Helper()
	const maxWatch = time.Minute
	start := time.Now()
	window := testkit.Dilated(2 * time.Second)
	for {
		for _, m := range members {
			for _, r := range m.RouteConns() {
				if r.Remote == x.Name() {
					t.Fatalf("a server %s became a member of the cluster: %s holds a route to it", name, m.Name())
				}
			}
		}
		for _, r := range x.RouteConns() {
			if r.InMsgs > 0 {
				t.Fatalf("a server %s became a member of the cluster: its route to %s carried %d message(s)", name, r.Remote, r.InMsgs)
			}
		}
		dialed := dialedAll(log, routes)
		if dialed && time.Since(start) >= window {
			return
		}
		if time.Since(start) > maxWatch {
			t.Fatalf("a server %s never dialed every member's route address (%v) within %v: nothing was refused", name, routes, maxWatch)
		}
		time.Sleep(5 * time.Millisecond) // polling the servers' routes
	}
}

// dialedAll reports whether the log shows a route connection to every
// address of routes.
func dialedAll(log *lineLog, routes []string) bool {
	for _, r := range routes {
		if !log.contains("Route connection created (" + r + ")") {
			return false
		}
	}
	return true
}

// lineLog is a slog.Handler that keeps the messages logged to it; safe
// for concurrent use.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *lineLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Message)
	return nil
}

func (l *lineLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lineLog) WithGroup(string) slog.Handler      { return l }

func (l *lineLog) contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, sub) {
			return true
		}
	}
	return false
}

// The server's security is checked before it starts: each bad field is
// named, and the file it names.
func TestSecurity_badConfig(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	good := tlsFiles(t, ca, "server")
	dir := t.TempDir()
	other := ca.WriteFiles(t, t.TempDir(), "elsewhere", "10.1.2.3")
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	nkey := filepath.Join(dir, "user.nk")
	if err := os.WriteFile(nkey, append(seed, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		listen string
		sec    natsstore.Security
		want   string
	}{
		{"a missing CA file", "127.0.0.1:0", natsstore.Security{CAFile: filepath.Join(dir, "nope.crt"), CertFile: good.CertFile, KeyFile: good.KeyFile}, "CAFile"},
		{"a cert without its key", "127.0.0.1:0", natsstore.Security{CAFile: good.CAFile, CertFile: good.CertFile}, "KeyFile"},
		{"TLS without a CA", "127.0.0.1:0", natsstore.Security{CertFile: good.CertFile, KeyFile: good.KeyFile}, "CAFile"},
		{"a certificate for another host", "127.0.0.1:0", natsstore.Security{CAFile: good.CAFile, CertFile: other.Cert, KeyFile: other.Key}, "does not name"},
		{"a certificate of another CA", "127.0.0.1:0", natsstore.Security{CAFile: good.CAFile, CertFile: tlsFiles(t, testkit.NewCA(t, "x"), "x").CertFile,
			KeyFile: tlsFiles(t, testkit.NewCA(t, "y"), "y").KeyFile}, "CertFile"},
		{"two kinds of credentials", "127.0.0.1:0", natsstore.Security{Token: testToken, User: "u", Password: "p"}, "one kind"},
		{"a password without a user", "127.0.0.1:0", natsstore.Security{Password: "p"}, "User"},
		{"a token with a space", "127.0.0.1:0", natsstore.Security{Token: "a b"}, "Token"},
		{"an nkey", "127.0.0.1:0", natsstore.Security{NKeyFile: nkey}, "external NATS"},
	} {
		_, err := natsembed.Start(natsembed.Config{Name: "n", StoreDir: t.TempDir(), Listen: tt.listen, Security: tt.sec})
		var se *natsstore.SecurityError
		if !errors.Is(err, natsembed.ErrConfig) || !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrConfig with a SecurityError naming %s", tt.name, err, tt.want)
		}
	}
	// What Check finds alone, as node start checks its flags.
	if err := (natsstore.Security{NKeyFile: filepath.Join(dir, "missing.nk")}).Check(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing nkey file: %v", err)
	}
	if err := (natsstore.Security{CredsFile: nkey}).Check(); err == nil || !strings.Contains(err.Error(), "JWT") {
		t.Errorf("a creds file without a JWT: %v", err)
	}
	if err := (natsstore.Security{NKeyFile: nkey}).Check(); err != nil {
		t.Errorf("a good nkey seed: %v", err)
	}
}
