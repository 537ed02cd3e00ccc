package testkit

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
)

// Cluster is a cluster of troupe nodes for a test: each node is a child
// process of the real node binary (`node start`), on 127.0.0.1 ports the
// OS chose (read from its --port-file), all joining the first node's
// gossip address and sharing one store directory. StartCluster starts it
// and stops it when the test ends; every node's log is kept in the test's
// temporary directory and printed if the test fails.
//
// Its methods are called from the test's goroutine.
type Cluster struct {
	t     testing.TB
	bin   string
	dir   string
	store string
	opts  clusterOptions
	nodes []*clusterNode
	// natsRoutes are the embedded NATS servers' route addresses, node i's
	// at i (WithEmbeddedNATS, more than one node).
	natsRoutes []string
}

type clusterNode struct {
	name    string
	dir     string
	args    []string // this node's own, after the cluster's
	env     []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	ports   portFile
	client  *rest.Client
	starts  int
	paused  bool // PartitionNode froze it; HealNode thaws it
	// launched and ready: when the latest start's process was started
	// and when its port file was read
	launched, ready time.Time
}

// portFile mirrors cli.PortFile.
type portFile struct {
	Name   string `json:"name"`
	Actor  string `json:"actor"`
	Gossip string `json:"gossip"`
	HTTP   string `json:"http"`
	NATS   string `json:"nats"`
	Store  string `json:"store"`
}

type clusterOptions struct {
	pkg   string
	bin   string
	slots int
	args  []string
	env   []string
	nats  bool
	// how the test's REST clients reach the nodes
	clientTLS *tls.Config
	token     string
}

// ClusterOption configures StartCluster.
type ClusterOption func(*clusterOptions)

// WithNodePackage builds the nodes from another main package than troupe's
// cmd/node (a program of yours that calls cli.Main with its pipelines):
// its import path or a directory.
func WithNodePackage(pkg string) ClusterOption { return func(o *clusterOptions) { o.pkg = pkg } }

// WithNodeBinary runs the nodes from a node binary built already (such
// as one a test package builds once for all its tests) instead of
// building one.
func WithNodeBinary(path string) ClusterOption { return func(o *clusterOptions) { o.bin = path } }

// WithSlots sets every node's --slots (default 4).
func WithSlots(n int) ClusterOption { return func(o *clusterOptions) { o.slots = n } }

// WithNodeArgs adds arguments to every node's `node start` command line.
func WithNodeArgs(args ...string) ClusterOption {
	return func(o *clusterOptions) { o.args = append(o.args, args...) }
}

// WithNodeEnv adds KEY=VALUE entries to every node's environment.
func WithNodeEnv(env ...string) ClusterOption {
	return func(o *clusterOptions) { o.env = append(o.env, env...) }
}

// WithEmbeddedNATS runs a NATS server with JetStream in every node
// (--nats-embedded), the servers routed to each other, and makes it each
// node's store (nats://, three replicas with three or more nodes) in
// place of the shared directory. The route ports are chosen when the
// cluster starts and kept when a node starts again.
func WithEmbeddedNATS() ClusterOption { return func(o *clusterOptions) { o.nats = true } }

// WithClientTLS makes the test's REST clients (Client, Members, Submit,
// WaitMembers, …) speak HTTPS to the nodes, verifying them with cfg
// (RootCAs: the CA of the nodes' --tls-cert).
func WithClientTLS(cfg *tls.Config) ClusterOption {
	return func(o *clusterOptions) { o.clientTLS = cfg }
}

// WithAPIToken makes the test's REST clients send token, for nodes
// started with --api-token-file.
func WithAPIToken(token string) ClusterOption { return func(o *clusterOptions) { o.token = token } }

// StartCluster builds the node binary (unless WithNodeBinary gives one),
// starts n nodes and waits until every node sees all n as members.
// TROUPE_CLUSTER_RACE=1 in the environment builds it with -race.
func StartCluster(t testing.TB, n int, opts ...ClusterOption) *Cluster {
	t.Helper()
	o := clusterOptions{pkg: "github.com/troupe-dev/troupe/cmd/node", slots: 4}
	for _, opt := range opts {
		opt(&o)
	}
	dir := t.TempDir()
	bin := o.bin
	if bin == "" {
		bin = nodeBinary(t, o.pkg, dir)
	}
	c := &Cluster{t: t, bin: bin, dir: dir, store: filepath.Join(dir, "store"), opts: o}
	if o.nats && n > 1 {
		for _, p := range freePorts(t, n) {
			c.natsRoutes = append(c.natsRoutes, "127.0.0.1:"+strconv.Itoa(p))
		}
	}
	t.Cleanup(c.stopAll)
	for i := range n {
		c.nodes = append(c.nodes, &clusterNode{name: fmt.Sprintf("n%d", i+1), dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1))})
		c.StartNode(i)
	}
	c.WaitMembers(n)
	return c
}

// StoreDir returns the store directory every node shares (unused with
// WithEmbeddedNATS).
func (c *Cluster) StoreDir() string { return c.store }

// StoreURL returns the URL of node i's store, as its port file says.
func (c *Cluster) StoreURL(i int) string { return c.nodes[i].ports.Store }

// NATSURL returns the client URL of node i's embedded NATS server
// (WithEmbeddedNATS), or "".
func (c *Cluster) NATSURL(i int) string { return c.nodes[i].ports.NATS }

// Size returns the number of nodes, running or not.
func (c *Cluster) Size() int { return len(c.nodes) }

// Name returns node i's name ("n1", "n2", …).
func (c *Cluster) Name(i int) string { return c.nodes[i].name }

// HTTPAddr returns node i's REST address.
func (c *Cluster) HTTPAddr(i int) string { return c.nodes[i].ports.HTTP }

// Client returns a REST client of node i.
func (c *Cluster) Client(i int) *rest.Client { return c.nodes[i].client }

// AddNode starts one more node, named after its place ("n4" in a cluster
// of three), joining a running node, with the cluster's arguments and
// environment and then those of opts (WithNodeArgs, WithNodeEnv; of two
// values of one flag, node start takes the later). It waits for the
// node's port file, not for it to be a member: tests of nodes that must
// not get in use it. It returns the node's index.
func (c *Cluster) AddNode(opts ...ClusterOption) int {
	c.t.Helper()
	var o clusterOptions
	for _, opt := range opts {
		opt(&o)
	}
	i := len(c.nodes)
	name := fmt.Sprintf("n%d", i+1)
	c.nodes = append(c.nodes, &clusterNode{name: name, dir: filepath.Join(c.dir, name), args: o.args, env: o.env})
	c.StartNode(i)
	return i
}

// StartNode starts node i (again, after KillNode or StopNode), joining the
// first running node, and waits for its port file.
func (c *Cluster) StartNode(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	if nd.cmd != nil && !nd.done() {
		c.t.Fatalf("testkit: node %s is running", nd.name)
	}
	nd.starts++
	nd.paused = false
	if err := os.MkdirAll(nd.dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	portPath := filepath.Join(nd.dir, "ports.json")
	_ = os.Remove(portPath)
	args := []string{"start", "--name", nd.name, "--bind", "127.0.0.1:0", "--gossip", "127.0.0.1:0",
		"--http", "127.0.0.1:0", "--slots", strconv.Itoa(c.opts.slots), "--data-dir", nd.dir,
		"--port-file", portPath, "--log-level", "debug"}
	args = append(args, c.storeArgs(i)...)
	if seed := c.seed(i); seed != "" {
		args = append(args, "--join", seed)
	}
	args = append(append(args, c.opts.args...), nd.args...)
	nd.logPath = filepath.Join(nd.dir, fmt.Sprintf("node-%d.log", nd.starts))
	logFile, err := os.Create(nd.logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(append(os.Environ(), c.opts.env...), nd.env...)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		c.t.Fatalf("testkit: start node %s: %v", nd.name, err)
	}
	nd.cmd, nd.exited, nd.launched = cmd, make(chan struct{}), time.Now()
	go func() { _ = cmd.Wait(); logFile.Close(); close(nd.exited) }()
	c.readPorts(nd, portPath)
	nd.ready = time.Now()
}

// storeArgs are node i's flags of the store: the shared directory, or
// its embedded NATS server.
func (c *Cluster) storeArgs(i int) []string {
	if !c.opts.nats {
		return []string{"--store", "file://" + c.store}
	}
	args := []string{"--nats-embedded", "--nats-listen", "127.0.0.1:0"}
	if len(c.natsRoutes) > 0 {
		args = append(args, "--nats-cluster", c.natsRoutes[i], "--nats-routes", strings.Join(c.natsRoutes, ","))
	}
	return args
}

// freePorts returns n distinct loopback TCP ports that were free a
// moment ago, chosen at random below the ephemeral range (Linux's starts
// at 32768): a port the OS hands out for port 0 — to the nodes' other
// listeners, started meanwhile — is never one of them.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	const lo, hi = 20000, 32768
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatalf("testkit: no free port in [%d, %d)", lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		if slices.Contains(ports, p) {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue // in use
		}
		ln.Close()
		ports = append(ports, p)
	}
	return ports
}

// seed returns the gossip address of a running node other than i.
func (c *Cluster) seed(i int) string {
	for j, nd := range c.nodes {
		if j != i && nd.cmd != nil && !nd.done() && nd.ports.Gossip != "" {
			return nd.ports.Gossip
		}
	}
	return ""
}

func (c *Cluster) readPorts(nd *clusterNode, path string) {
	c.t.Helper()
	deadline := time.Now().Add(Dilated(30 * time.Second))
	for {
		b, err := os.ReadFile(path)
		if err == nil && json.Unmarshal(b, &nd.ports) == nil && nd.ports.HTTP != "" {
			break
		}
		if nd.done() || time.Now().After(deadline) {
			c.t.Fatalf("testkit: node %s did not become ready (port file %s): %s", nd.name, path, tail(nd.logPath))
		}
		time.Sleep(5 * time.Millisecond) // polling a file another process writes
	}
	scheme, hc := "http://", http.DefaultClient
	if c.opts.clientTLS != nil {
		scheme = "https://"
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = c.opts.clientTLS
		hc = &http.Client{Transport: t}
	}
	var opts []rest.ClientOption
	if c.opts.token != "" {
		opts = append(opts, rest.WithToken(c.opts.token))
	}
	client, err := rest.NewClient(scheme+nd.ports.HTTP, hc, opts...)
	if err != nil {
		c.t.Fatal(err)
	}
	nd.client = client
}

func (nd *clusterNode) done() bool {
	select {
	case <-nd.exited:
		return true
	default:
		return false
	}
}

// KillNode kills node i with SIGKILL and waits for the process to end.
func (c *Cluster) KillNode(i int) { c.signal(i, syscall.SIGKILL) }

// StopNode stops node i with SIGTERM (it leaves the cluster) and waits for
// it to exit.
func (c *Cluster) StopNode(i int) { c.signal(i, syscall.SIGTERM) }

func (c *Cluster) signal(i int, sig syscall.Signal) {
	c.t.Helper()
	nd := c.nodes[i]
	if nd.cmd == nil || nd.done() {
		return
	}
	_ = nd.cmd.Process.Signal(sig)
	select {
	case <-nd.exited:
	case <-time.After(Dilated(30 * time.Second)):
		// SIGQUIT makes the Go runtime write every goroutine's stack to
		// the node's log, which the failed test prints: where it hung.
		_ = nd.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-nd.exited:
		case <-time.After(5 * time.Second):
			_ = nd.cmd.Process.Kill()
			<-nd.exited
		}
		c.t.Errorf("testkit: node %s did not exit on %v; its goroutines are at the end of its log", nd.name, sig)
	}
}

// PartitionNode freezes node i (SIGSTOP): it neither gossips, answers,
// renews leases nor sends anything until HealNode, as a node cut off
// from the others by the network would. The others declare it dead once
// membership's failure detection runs out.
func (c *Cluster) PartitionNode(i int) { c.pause(i, syscall.SIGSTOP) }

// HealNode lets a frozen node run again (SIGCONT): it finds the cluster
// moved on without it.
func (c *Cluster) HealNode(i int) { c.pause(i, syscall.SIGCONT) }

func (c *Cluster) pause(i int, sig syscall.Signal) {
	c.t.Helper()
	nd := c.nodes[i]
	if nd.cmd == nil || nd.done() {
		c.t.Fatalf("testkit: node %s is not running", nd.name)
	}
	if err := nd.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("testkit: %v to node %s: %v", sig, nd.name, err)
	}
	nd.paused = sig == syscall.SIGSTOP
}

// requestTimeout bounds each REST call of the testkit: a frozen node
// accepts connections (the kernel does) but never answers, nor does a
// node that forwards to it.
const requestTimeout = 5 * time.Second

func requestContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), Dilated(requestTimeout))
}

// Launched returns when node i's latest start launched its process, and
// Ready when the node had written its port file (it is serving and has
// asked its seed to join): for measuring startup and convergence.
func (c *Cluster) Launched(i int) time.Time { return c.nodes[i].launched }

// Ready: see Launched.
func (c *Cluster) Ready(i int) time.Time { return c.nodes[i].ready }

// PID returns the process id of node i's latest start (0 before any).
func (c *Cluster) PID(i int) int {
	if nd := c.nodes[i]; nd.cmd != nil && nd.cmd.Process != nil {
		return nd.cmd.Process.Pid
	}
	return 0
}

// RSS returns the resident set size of node i's process, in bytes (see
// ProcessRSS).
func (c *Cluster) RSS(i int) (int64, error) { return ProcessRSS(c.PID(i)) }

// NodeStatus returns node i's own status (GET /v1/node).
func (c *Cluster) NodeStatus(i int) cluster.NodeStatus {
	c.t.Helper()
	st, err := c.nodes[i].client.NodeStatus(context.Background())
	if err != nil {
		c.t.Fatalf("testkit: status of node %s: %v", c.nodes[i].name, err)
	}
	return st
}

// Running reports whether node i's process runs.
func (c *Cluster) Running(i int) bool { return c.nodes[i].cmd != nil && !c.nodes[i].done() }

// any returns the index of a running node that is not frozen.
func (c *Cluster) any() int {
	for i, nd := range c.nodes {
		if c.Running(i) && !nd.paused {
			return i
		}
	}
	c.t.Fatalf("testkit: no node of the cluster is running")
	return -1
}

// Members returns the members as node i sees them.
func (c *Cluster) Members(i int) []cluster.MemberStatus {
	c.t.Helper()
	ctx, cancel := requestContext()
	defer cancel()
	ms, err := c.nodes[i].client.Members(ctx)
	if err != nil {
		c.t.Fatalf("testkit: members of %s: %v", c.nodes[i].name, err)
	}
	return ms
}

// WaitMembers waits until every running node sees exactly n members.
func (c *Cluster) WaitMembers(n int) {
	c.t.Helper()
	var last string
	ok := poll(Dilated(30*time.Second), func() bool {
		for i, nd := range c.nodes {
			if !c.Running(i) || nd.paused {
				continue
			}
			ctx, cancel := requestContext()
			ms, err := c.nodes[i].client.Members(ctx)
			cancel()
			if err != nil || len(ms) != n {
				last = fmt.Sprintf("%s sees %d members (%v)", c.nodes[i].name, len(ms), err)
				return false
			}
		}
		return true
	})
	if !ok {
		c.t.Fatalf("testkit: cluster did not reach %d members: %s", n, last)
	}
}

// Coordinator returns the index of the node that coordinates, as a
// running node sees it.
func (c *Cluster) Coordinator() int {
	c.t.Helper()
	for _, m := range c.Members(c.any()) {
		if m.Coordinator {
			for i, nd := range c.nodes {
				if nd.name == m.Name {
					return i
				}
			}
		}
	}
	c.t.Fatalf("testkit: no coordinator")
	return -1
}

// Submit submits a job through node i and returns its id.
func (c *Cluster) Submit(i int, req cluster.JobRequest) string {
	c.t.Helper()
	id, err := c.nodes[i].client.Submit(context.Background(), req)
	if err != nil {
		c.t.Fatalf("testkit: submit %s through %s: %v", req.Pipeline, c.nodes[i].name, err)
	}
	return id
}

// Job returns a job's status, asked of a running node.
func (c *Cluster) Job(id string) cluster.JobStatus {
	c.t.Helper()
	ctx, cancel := requestContext()
	defer cancel()
	st, err := c.nodes[c.any()].client.Job(ctx, id)
	if err != nil {
		c.t.Fatalf("testkit: job %s: %v", id, err)
	}
	return st
}

// WaitJob polls a job until cond holds for its status, and returns it.
func (c *Cluster) WaitJob(id string, d time.Duration, what string, cond func(cluster.JobStatus) bool) cluster.JobStatus {
	c.t.Helper()
	var st cluster.JobStatus
	var lastErr error
	ok := poll(Dilated(d), func() bool {
		ctx, cancel := requestContext()
		defer cancel()
		got, err := c.nodes[c.any()].client.Job(ctx, id)
		if err == nil {
			st = got
		}
		lastErr = err
		return err == nil && cond(st)
	})
	if !ok {
		c.t.Fatalf("testkit: job %s: not %s within %v: state %q, failure %q, err %v", id, what, Dilated(d), st.State, st.Failure, lastErr)
	}
	return st
}

// Wait waits for a job to end and returns its final status.
func (c *Cluster) Wait(id string, d time.Duration) cluster.JobStatus {
	c.t.Helper()
	return c.WaitJob(id, d, "ended", func(st cluster.JobStatus) bool { return terminalState(st.State) })
}

func terminalState(s string) bool {
	return s == cluster.StateFinished || s == cluster.StateFailed || s == cluster.StateCancelled
}

// NodesOf returns the names of the nodes that run a job's subtasks.
func NodesOf(st cluster.JobStatus) []string {
	var out []string
	for _, v := range st.Vertices {
		for _, s := range v.Subtasks {
			if s.Node != "" && !slices.Contains(out, s.Node) {
				out = append(out, s.Node)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Log returns what node i has logged in its latest start.
func (c *Cluster) Log(i int) string {
	b, _ := os.ReadFile(c.nodes[i].logPath)
	return string(b)
}

func (c *Cluster) stopAll() {
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.signal(i, syscall.SIGKILL) }()
	}
	wg.Wait()
	if c.t.Failed() {
		for _, nd := range c.nodes {
			c.t.Logf("testkit: log of node %s (%s):\n%s", nd.name, nd.logPath, tail(nd.logPath))
		}
	}
}

// tail returns the end of a log file, enough to see why a node failed.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const max = 256 << 10
	if len(b) > max {
		b = append([]byte("…\n"), b[len(b)-max:]...)
	}
	return string(bytes.TrimRight(b, "\n"))
}

// poll evaluates cond until it holds or d passes.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond) // polling other processes
	}
	return true
}

// nodeBinary builds pkg into dir with the go command (a link from the
// build cache after the first time, a second or two).
func nodeBinary(t testing.TB, pkg, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "node")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	args := []string{"build", "-o", bin}
	if os.Getenv("TROUPE_CLUSTER_RACE") != "" {
		args = append(args, "-race")
	}
	out, err := exec.Command(goTool, append(args, pkg)...).CombinedOutput()
	if err != nil {
		t.Fatalf("testkit: go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}
