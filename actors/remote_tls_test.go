package actors_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/testkit"
)

// Two engines with remote in one process trip the race detector
// (NOTES-deps.md): the engine with TLS is a child node of the test binary
// (StartTestNode), and its peers here are plain gRPC clients of its
// remote server, which is what another node's endpoint writer is. Two
// engines with TLS dialing each other are tested by the cluster tests of
// cmd/node.

// callRemote makes one call to the remote server at addr with creds and
// returns its error. Our remote serves only Proto.Actor's message stream,
// so a call that reaches it is answered Unimplemented; one that cannot
// get through the transport fails Unavailable.
func callRemote(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(10*time.Second))
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = remote.NewRemotingClient(conn).ListProcesses(ctx, &remote.ListProcessesRequest{})
	return err
}

// A node's remote accepts only peers with a certificate its CA signed,
// and a peer accepts it only with a certificate the peer's CA signed.
func TestRemoteConfig_TLS_mutualAuthentication(t *testing.T) {
	ca, other := testkit.NewCA(t, "cluster CA"), testkit.NewCA(t, "another CA")
	f := ca.WriteFiles(t, t.TempDir(), "tls1", "127.0.0.1")
	addr := actors.StartTestNode(t, "tls1", actors.TLSNodeEnv(f.Cert, f.Key, f.CA))
	client := func(signer, trusted *testkit.CA) credentials.TransportCredentials {
		c := &tls.Config{RootCAs: trusted.Pool(), MinVersion: tls.VersionTLS13}
		if signer != nil {
			c.Certificates = signer.MutualTLS(t, "peer", "127.0.0.1").Certificates
		}
		return credentials.NewTLS(c)
	}
	for _, tc := range []struct {
		name  string
		creds credentials.TransportCredentials
		want  codes.Code
	}{
		{"a peer signed by the CA", client(ca, ca), codes.Unimplemented},
		{"a peer signed by another CA", client(other, ca), codes.Unavailable},
		{"a peer without a certificate", client(nil, ca), codes.Unavailable},
		{"a peer that trusts another CA", client(ca, other), codes.Unavailable},
		{"a plaintext peer", insecure.NewCredentials(), codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callRemote(t, addr, tc.creds)
			if got := status.Code(err); got != tc.want {
				t.Fatalf("call: %v (%v), want %v", got, err, tc.want)
			}
		})
	}
	// An engine without TLS cannot reach the node's task manager.
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(10*time.Second))
	defer cancel()
	if err := actors.SharedRemoteEngine(t).ProbeTaskManager(ctx, addr); err == nil {
		t.Fatal("a plaintext engine reached the task manager of a node with TLS")
	}
}

// Proto.Actor's remote server panics in the calls it does not implement,
// and a panic in a gRPC handler ends the process: any peer that reaches
// the port of a plaintext node could stop it. The engine refuses those
// calls instead.
func TestRemoteConfig_unaryCallsRefused(t *testing.T) {
	addr := actors.StartTestNode(t, "plain1")
	err := callRemote(t, addr, insecure.NewCredentials())
	if got := status.Code(err); got != codes.Unimplemented {
		t.Fatalf("ListProcesses: %v (%v), want Unimplemented", got, err)
	}
	// The node still runs: it answers over remote.
	if err := actors.SharedRemoteEngine(t).ProbeTaskManager(context.Background(), addr); err != nil {
		t.Fatalf("after the call: %v", err)
	}
}

func TestRemoteConfig_TLS_invalid(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	for _, tc := range []struct {
		name   string
		change func(*tls.Config)
		want   string
	}{
		{"no certificate", func(c *tls.Config) { c.Certificates = nil }, "no certificate"},
		{"no root CAs", func(c *tls.Config) { c.RootCAs = nil }, "RootCAs"},
		{"no client CAs", func(c *tls.Config) { c.ClientCAs = nil }, "ClientCAs"},
		{"client certificates not required", func(c *tls.Config) { c.ClientAuth = tls.VerifyClientCertIfGiven }, "ClientAuth"},
		{"verification off", func(c *tls.Config) { c.InsecureSkipVerify = true }, "InsecureSkipVerify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ca.MutualTLS(t, "node", "127.0.0.1")
			tc.change(c)
			cfg := actors.DefaultConfig()
			cfg.Logger = actors.QuietLogger()
			cfg.Remote = &actors.RemoteConfig{Host: "127.0.0.1", TLS: c}
			e, err := actors.NewEngine(cfg) // refused before remote starts
			if err == nil {
				_ = e.Close()
				t.Fatal("NewEngine accepted the config")
			}
			if !errors.Is(err, actors.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want ErrConfig naming %s", err, tc.want)
			}
		})
	}
}

// ProbeTaskManager returns once the task manager at the address answered,
// and fails, naming the address, when none answers.
func TestEngine_ProbeTaskManager(t *testing.T) {
	e := actors.SharedRemoteEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(10*time.Second))
	defer cancel()
	if err := e.ProbeTaskManager(ctx, e.Address()); err != nil {
		t.Fatalf("probe of its own task manager: %v", err)
	}
	addr := actors.StartTestNode(t, "probe1")
	if err := e.ProbeTaskManager(ctx, addr); err != nil {
		t.Fatalf("probe of %s: %v", addr, err)
	}
	const nobody = "127.0.0.1:1"
	if err := e.ProbeTaskManager(ctx, nobody); err == nil || !strings.Contains(err.Error(), nobody) {
		t.Fatalf("probe of %s: %v, want an error naming it", nobody, err)
	}
}
