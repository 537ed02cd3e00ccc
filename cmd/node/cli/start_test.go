package cli

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
	"github.com/troupe-dev/troupe/testkit"
)

func TestParseStart_defaults(t *testing.T) {
	cfg, err := parseStart(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := StartConfig{ActorAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1:7946", HTTPListen: "127.0.0.1:8081",
		Slots: runtime.NumCPU(), LogFormat: "text", LogLevel: slog.LevelInfo}
	if !sameConfig(cfg, want) {
		t.Fatalf("defaults %+v, want %+v", cfg, want)
	}
}

func TestParseStart(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--name", "n1.a_b-C", "--bind", "10.0.0.5:6000", "--gossip", "[::1]:0", "--http", ":0",
		"--join", "127.0.0.1:7946, host-b:7947", "--join", "[::1]:7948", "--slots", "3", "--data-dir", "/var/lib/n1",
		"--store", "file://shared/troupe", "--port-file", "ports.json", "--log-format", "json", "--log-level", "debug", "--memory", "1GiB", "--gc-percent", "off"}
	cfg, err := parseStart(args)
	if err != nil {
		t.Fatal(err)
	}
	want := StartConfig{Name: "n1.a_b-C", ActorAddr: "10.0.0.5:6000", GossipAddr: "[::1]:0", HTTPListen: ":0",
		Join: []string{"127.0.0.1:7946", "host-b:7947", "[::1]:7948"}, Slots: 3, DataDir: "/var/lib/n1",
		Store: "file://" + filepath.Join(cwd, "shared/troupe"), StoreDir: filepath.Join(cwd, "shared/troupe"),
		PortFile: "ports.json", LogFormat: "json", LogLevel: slog.LevelDebug, Memory: 1 << 30, GCPercent: actors.GCOff}
	if !sameConfig(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
	if cfg, err := parseStart([]string{"--jobstore-max-capacity", "50", "--jobstore-expiration-time", "30m"}); err != nil ||
		cfg.EndedJobs != (cluster.EndedJobs{MaxCount: 50, Expiration: 30 * time.Minute}) {
		t.Errorf("ended jobs' retention: %+v, %v", cfg.EndedJobs, err)
	}
	if cfg, err := parseStart(nil); err != nil || cfg.EndedJobs != (cluster.EndedJobs{}) {
		t.Errorf("ended jobs' retention by default: %+v (zero: the cluster's defaults), %v", cfg.EndedJobs, err)
	}
	if cfg, err := parseStart([]string{"--store", "file:///abs/dir/"}); err != nil || cfg.Store != "file:///abs/dir" || cfg.StoreDir != "/abs/dir" {
		t.Errorf("absolute store: %+v, %v", cfg, err)
	}
	if cfg, err := parseStart([]string{"--store", "nats://a:4222,b:4222?replicas=3"}); err != nil ||
		cfg.Store != "nats://a:4222,b:4222?replicas=3" || cfg.StoreDir != "" || cfg.NATS != nil {
		t.Errorf("nats store: %+v, %v", cfg, err)
	}
}

func TestParseStart_natsEmbedded(t *testing.T) {
	cfg, err := parseStart([]string{"--nats-embedded"})
	if err != nil || cfg.NATS == nil || cfg.NATS.Listen != DefaultNATSListen || cfg.NATS.Cluster != "" || cfg.NATS.Replicas() != 1 {
		t.Fatalf("--nats-embedded alone: %+v, %v", cfg.NATS, err)
	}
	if err := cfg.complete("127.0.0.1:8081", func() (string, error) { return "box", nil }); err != nil || cfg.Store != "" {
		t.Fatalf("the store of an embedded server is left to the node: %q, %v", cfg.Store, err)
	}
	if got := cfg.NATS.StoreURL("nats://127.0.0.1:41234"); got != "nats://127.0.0.1:41234" {
		t.Errorf("store URL of a standalone server: %s", got)
	}
	cfg, err = parseStart([]string{"--nats-embedded", "--nats-listen", "127.0.0.1:0", "--nats-cluster", "127.0.0.1:6222",
		"--nats-routes", "127.0.0.1:6222, 127.0.0.1:6223", "--nats-routes", "127.0.0.1:6224"})
	if err != nil {
		t.Fatal(err)
	}
	want := EmbeddedNATS{Listen: "127.0.0.1:0", Cluster: "127.0.0.1:6222", Routes: []string{"127.0.0.1:6222", "127.0.0.1:6223", "127.0.0.1:6224"}}
	if cfg.NATS == nil || cfg.NATS.Listen != want.Listen || cfg.NATS.Cluster != want.Cluster || !slices.Equal(cfg.NATS.Routes, want.Routes) {
		t.Fatalf("got %+v, want %+v", cfg.NATS, want)
	}
	if got := cfg.NATS.StoreURL("nats://127.0.0.1:41234"); got != "nats://127.0.0.1:41234?replicas=3" {
		t.Errorf("store URL over three servers: %s", got)
	}
	if err := cluster.CheckStoreURL(cfg.NATS.StoreURL("nats://127.0.0.1:41234")); err != nil {
		t.Errorf("the default store URL does not parse: %v", err)
	}
	cfg, err = parseStart([]string{"--nats-embedded", "--store", "file:///shared"})
	if err != nil || cfg.Store != "file:///shared" || cfg.NATS == nil {
		t.Fatalf("an embedded server beside a file store: %+v, %v", cfg, err)
	}
}

func sameConfig(a, b StartConfig) bool {
	return a.Name == b.Name && a.ActorAddr == b.ActorAddr && a.GossipAddr == b.GossipAddr && a.HTTPListen == b.HTTPListen &&
		a.HTTPAddr == b.HTTPAddr && slices.Equal(a.Join, b.Join) && a.Slots == b.Slots && a.DataDir == b.DataDir &&
		a.Store == b.Store && a.StoreDir == b.StoreDir && a.PortFile == b.PortFile && a.LogFormat == b.LogFormat &&
		a.LogLevel == b.LogLevel && a.Memory == b.Memory && a.GCPercent == b.GCPercent
}

func TestParseStart_errors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--bogus"}, "-bogus"},
		{[]string{"--name", "a b"}, `--name "a b": ' ' not allowed`},
		{[]string{"--name", "../x"}, `--name "../x": must not start with '.'`},
		{[]string{"--name", "n/1"}, `'/' not allowed`},
		{[]string{"--name", "nœud"}, `'œ' not allowed`},
		{[]string{"--name", strings.Repeat("n", 256)}, "longer than 255 bytes"},
		{[]string{"--bind", "127.0.0.1"}, `--bind "127.0.0.1": want HOST:PORT`},
		{[]string{"--bind", ":6000"}, `--bind ":6000": the other nodes dial this address`},
		{[]string{"--bind", "0.0.0.0:6000"}, "give a host they can reach"},
		{[]string{"--bind", "[::]:0"}, "give a host they can reach"},
		{[]string{"--bind", "127.0.0.1:70000"}, `port "70000" is not a number from 0 to 65535`},
		{[]string{"--gossip", "localhost:7946"}, `--gossip "localhost:7946": the host must be an IP address`},
		{[]string{"--gossip", "127.0.0.1:x"}, `port "x"`},
		{[]string{"--http", "8081"}, `--http "8081": want HOST:PORT`},
		{[]string{"--join", "127.0.0.1"}, `--join "127.0.0.1": want HOST:PORT`},
		{[]string{"--join", ":7946"}, `--join ":7946": no host`},
		{[]string{"--join", "a:7946,,b:7946"}, `--join "": want HOST:PORT`},
		{[]string{"--join", "a:0"}, "port 0"},
		{[]string{"--slots", "0"}, `"0" for flag -slots: want an integer from 1 to`},
		{[]string{"--slots", "many"}, `"many" for flag -slots`},
		{[]string{"--memory", "big"}, `"big" for flag -memory`},
		{[]string{"--memory", "8MiB"}, "below the least budget"},
		{[]string{"--gc-percent", "lazy"}, `"lazy" for flag -gc-percent: want a positive percentage`},
		{[]string{"--gc-percent", "off"}, "--gc-percent off needs --memory"},
		{[]string{"--store", "/shared/troupe"}, `--store "/shared/troupe": want a URL such as file:///shared/troupe`},
		{[]string{"--store", "nats://127.0.0.1"}, `--store "nats://127.0.0.1": `},
		{[]string{"--store", "nats://a:4222?replicas=9"}, "replicas"},
		{[]string{"--store", "nats://u:pw@a:4222"}, "without user"},
		{[]string{"--nats-listen", "127.0.0.1:4222"}, "--nats-listen: needs --nats-embedded"},
		{[]string{"--nats-routes", "a:6222"}, "--nats-routes: needs --nats-embedded"},
		{[]string{"--nats-embedded", "--nats-listen", "4222"}, `--nats-listen "4222": want HOST:PORT`},
		{[]string{"--nats-embedded", "--nats-cluster", "127.0.0.1:6222"}, "needs --nats-routes"},
		{[]string{"--nats-embedded", "--nats-routes", "a:6222"}, "needs --nats-cluster"},
		{[]string{"--nats-embedded", "--nats-cluster", "127.0.0.1:6222", "--nats-routes", "a:0"}, `--nats-routes "a:0": port 0`},
		{[]string{"--store", "s3://bucket"}, `unsupported scheme "s3"`},
		{[]string{"--store", "file://"}, "no directory"},
		{[]string{"--log-format", "xml"}, `--log-format "xml": want text or json`},
		{[]string{"--log-level", "loud"}, `--log-level "loud": want debug, info, warn or error`},
		{[]string{"--log-level", "warn-4"}, `--log-level "warn-4": want debug, info, warn or error`},
		{[]string{"--log-level", ""}, `--log-level "": want debug, info, warn or error`},
		{[]string{"--jobstore-max-capacity", "0"}, `"0" for flag -jobstore-max-capacity: want an integer of at least 1`},
		{[]string{"--jobstore-max-capacity", "lots"}, `-jobstore-max-capacity`},
		{[]string{"--jobstore-expiration-time", "0s"}, `"0s" for flag -jobstore-expiration-time: want a positive duration`},
		{[]string{"--jobstore-expiration-time", "3600"}, `-jobstore-expiration-time`},
	}
	for _, tt := range tests {
		if _, err := parseStart(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one containing %q", tt.args, err, tt.want)
		}
		// The command line says the same, with exit 2 and a hint.
		code, out, errOut := runMain(t, nil, append([]string{"start"}, tt.args...)...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, "node start --help") {
			t.Errorf("node start %q: exit %d, stdout %q, stderr %q", tt.args, code, out, errOut)
		}
	}
}

func TestStartConfig_complete(t *testing.T) {
	host := func(name string, err error) func() (string, error) {
		return func() (string, error) { return name, err }
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		bound     string
		hostname  func() (string, error)
		wantName  string
		wantHTTP  string
		wantData  string
		wantStore string
	}{
		{"defaults", nil, "127.0.0.1:8081", host("box", nil), "box-8081", "127.0.0.1:8081",
			filepath.Join(cwd, "troupe-data", "box-8081"), filepath.Join(cwd, "troupe-data", "box-8081", "store")},
		{"port 0 names by the bound port", []string{"--http", "127.0.0.1:0"}, "127.0.0.1:39999", host("box.example.com", nil),
			"box.example.com-39999", "127.0.0.1:39999", filepath.Join(cwd, "troupe-data", "box.example.com-39999"), ""},
		{"odd host name", nil, "127.0.0.1:8081", host(".bad host/ü", nil), "bad-host---8081", "", "", ""},
		{"no host name", nil, "127.0.0.1:8081", host("", errors.New("no")), "node-8081", "", "", ""},
		{"every interface advertises the bind host", []string{"--http", ":8085", "--bind", "10.1.2.3:0"}, "[::]:8085",
			host("box", nil), "box-8085", "10.1.2.3:8085", "", ""},
		{"given name and dirs", []string{"--name", "n1", "--data-dir", "rel/dir", "--store", "file:///shared"}, "127.0.0.1:8081",
			host("box", nil), "n1", "", filepath.Join(cwd, "rel/dir"), "/shared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseStart(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.complete(tt.bound, tt.hostname); err != nil {
				t.Fatal(err)
			}
			if cfg.Name != tt.wantName || (tt.wantHTTP != "" && cfg.HTTPAddr != tt.wantHTTP) ||
				(tt.wantData != "" && cfg.DataDir != tt.wantData) || (tt.wantStore != "" && cfg.StoreDir != tt.wantStore) {
				t.Fatalf("got name %q, http %q, data %q, store %q", cfg.Name, cfg.HTTPAddr, cfg.DataDir, cfg.StoreDir)
			}
			if cfg.Store != "file://"+cfg.StoreDir || !filepath.IsAbs(cfg.DataDir) || checkName(cfg.Name) != nil {
				t.Fatalf("inconsistent config %+v", cfg)
			}
			meta := cluster.NodeMeta{Name: cfg.Name, GossipAddr: "127.0.0.1:1", HTTPAddr: cfg.HTTPAddr, StartTime: 1, Incarnation: 1}
			if err := meta.Validate(); err != nil {
				t.Fatalf("the node could not publish this config: %v", err)
			}
		})
	}
}

// fakeNode is a RunningNode over a resttest.Service that records what
// node start did to it.
type fakeNode struct {
	svc *resttest.Service
	mu  sync.Mutex
	ops []string
}

func (n *fakeNode) ActorAddr() string     { return "127.0.0.1:40001" }
func (n *fakeNode) GossipAddr() string    { return "127.0.0.1:40002" }
func (n *fakeNode) Service() rest.Service { return n.svc }

func (n *fakeNode) Leave(timeout time.Duration) error {
	n.record("leave " + timeout.String())
	return nil
}

func (n *fakeNode) Close() error {
	n.record("close")
	return nil
}

// SetGossipKeys records the keys' count (keyRotator).
func (n *fakeNode) SetGossipKeys(keys [][]byte) error {
	n.record("keys " + strconv.Itoa(len(keys)))
	return nil
}

func (n *fakeNode) record(op string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ops = append(n.ops, op)
}

func (n *fakeNode) done() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.ops)
}

// startHarness runs node start in the background with a fake signal
// channel and the given StartFunc.
type startHarness struct {
	sigs   chan os.Signal
	hups   chan os.Signal // SIGHUP
	code   chan int
	stdout *syncBuffer
	stderr *syncBuffer
	cfg    chan StartConfig // the config the StartFunc got
}

func runStart(t *testing.T, start StartFunc, args ...string) *startHarness {
	t.Helper()
	h := &startHarness{sigs: make(chan os.Signal, 2), hups: make(chan os.Signal, 1), code: make(chan int, 1), stdout: newSyncBuffer(),
		stderr: newSyncBuffer(), cfg: make(chan StartConfig, 1)}
	c := newCommand(nil, h.stdout, h.stderr, func() (<-chan os.Signal, func()) { return h.sigs, func() {} })
	c.notifyReload = func() (<-chan os.Signal, func()) { return h.hups, func() {} }
	c.hostname = func() (string, error) { return "testhost", nil }
	if start != nil {
		c.start = func(ctx context.Context, cfg StartConfig) (RunningNode, error) {
			h.cfg <- cfg
			return start(ctx, cfg)
		}
	}
	go func() { h.code <- c.main(append([]string{"start"}, args...)) }()
	t.Cleanup(func() {
		select {
		case h.sigs <- syscall.SIGTERM:
		default:
		}
		<-h.code // the command always ends after a signal
	})
	return h
}

// exit waits for the command's exit code.
func (h *startHarness) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-h.code:
		h.code <- code // for the cleanup
		return code
	case <-time.After(testkit.Dilated(30 * time.Second)):
		t.Fatalf("node start did not exit; stderr:\n%s", h.stderr)
		return -1
	}
}

// readPortFile waits for the port file and decodes it.
func readPortFile(t *testing.T, path string) PortFile {
	t.Helper()
	var pf PortFile
	testkit.Eventually(t, 10*time.Second, func() bool {
		b, err := os.ReadFile(path)
		return err == nil && json.Unmarshal(b, &pf) == nil
	}, "port file %s", path)
	return pf
}

func TestStart(t *testing.T) {
	dir := t.TempDir()
	portFile := filepath.Join(dir, "ports.json")
	if err := os.WriteFile(portFile, []byte(`{"name":"stale"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	node := &fakeNode{svc: resttest.New("wordcount")}
	node.svc.SetMembers([]cluster.MemberStatus{{Name: "testhost-x", Coordinator: true}})
	ready := make(chan struct{})
	h := runStart(t, func(ctx context.Context, cfg StartConfig) (RunningNode, error) {
		<-ready // the port file must not appear before the node is ready
		return node, nil
	}, "--http", "127.0.0.1:0", "--port-file", portFile, "--data-dir", filepath.Join(dir, "data"), "--slots", "2")

	cfg := <-h.cfg
	if _, err := os.Stat(portFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("before the node is ready, the port file is there (%v)", err)
	}
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil || port == "0" {
		t.Fatalf("HTTPAddr %q: want the bound port", cfg.HTTPAddr)
	}
	if cfg.Name != "testhost-"+port || cfg.Slots != 2 || cfg.Store != "file://"+filepath.Join(dir, "data", "store") ||
		cfg.Logger == nil || cfg.Registry == nil {
		t.Fatalf("the node got %+v", cfg)
	}
	close(ready)
	pf := readPortFile(t, portFile)
	want := PortFile{Name: cfg.Name, Actor: "127.0.0.1:40001", Gossip: "127.0.0.1:40002", HTTP: cfg.HTTPAddr, Store: cfg.Store}
	if pf != want {
		t.Fatalf("port file %+v, want %+v", pf, want)
	}
	if matches, _ := filepath.Glob(portFile + ".tmp*"); len(matches) != 0 {
		t.Errorf("temporary files left: %q", matches)
	}

	// The REST API of the node is served on the port of the port file.
	cl, err := rest.NewClient("http://"+pf.HTTP, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, err := cl.Submit(context.Background(), cluster.JobRequest{Pipeline: "wordcount"})
	if err != nil || id != "job-1" {
		t.Fatalf("submit: %q, %v", id, err)
	}
	if ms, err := cl.Members(context.Background()); err != nil || len(ms) != 1 {
		t.Fatalf("members: %+v, %v", ms, err)
	}

	h.sigs <- syscall.SIGTERM
	if code := h.exit(t); code != ExitOK {
		t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, h.stderr)
	}
	if got, want := strings.Join(node.done(), ";"), "leave "+leaveTimeout.String()+";close"; got != want {
		t.Errorf("node ops %q, want %q", got, want)
	}
	if _, err := os.Stat(portFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the port file outlived the node (%v)", err)
	}
	if err := cl.Health(context.Background()); err == nil {
		t.Error("the REST API still answers after the node stopped")
	}
	for _, w := range []string{"node ready", "leaving the cluster", "signal=terminated"} {
		if !strings.Contains(h.stderr.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, h.stderr)
		}
	}
}

func TestStart_jsonLogs(t *testing.T) {
	dir := t.TempDir()
	node := &fakeNode{svc: resttest.New()}
	h := runStart(t, func(context.Context, StartConfig) (RunningNode, error) { return node, nil },
		"--http", "127.0.0.1:0", "--port-file", filepath.Join(dir, "p.json"), "--data-dir", dir, "--log-format", "json")
	readPortFile(t, filepath.Join(dir, "p.json"))
	h.sigs <- syscall.SIGINT
	if code := h.exit(t); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for line := range strings.Lines(h.stderr.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] == nil {
			t.Errorf("log line %q is not a JSON record", line)
		}
	}
}

// TestStart_signalWhileStarting: a signal before the node is ready
// cancels the start; the command exits 0 without a port file.
func TestStart_signalWhileStarting(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{})
	h := runStart(t, func(ctx context.Context, cfg StartConfig) (RunningNode, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}, "--http", "127.0.0.1:0", "--port-file", filepath.Join(dir, "p.json"), "--data-dir", dir)
	<-started
	h.sigs <- syscall.SIGINT
	if code := h.exit(t); code != ExitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, h.stderr)
	}
	if !strings.Contains(h.stderr.String(), "stopped before the node was ready") {
		t.Errorf("stderr:\n%s", h.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "p.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("port file written (%v)", err)
	}
}

func TestStart_startFails(t *testing.T) {
	dir := t.TempDir()
	h := runStart(t, func(context.Context, StartConfig) (RunningNode, error) {
		return nil, errors.New("store file:///x: permission denied")
	}, "--http", "127.0.0.1:0", "--data-dir", dir)
	if code := h.exit(t); code != ExitFailed || !strings.Contains(h.stderr.String(), "permission denied") {
		t.Fatalf("exit %d, stderr:\n%s", code, h.stderr)
	}
}

func TestStart_httpInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var called atomic.Bool
	h := runStart(t, func(context.Context, StartConfig) (RunningNode, error) {
		called.Store(true)
		return nil, errors.New("started on an address in use")
	}, "--http", addr, "--data-dir", t.TempDir())
	if code := h.exit(t); code != ExitFailed || !strings.Contains(h.stderr.String(), "--http "+addr) || called.Load() {
		t.Fatalf("exit %d, started %v, stderr:\n%s", code, called.Load(), h.stderr)
	}
}

func TestStart_portFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	node := &fakeNode{svc: resttest.New()}
	h := runStart(t, func(context.Context, StartConfig) (RunningNode, error) { return node, nil },
		"--http", "127.0.0.1:0", "--port-file", filepath.Join(dir, "missing", "p.json"), "--data-dir", dir)
	if code := h.exit(t); code != ExitFailed || !strings.Contains(h.stderr.String(), "cannot write the port file") {
		t.Fatalf("exit %d, stderr:\n%s", code, h.stderr)
	}
	if got := strings.Join(node.done(), ";"); got != "leave "+leaveTimeout.String()+";close" {
		t.Errorf("node ops %q: the node must leave and close", got)
	}
}

func TestStart_noRuntime(t *testing.T) {
	code, out, errOut := runMain(t, nil, "start", "--http", "127.0.0.1:0")
	if code != ExitFailed || out != "" || !strings.Contains(errOut, "no cluster runtime") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestWritePortFile_replaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.json")
	for i := range 3 {
		pf := PortFile{Name: "n" + strconv.Itoa(i), HTTP: "127.0.0.1:1"}
		if err := writePortFile(path, pf); err != nil {
			t.Fatal(err)
		}
		if got := readPortFile(t, path); got != pf {
			t.Fatalf("read %+v, want %+v", got, pf)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the port file alone", len(entries))
	}
}
