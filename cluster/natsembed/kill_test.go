package natsembed_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster/natsembed"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/persistence/natsstore"
)

// Child processes: the test binary, run with childEnv set, is one
// embedded server that prints its client URL and runs until killed — so
// that a test can SIGKILL a server, as a machine dies, which an
// in-process Close (an orderly shutdown) does not show.

const childEnv = "NATSEMBED_TEST_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		runChild(spec)
		return
	}
	os.Exit(m.Run())
}

// runChild starts the server that spec describes (name;dir;listen;
// cluster;routes) and blocks.
func runChild(spec string) {
	f := strings.Split(spec, ";")
	srv, err := natsembed.Start(natsembed.Config{Name: f[0], StoreDir: f[1], Listen: f[2], Cluster: f[3], Routes: strings.Split(f[4], ",")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(srv.ClientURL())
	select {}
}

// child is a server in a child process.
type child struct {
	name string
	url  string
	cmd  *exec.Cmd
}

// startChildren starts n servers routed to each other, each in a child
// process, killed when the test ends.
func startChildren(t *testing.T, n int) []*child {
	t.Helper()
	var routes []string
	for _, p := range routePorts(t, n) {
		routes = append(routes, "127.0.0.1:"+strconv.Itoa(p))
	}
	var out []*child
	for i := range n {
		c := &child{name: fmt.Sprintf("n%d", i+1)}
		c.cmd = exec.Command(os.Args[0], "-test.run=^$")
		c.cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{c.name, t.TempDir(), "127.0.0.1:0", routes[i], strings.Join(routes, ",")}, ";"))
		c.cmd.Stderr = os.Stderr
		stdout, err := c.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() })
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatalf("server %s did not start: %v", c.name, err)
		}
		c.url = strings.TrimSpace(line)
		out = append(out, c)
	}
	return out
}

// routePorts returns n distinct free ports below the ephemeral range, so
// that no port the OS hands out meanwhile is one of them.
func routePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatal("no free port")
		}
		p := 20000 + rand.IntN(12768)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil || slices.Contains(ports, p) {
			continue
		}
		ln.Close()
		ports = append(ports, p)
	}
	return ports
}

// SIGKILL of the server that leads the checkpoint states' bucket: the
// store, retrying while the other two elect a leader, writes a
// checkpoint (a small state, sent again whole; a large one, streamed
// once a leader answers), reads both back and writes a job record, all
// without an error reaching the caller.
func TestCluster_R3StoreSurvivesSIGKILLOfALeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	servers := startChildren(t, 3)
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.url)
	}
	store, err := natsstore.Open(natsstore.Config{Servers: urls, Replicas: 3, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	jobs := store.Jobs()
	rev, err := jobs.Create(ctx, "job-1", []byte("owner=n1 epoch=1"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := store.Checkpoints("wordcount", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	first := writeCheckpoint(t, cs, 1)

	leader := streamLeader(t, urls[0], "OBJ_troupe-checkpoints")
	i := slices.IndexFunc(servers, func(s *child) bool { return s.name == leader })
	if i < 0 {
		t.Fatalf("leader %q is none of the servers", leader)
	}
	killed := time.Now()
	if err := servers[i].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGKILL of %s, the leader of the checkpoint states' bucket", leader)

	second := writeCheckpoint(t, cs, 2)
	t.Logf("a small state written and committed %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	large := make([]byte, 12<<20)
	for i := range large {
		large[i] = byte(i)
	}
	h, err := cs.WriteStateFrom(ctx, 3, "count/1", persistence.BytesSource(large))
	if err != nil {
		t.Fatalf("streamed state after the SIGKILL: %v", err)
	}
	t.Logf("a 12 MiB state streamed %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	readState(t, store, first, 1)
	readState(t, store, second, 2)
	if _, err := cs.CommitMetadata(&persistence.Metadata{ID: 3, Job: "wordcount", Run: "run-1", MaxParallelism: 4,
		Tasks: []persistence.TaskState{{Vertex: "count", Subtask: 1, Parallelism: 2, Handle: h}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Update(ctx, "job-1", []byte("owner=n2 epoch=2"), rev); err != nil {
		t.Fatalf("compare-and-set after the SIGKILL: %v", err)
	}
	t.Logf("job record updated %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
}
