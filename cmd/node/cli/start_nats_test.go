package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/troupe-dev/troupe/testkit"
)

const natsToken = "bmF0cy10b2tlbi1vZi10aGUtY2x1c3Rlcg"

// natsTLSArgs are the NATS TLS flags of files of ca for 127.0.0.1.
func natsTLSArgs(t *testing.T, ca *testkit.CA) []string {
	t.Helper()
	f := ca.WriteFiles(t, t.TempDir(), "nats", "127.0.0.1")
	return []string{"--nats-tls-cert", f.Cert, "--nats-tls-key", f.Key, "--nats-tls-ca", f.CA}
}

// The NATS security flags fill StartConfig.NATSSecurity: TLS files, a
// token from its file (which wins over the variable) or the variable, a
// user with a password from its file or the variable.
func TestParseStart_natsSecurity(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	tlsArgs := natsTLSArgs(t, ca)
	args := append([]string{"--nats-embedded", "--nats-token-file", writeFile(t, "nats.token", "# the cluster's\n"+natsToken+"\n")}, tlsArgs...)
	cfg, err := parseStartEnv(args, env(map[string]string{NATSTokenEnv: "ignored-because-of-the-file"}))
	if err != nil {
		t.Fatal(err)
	}
	if sec := cfg.NATSSecurity; sec.Token != natsToken || sec.CertFile != tlsArgs[1] || sec.KeyFile != tlsArgs[3] || sec.CAFile != tlsArgs[5] {
		t.Errorf("NATS security %+v", sec)
	}
	cfg, err = parseStartEnv([]string{"--store", "nats://10.0.0.1:4222"}, env(map[string]string{NATSTokenEnv: natsToken}))
	if err != nil || cfg.NATSSecurity.Token != natsToken || cfg.NATSSecurity.TLS() {
		t.Errorf("token from the environment: %+v, %v", cfg.NATSSecurity, err)
	}
	cfg, err = parseStartEnv([]string{"--store", "nats://10.0.0.1:4222", "--nats-user", "troupe"},
		env(map[string]string{NATSPasswordEnv: "pass-word", NATSTokenEnv: natsToken}))
	if sec := cfg.NATSSecurity; err != nil || sec.User != "troupe" || sec.Password != "pass-word" || sec.Token != "" {
		t.Errorf("user with the password from the environment (the token variable ignored): %+v, %v", sec, err)
	}
	// A client of an external NATS may trust a CA without a certificate
	// of its own.
	cfg, err = parseStartEnv([]string{"--store", "nats://127.0.0.1:4222", "--nats-tls-ca", tlsArgs[5]}, env(nil))
	if err != nil || cfg.NATSSecurity.CAFile != tlsArgs[5] {
		t.Errorf("CA only: %+v, %v", cfg.NATSSecurity, err)
	}
	// A file store ignores the variables.
	cfg, err = parseStartEnv(nil, env(map[string]string{NATSTokenEnv: natsToken}))
	if err != nil || cfg.NATSSecurity.Token != "" {
		t.Errorf("file store: %+v, %v", cfg.NATSSecurity, err)
	}
}

// Every bad NATS security flag exits 2 naming the flag and its file.
func TestParseStart_natsSecurityErrors(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	good := ca.WriteFiles(t, t.TempDir(), "nats", "127.0.0.1")
	elsewhere := ca.WriteFiles(t, t.TempDir(), "nats", "10.0.0.7")
	missing := filepath.Join(t.TempDir(), "missing")
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	nkey := writeFile(t, "user.nk", string(seed)+"\n")
	embedded := []string{"--nats-embedded"}
	external := []string{"--store", "nats://127.0.0.1:4222"}
	with := func(base []string, more ...string) []string { return append(append([]string(nil), base...), more...) }
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--nats-tls-ca", good.CA}, nil, "--nats-tls-ca: needs a nats:// --store or --nats-embedded"},
		{with(external, "--nats-tls-ca", missing), nil, `--nats-tls-ca "` + missing + `": open`},
		{with(external, "--nats-tls-ca", good.Key), nil, `--nats-tls-ca "` + good.Key + `": no PEM certificate`},
		{with(external, "--nats-tls-cert", good.Cert), nil, "--nats-tls-key: empty: a client certificate needs its key"},
		{with(external, "--nats-tls-cert", missing, "--nats-tls-key", good.Key), nil, `--nats-tls-cert "` + missing + `"`},
		{with(embedded, "--nats-tls-cert", good.Cert, "--nats-tls-key", good.Key), nil, "--nats-tls-ca: empty: a server serves TLS"},
		{with(embedded, "--nats-tls-cert", elsewhere.Cert, "--nats-tls-key", elsewhere.Key, "--nats-tls-ca", elsewhere.CA), nil,
			"dial 127.0.0.1, which the certificate does not name"},
		{with(embedded, "--nats-tls-cert", good.Cert, "--nats-tls-key", good.Key, "--nats-tls-ca", good.CA, "--nats-listen", "127.0.0.1:0",
			"--nats-cluster", "10.0.0.9:6222", "--nats-routes", "10.0.0.9:6222"), nil, "dial 10.0.0.9"},
		{with(external, "--nats-token-file", missing), nil, `--nats-token-file "` + missing + `": open`},
		{with(external, "--nats-token-file", writeFile(t, "t", "a\nb\n")), nil, "holds 2 secrets, want one line"},
		{with(external, "--nats-token-file", writeFile(t, "t", "a b\n")), nil, "--nats-token-file"},
		{external, map[string]string{NATSTokenEnv: "tab\tinside"}, NATSTokenEnv + ": holds a space"},
		{with(external, "--nats-password-file", writeFile(t, "p", "pw\n")), nil, "needs --nats-user"},
		{with(external, "--nats-user", "troupe"), nil, "--nats-user \"troupe\": needs --nats-password-file or $" + NATSPasswordEnv},
		{with(external, "--nats-user", "troupe", "--nats-password-file", missing), nil, `--nats-password-file "` + missing + `": open`},
		{with(external, "--nats-token-file", writeFile(t, "t", natsToken), "--nats-nkey-file", nkey), nil, "give one kind of credentials"},
		{with(external, "--nats-nkey-file", missing), nil, `--nats-nkey-file "` + missing + `": open`},
		{with(external, "--nats-nkey-file", good.Cert), nil, `--nats-nkey-file "` + good.Cert + `": not an nkey seed`},
		{with(external, "--nats-creds", nkey), nil, `--nats-creds "` + nkey + `": no user JWT`},
		{with(embedded, "--nats-nkey-file", nkey), nil, `--nats-nkey-file "` + nkey + `": an embedded server authorizes a token`},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		c := newCommand(nil, &out, &errOut, notifySignals)
		c.getenv = env(tt.env)
		if code := c.main(append([]string{"start"}, tt.args...)); code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("node start %q %v: exit %d, stderr %q; want exit 2 with %q", tt.args, tt.env, code, errOut.String(), tt.want)
		}
	}
	// A good nkey is accepted for an external NATS.
	if _, err := parseStartEnv(with(external, "--nats-nkey-file", nkey), env(nil)); err != nil {
		t.Errorf("a good nkey seed: %v", err)
	}
	if _, err := os.Stat(nkey); err != nil {
		t.Fatal(err)
	}
}

// An embedded NATS server on an address beyond loopback without TLS or
// credentials is warned about, naming the address and what it lacks.
func TestStartConfig_insecureNATS(t *testing.T) {
	cfg, err := parseStartEnv([]string{"--nats-embedded", "--nats-listen", "0.0.0.0:4222", "--nats-cluster", "127.0.0.1:6222",
		"--nats-routes", "127.0.0.1:6222"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	gaps := strings.Join(cfg.insecure(), "\n")
	for _, want := range []string{"client port 0.0.0.0:4222 has no credentials", "--nats-token-file", "no TLS", "--nats-tls-cert"} {
		if !strings.Contains(gaps, want) {
			t.Errorf("the warning lacks %q: %s", want, gaps)
		}
	}
	if strings.Contains(gaps, "route port") {
		t.Errorf("a route port on loopback is warned about: %s", gaps)
	}
	ca := testkit.NewCA(t, "cluster CA")
	cfg, err = parseStartEnv(append([]string{"--nats-embedded", "--nats-listen", "0.0.0.0:4222"}, natsTLSArgs(t, ca)...),
		env(map[string]string{NATSTokenEnv: natsToken}))
	if err != nil {
		t.Fatal(err)
	}
	if gaps := cfg.insecure(); len(gaps) != 0 {
		t.Errorf("a secured embedded server is warned about: %q", gaps)
	}
}
