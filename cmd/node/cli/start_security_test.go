package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
	"github.com/troupe-dev/troupe/testkit"
)

const (
	testToken  = "dGVzdC10b2tlbi1vZi10aGUtY2x1c3Rlcg=="
	testToken2 = "c2Vjb25kLXRva2VuLW9mLXRoZS1jbHVzdGVy"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// writeFile writes a file of the test's temporary directory, mode 0600.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseStart_security(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	f := ca.WriteFiles(t, t.TempDir(), "n1", "127.0.0.1")
	keys := writeFile(t, "gossip.key", "# primary first\n"+b64(testKey(1))+"\n\n"+b64(testKey(2)[:16])+"\n")
	tokens := writeFile(t, "api.token", testToken+"\n"+testToken2+"\n")
	args := append([]string{"--gossip-key-file", keys, "--api-token-file", tokens}, f.Args()...)
	// The files win over the environment.
	cfg, err := parseStartEnv(args, env(map[string]string{GossipKeyEnv: b64(testKey(9)), TokenEnv: "ignored-because-of-the-file"}))
	if err != nil {
		t.Fatal(err)
	}
	sec := cfg.Security
	if len(sec.GossipKeys) != 2 || !bytes.Equal(sec.GossipKeys[0], testKey(1)) || !bytes.Equal(sec.GossipKeys[1], testKey(2)[:16]) ||
		sec.GossipKeyFile != keys {
		t.Errorf("gossip keys %x from %q", sec.GossipKeys, sec.GossipKeyFile)
	}
	if sec.TLS == nil || sec.TLS.ClientAuth != tls.RequireAndVerifyClientCert || len(sec.TLS.Certificates) != 1 ||
		sec.TLS.RootCAs == nil || sec.TLS.ClientCAs == nil {
		t.Errorf("TLS %+v", sec.TLS)
	}
	if strings.Join(sec.APITokens, ",") != testToken+","+testToken2 {
		t.Errorf("tokens %q", sec.APITokens)
	}

	cfg, err = parseStartEnv(nil, env(map[string]string{GossipKeyEnv: b64(testKey(3)) + ", " + b64(testKey(4)), TokenEnv: testToken2}))
	if err != nil {
		t.Fatal(err)
	}
	if sec := cfg.Security; len(sec.GossipKeys) != 2 || !bytes.Equal(sec.GossipKeys[1], testKey(4)) || sec.GossipKeyFile != "" ||
		strings.Join(sec.APITokens, ",") != testToken2 || sec.TLS != nil {
		t.Errorf("from the environment: %+v", sec)
	}
}

func TestParseStart_securityErrors(t *testing.T) {
	ca, other := testkit.NewCA(t, "cluster CA"), testkit.NewCA(t, "another CA")
	good := ca.WriteFiles(t, t.TempDir(), "n1", "127.0.0.1")
	foreign := other.WriteFiles(t, t.TempDir(), "n1", "127.0.0.1")
	elsewhere := ca.WriteFiles(t, t.TempDir(), "n1", "10.0.0.7")
	missing := filepath.Join(t.TempDir(), "missing")
	serverOnly, serverOnlyKey := ca.IssueFor(t, "n1", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, "127.0.0.1")
	serverOnlyFile, serverOnlyKeyFile := writeFile(t, "server-only.crt", string(serverOnly)), writeFile(t, "server-only.key", string(serverOnlyKey))
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--gossip-key-file", missing}, nil, `--gossip-key-file "` + missing + `": open`},
		{[]string{"--gossip-key-file", writeFile(t, "k", "# nothing\n")}, nil, "no key"},
		{[]string{"--gossip-key-file", writeFile(t, "k", "not base64!\n")}, nil, "key 1 is not base64"},
		{[]string{"--gossip-key-file", writeFile(t, "k", b64(testKey(1))+"\n"+b64(make([]byte, 20)))}, nil, "key 2 is 20 bytes, want 16, 24 or 32"},
		{nil, map[string]string{GossipKeyEnv: b64(make([]byte, 8))}, GossipKeyEnv + ": key 1 is 8 bytes"},
		{[]string{"--tls-cert", good.Cert}, nil, "--tls-key, --tls-ca: --tls-cert, --tls-key and --tls-ca go together"},
		{[]string{"--tls-cert", good.Cert, "--tls-key", good.Key}, nil, "--tls-ca: --tls-cert, --tls-key and --tls-ca go together"},
		{[]string{"--tls-cert", good.Cert, "--tls-key", foreign.Key, "--tls-ca", good.CA}, nil, "--tls-cert " + `"` + good.Cert + `", --tls-key`},
		{[]string{"--tls-cert", good.Cert, "--tls-key", good.Key, "--tls-ca", good.Key}, nil, "--tls-ca " + `"` + good.Key + `": no PEM certificate`},
		{foreign.Args()[:4:4], nil, "go together"},
		{append(foreign.Args()[:4:4], "--tls-ca", good.CA), nil, "not valid under --tls-ca"},
		{elsewhere.Args(), nil, "the other nodes dial 127.0.0.1, which the certificate does not name"},
		// A node is a TLS client too.
		{[]string{"--tls-cert", serverOnlyFile, "--tls-key", serverOnlyKeyFile, "--tls-ca", good.CA}, nil, "incompatible key usage"},
		{append(good.Args(), "--http", "10.0.0.8:0"), nil, "the other nodes dial 10.0.0.8"},
		{[]string{"--api-token-file", missing}, nil, `--api-token-file "` + missing + `": open`},
		{[]string{"--api-token-file", writeFile(t, "t", "\n")}, nil, "no token"},
		{[]string{"--api-token-file", writeFile(t, "t", "short\n")}, nil, "token 1: the token has 5 characters, want at least 16"},
		{nil, map[string]string{TokenEnv: testToken + ",bad token with spaces"}, TokenEnv + ": token 2: the token holds ' '"},
	}
	for _, tt := range tests {
		if _, err := parseStartEnv(tt.args, env(tt.env)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q %v: error %v, want one containing %q", tt.args, tt.env, err, tt.want)
		}
		var out, errOut bytes.Buffer
		c := newCommand(nil, &out, &errOut, notifySignals)
		c.getenv = env(tt.env)
		if code := c.main(append([]string{"start"}, tt.args...)); code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("node start %q %v: exit %d, stderr %q", tt.args, tt.env, code, errOut.String())
		}
	}
}

// securityLines returns the security warnings of a log.
func securityLines(log string) []string {
	var out []string
	for line := range strings.Lines(log) {
		if strings.Contains(line, "SECURITY") {
			out = append(out, line)
		}
	}
	return out
}

// A node that binds beyond loopback without protection says so once,
// naming every address and what it lacks; a protected one does not.
func TestStart_warnsWhenInsecure(t *testing.T) {
	dir := t.TempDir()
	start := func(context.Context, StartConfig) (RunningNode, error) { return &fakeNode{svc: resttest.New()}, nil }
	h := runStart(t, start, "--bind", "192.0.2.10:0", "--gossip", "0.0.0.0:0", "--http", "127.0.0.1:0",
		"--port-file", filepath.Join(dir, "p.json"), "--data-dir", dir)
	readPortFile(t, filepath.Join(dir, "p.json"))
	h.sigs <- syscall.SIGTERM
	h.exit(t)
	lines := securityLines(h.stderr.String())
	if len(lines) != 1 {
		t.Fatalf("%d security warnings, want 1:\n%s", len(lines), h.stderr)
	}
	for _, want := range []string{"level=WARN", "gossip on 0.0.0.0:0 is in the clear", "--gossip-key-file",
		"the data plane on 192.0.2.10:0 is plaintext", "--tls-cert"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the warning lacks %q: %s", want, lines[0])
		}
	}
	if strings.Contains(lines[0], "REST API") {
		t.Errorf("the REST API on loopback is warned about: %s", lines[0])
	}

	ca := testkit.NewCA(t, "cluster CA")
	f := ca.WriteFiles(t, t.TempDir(), "n1", "192.0.2.10")
	h = runStart(t, start, append(f.Args(), "--bind", "192.0.2.10:0", "--gossip", "0.0.0.0:0", "--http", "0.0.0.0:0",
		"--port-file", filepath.Join(dir, "q.json"), "--data-dir", dir)...)
	readPortFile(t, filepath.Join(dir, "q.json"))
	h.sigs <- syscall.SIGTERM
	h.exit(t)
	lines = securityLines(h.stderr.String())
	if len(lines) != 1 || !strings.Contains(lines[0], "gossip on 0.0.0.0:0") || strings.Contains(lines[0], "data plane") ||
		!strings.Contains(lines[0], "the REST API on 0.0.0.0:0 has no API token") || strings.Contains(lines[0], "no TLS") {
		t.Fatalf("with TLS but no gossip key nor token, warnings:\n%s", h.stderr)
	}

	h = runStart(t, start, append(f.Args(), "--bind", "192.0.2.10:0", "--gossip", "0.0.0.0:0", "--http", "0.0.0.0:0",
		"--gossip-key-file", writeFile(t, "k", b64(testKey(1))), "--api-token-file", writeFile(t, "t", testToken),
		"--port-file", filepath.Join(dir, "r.json"), "--data-dir", dir)...)
	readPortFile(t, filepath.Join(dir, "r.json"))
	h.sigs <- syscall.SIGTERM
	h.exit(t)
	if lines := securityLines(h.stderr.String()); len(lines) != 0 {
		t.Fatalf("a protected node warns:\n%s", h.stderr)
	}
}

// With --tls-* and a token, node start serves the REST API over HTTPS and
// requires the token; the client commands send it and trust --tls-ca.
func TestStart_TLSAndToken(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	f := ca.WriteFiles(t, t.TempDir(), "n1", "127.0.0.1")
	tokenFile := writeFile(t, "api.token", testToken+"\n")
	dir := t.TempDir()
	node := &fakeNode{svc: resttest.New("wordcount")}
	h := runStart(t, func(context.Context, StartConfig) (RunningNode, error) { return node, nil },
		append(f.Args(), "--api-token-file", tokenFile, "--http", "127.0.0.1:0", "--port-file", filepath.Join(dir, "p.json"), "--data-dir", dir)...)
	cfg := <-h.cfg
	if cfg.Security.TLS == nil || len(cfg.Security.APITokens) != 1 {
		t.Fatalf("the node got security %+v", cfg.Security)
	}
	pf := readPortFile(t, filepath.Join(dir, "p.json"))
	server := "https://" + pf.HTTP

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	authed, err := rest.NewClient(server, hc, rest.WithToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authed.Jobs(context.Background()); err != nil {
		t.Fatalf("jobs with the token over HTTPS: %v", err)
	}
	anon, _ := rest.NewClient(server, hc)
	if _, err := anon.Jobs(context.Background()); !errors.Is(err, rest.ErrUnauthorized) {
		t.Fatalf("jobs without a token: %v, want ErrUnauthorized", err)
	}
	if err := anon.Health(context.Background()); err != nil {
		t.Fatalf("healthz without a token: %v", err)
	}
	plain, _ := rest.NewClient("http://"+pf.HTTP, nil, rest.WithToken(testToken))
	if _, err := plain.Jobs(context.Background()); err == nil {
		t.Fatal("the API answered plain HTTP")
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
		code int
		want string
	}{
		{[]string{"--tls-ca", f.CA, "--api-token-file", tokenFile}, nil, ExitOK, "No jobs"},
		{[]string{"--tls-ca", f.CA}, map[string]string{TokenEnv: testToken}, ExitOK, "No jobs"},
		{[]string{"--tls-ca", f.CA}, nil, ExitUsage, "Give the cluster's API token with --api-token-file FILE or " + TokenEnv},
		{[]string{"--tls-ca", f.CA}, map[string]string{TokenEnv: testToken2}, ExitUsage, "not one this node accepts"},
		{[]string{"--api-token-file", tokenFile}, nil, ExitFailed, "Give the CA that signed it with --tls-ca FILE"},
		{[]string{"--tls-ca", filepath.Join(dir, "none.crt")}, nil, ExitUsage, "--tls-ca"},
	} {
		var out, errOut bytes.Buffer
		c := newCommand(nil, &out, &errOut, notifySignals)
		c.getenv = env(tc.env)
		code := c.main(append([]string{"jobs", "--server", server}, tc.args...))
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
			t.Errorf("jobs %q %v: exit %d, want %d with %q; stdout %q, stderr %q", tc.args, tc.env, code, tc.code, tc.want, out.String(), errOut.String())
		}
	}
	h.sigs <- syscall.SIGTERM
	if code := h.exit(t); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
}

// SIGHUP reads the key and token files again: the node gets the new keys
// and the REST API accepts the new tokens at once; a file gone bad
// changes nothing.
func TestStart_SIGHUPReloadsSecrets(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, "gossip.key", b64(testKey(1)))
	tokenFile := writeFile(t, "api.token", testToken)
	node := &fakeNode{svc: resttest.New()}
	h := runStart(t, func(context.Context, StartConfig) (RunningNode, error) { return node, nil },
		"--gossip-key-file", keyFile, "--api-token-file", tokenFile, "--http", "127.0.0.1:0",
		"--port-file", filepath.Join(dir, "p.json"), "--data-dir", dir)
	pf := readPortFile(t, filepath.Join(dir, "p.json"))
	jobs := func(token string) error {
		cl, err := rest.NewClient("http://"+pf.HTTP, nil, rest.WithToken(token))
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Jobs(context.Background())
		return err
	}
	if err := jobs(testToken); err != nil {
		t.Fatal(err)
	}

	rewrite := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rewrite(keyFile, b64(testKey(2))+"\n"+b64(testKey(1))+"\n")
	rewrite(tokenFile, testToken2+"\n")
	h.hups <- syscall.SIGHUP
	testkit.Eventually(t, 10*time.Second, func() bool { return errors.Is(jobs(testToken), rest.ErrUnauthorized) },
		"the old token is still accepted after SIGHUP")
	if err := jobs(testToken2); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return slices.Contains(node.done(), "keys 2") },
		"the node did not get the new keys: %q", node.done())

	rewrite(tokenFile, "short\n")
	rewrite(keyFile, "not base64\n")
	h.hups <- syscall.SIGHUP
	testkit.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), "API tokens not reloaded")
	}, "no error logged for a bad token file:\n%s", h.stderr)
	for _, want := range []string{"gossip keys not reloaded", "key 1 is not base64", "token 1: the token has 5 characters"} {
		if !strings.Contains(h.stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, h.stderr)
		}
	}
	if err := jobs(testToken2); err != nil {
		t.Fatalf("after a bad reload, the token in force: %v", err)
	}
	if strings.Count(strings.Join(node.done(), ";"), "keys") != 1 {
		t.Errorf("a bad key file reached the node: %q", node.done())
	}
	h.sigs <- syscall.SIGTERM
	if code := h.exit(t); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(h.stderr.String(), testToken) || strings.Contains(h.stderr.String(), b64(testKey(1))) {
		t.Errorf("a secret was logged:\n%s", h.stderr)
	}
}
