package actors

import "testing"

// Midway is midway for the external tests (package actors_test), which
// use testkit: a record count 40–70 % through n, at random, seeded by
// TROUPE_SEED when it is set and logged either way.
var Midway = midway

// StartTestNode starts a child node of the package's cluster tests (see
// cluster_node_test.go), with extra environment entries, and returns its
// remote address; TLSNodeEnv secures its remote with mutual TLS.
func StartTestNode(tb testing.TB, name string, env ...string) string {
	tb.Helper()
	return startNode(tb, name, env...).addr
}

// TLSNodeEnv is the environment entry that gives a child node of
// StartTestNode these certificate, key and CA files.
func TLSNodeEnv(cert, key, ca string) string { return tlsEnv + "=" + cert + "," + key + "," + ca }

// SharedRemoteEngine returns the test process's engine with remote (plain
// text), shared by the package's cluster tests; it has a task manager.
// Use it rather than a second engine with remote: two in one process trip
// the race detector.
func SharedRemoteEngine(tb testing.TB) *Engine {
	tb.Helper()
	e, _ := coordinator(tb)
	return e
}

// inRestartDelay reports whether every agent of the failed attempt is
// gone and the master waits for the restart delay.
func (m *master) inRestartDelay() bool {
	return m.state == masterRestartDelay
}
