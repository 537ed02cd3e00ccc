package actors

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/persistence"
)

// Multi-node tests. Proto.Actor remote cannot run twice in one -race
// process (gRPC's global logger is set at every start), so the nodes of
// a test cluster are child processes of the test binary itself: run with
// TROUPE_TEST_NODE=<name>, TestMain makes the binary a node (runTestNode)
// instead of running tests. The test process has one engine with remote
// of its own, shared by every cluster test (coordinator): it holds the
// job masters and, as node "coord", a task manager. Every node opens its
// checkpoint stores in one shared directory, as a cluster's nodes share
// a file:// store.

const (
	nodeEnv       = "TROUPE_TEST_NODE"    // the child node's name
	storeEnv      = "TROUPE_TEST_STORE"   // the shared checkpoint directory
	cpuProfileEnv = "TROUPE_TEST_CPUPROF" // where a child node writes a CPU profile
	// tlsEnv, if set, secures a child node's remote with mutual TLS: the
	// files of its certificate, key and CA, comma separated.
	tlsEnv = "TROUPE_TEST_TLS"
	// testBatchBytes is every test node's fragment cap: small, so that
	// batches of big records cross in several fragments.
	testBatchBytes = 64 << 10
	testNodeSlots  = 8
)

func TestMain(m *testing.M) {
	if name := os.Getenv(nodeEnv); name != "" {
		os.Exit(runTestNode(name))
	}
	code := m.Run()
	closeCoordinator()
	os.Exit(code)
}

// testNodeConfig is the configuration of every node of a test cluster.
func testNodeConfig(name, store string, logs io.Writer) Config {
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", name)
	cfg.Remote = &RemoteConfig{Host: "127.0.0.1", BatchBytes: testBatchBytes}
	cfg.Checkpoint.Store = func(job, run string) (CheckpointStore, error) {
		return persistence.OpenDirStore(filepath.Join(store, job, run), 3)
	}
	return cfg
}

// runTestNode is a child node: an engine with remote on a free port and
// a task manager running the cluster tests' pipelines, and a probe actor
// that reports the node's counters. It prints "addr <address>" once
// ready and runs until its standard input closes or it is signalled.
func runTestNode(name string) int {
	if path := os.Getenv(cpuProfileEnv); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	cfg := testNodeConfig(name, os.Getenv(storeEnv), os.Stderr)
	if files := os.Getenv(tlsEnv); files != "" {
		var err error
		if cfg.Remote.TLS, err = loadTestTLS(files); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	e, err := NewEngine(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := e.StartTaskManager(clusterRegistry(), testNodeSlots); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := e.sys.Root.SpawnNamed(actor.PropsFromFunc(probe(e)), "probe"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("addr %s\n", e.Address())
	stdinClosed := make(chan struct{})
	go func() { // ends with stdin, or with the process
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-stdinClosed:
	case <-sig:
	}
	_ = e.Close()
	return 0
}

// loadTestTLS reads tlsEnv's "cert,key,ca" into a mutual-TLS config.
func loadTestTLS(files string) (*tls.Config, error) {
	f := strings.Split(files, ",")
	if len(f) != 3 {
		return nil, fmt.Errorf("%s=%q: want cert,key,ca", tlsEnv, files)
	}
	cert, err := tls.LoadX509KeyPair(f[0], f[1])
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(f[2])
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no certificate", f[2])
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}, nil
}

// nodeStats is what a node's probe reports.
type nodeStats struct {
	Counters  map[string]int64
	HeapBytes uint64
	Remote    RemoteStats
	CPU       time.Duration // the node process's CPU time so far
}

// probe answers a "stats" request with the node's nodeStats as JSON.
func probe(e *Engine) actor.ReceiveFunc {
	return func(ctx actor.Context) {
		if _, ok := ctx.Message().(*wrapperspb.StringValue); !ok {
			return
		}
		ctx.Respond(wrapperspb.String(string(statsJSON(e))))
	}
}

func statsJSON(e *Engine) []byte {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := nodeStats{Counters: counterValues(), HeapBytes: ms.HeapAlloc, Remote: e.RemoteStats(), CPU: processCPU()}
	b, _ := json.Marshal(s)
	return b
}

// The coordinator: the test process's engine with remote, created by
// the first cluster test and closed after all tests.
var coord struct {
	once  sync.Once
	e     *Engine
	tm    *TaskManager
	store string
	err   error
}

func coordinator(tb testing.TB) (*Engine, *TaskManager) {
	tb.Helper()
	coord.once.Do(func() {
		if coord.store, coord.err = os.MkdirTemp("", "troupe-cluster-test-"); coord.err != nil {
			return
		}
		cfg := testNodeConfig("coord", coord.store, io.Discard)
		if coord.e, coord.err = NewEngine(cfg); coord.err != nil {
			return
		}
		coord.tm, coord.err = coord.e.StartTaskManager(clusterRegistry(), testNodeSlots)
	})
	if coord.err != nil {
		tb.Fatalf("coordinator: %v", coord.err)
	}
	return coord.e, coord.tm
}

func closeCoordinator() {
	if coord.e != nil {
		_ = coord.e.Close()
	}
	if coord.store != "" {
		_ = os.RemoveAll(coord.store)
	}
}

// testNode is a child node process.
type testNode struct {
	name string
	addr string
	cmd  *exec.Cmd
	in   io.WriteCloser
	log  string
	done chan struct{} // closed once the process has exited
}

// startNode starts child node name (extra environment in env) and waits
// for its address. On cleanup it is stopped; its log is printed if the
// test failed, and a data race it reported fails the test.
func startNode(tb testing.TB, name string, env ...string) *testNode {
	tb.Helper()
	coordinator(tb)
	n := &testNode{name: name, log: filepath.Join(tb.TempDir(), name+".log"), done: make(chan struct{})}
	logf, err := os.Create(n.log)
	if err != nil {
		tb.Fatal(err)
	}
	n.cmd = exec.Command(os.Args[0], "-test.run=^$")
	n.cmd.Env = append(os.Environ(), append([]string{nodeEnv + "=" + name, storeEnv + "=" + coord.store}, env...)...)
	n.cmd.Stderr = logf
	out, err := n.cmd.StdoutPipe()
	if err == nil {
		n.in, err = n.cmd.StdinPipe()
	}
	if err == nil {
		err = n.cmd.Start()
	}
	logf.Close() // the child has its own descriptor
	if err != nil {
		tb.Fatalf("start node %s: %v", name, err)
	}
	addr := make(chan string, 1)
	go n.read(out, addr) // ends when the process's stdout closes; done closes then
	tb.Cleanup(func() { n.cleanup(tb) })
	select {
	case a := <-addr:
		n.addr = a
	case <-n.done:
		tb.Fatalf("node %s exited before it was ready:\n%s", name, n.logText())
	case <-time.After(30 * time.Second):
		tb.Fatalf("node %s did not print its address in 30s:\n%s", name, n.logText())
	}
	return n
}

// read takes the address line, then drains stdout, and waits for the
// process.
func (n *testNode) read(out io.Reader, addr chan<- string) {
	defer close(n.done)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "addr "); ok {
			addr <- a
		}
	}
	_ = n.cmd.Wait()
}

// stop closes the node's stdin, which makes it close its engine and
// exit, and waits for it (killing it after a while).
func (n *testNode) stop() {
	_ = n.in.Close()
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// kill ends the node at once, as a crash would.
func (n *testNode) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

func (n *testNode) cleanup(tb testing.TB) {
	n.stop()
	text := n.logText()
	if strings.Contains(text, "DATA RACE") {
		tb.Errorf("node %s reported a data race:\n%s", n.name, text)
		return
	}
	if tb.Failed() {
		tb.Logf("log of node %s:\n%s", n.name, text)
	}
}

func (n *testNode) logText() string {
	b, _ := os.ReadFile(n.log)
	return string(b)
}

func (n *testNode) taskManager() *actor.PID { return TaskManagerPID(n.addr) }

// request asks a node's actor and waits for the answer.
func request(tb testing.TB, to *actor.PID, msg any) any {
	tb.Helper()
	e, _ := coordinator(tb)
	res, err := e.sys.Root.RequestFuture(to, msg, 5*time.Second).Result()
	if err != nil {
		tb.Fatalf("request to %s: %v", to, err)
	}
	return res
}

// stats asks node n for its nodeStats.
func (n *testNode) stats(tb testing.TB) nodeStats {
	tb.Helper()
	res := request(tb, actor.NewPID(n.addr, "probe"), wrapperspb.String("stats"))
	var s nodeStats
	if err := json.Unmarshal([]byte(res.(*wrapperspb.StringValue).GetValue()), &s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// tmStatus asks the task manager at pid what it holds.
func tmStatus(tb testing.TB, pid *actor.PID) *wire.TaskManagerStatus {
	tb.Helper()
	res, ok := request(tb, pid, &wire.TaskManagerStatusRequest{}).(*wire.TaskManagerStatus)
	if !ok {
		tb.Fatalf("task manager %s answered %T", pid, res)
	}
	return res
}

// waitTaskManagersEmpty polls until every task manager in pids holds no
// run and no slot.
func waitTaskManagersEmpty(tb testing.TB, pids ...*actor.PID) {
	tb.Helper()
	for _, pid := range pids {
		var st *wire.TaskManagerStatus
		eventually(tb, 10*time.Second, func() bool {
			st = tmStatus(tb, pid)
			return len(st.Runs) == 0 && st.SlotsUsed == 0
		}, fmt.Sprintf("task manager %s to be empty", pid))
	}
}

// waitCtx is a context for waiting for a test job.
func waitCtx(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
