package natsembed_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/cluster/natsembed"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/persistence/natsstore"
)

// freePorts returns n ports free at the time of the call: the servers of
// a cluster must know each other's route ports before they start.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startCluster starts n servers routed to each other.
func startCluster(t *testing.T, n int) []*natsembed.Server {
	t.Helper()
	var routes []string
	for _, p := range freePorts(t, n) {
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", p))
	}
	var servers []*natsembed.Server
	for i := range n {
		servers = append(servers, startServer(t, natsembed.Config{Name: fmt.Sprintf("n%d", i+1), StoreDir: t.TempDir(),
			Listen: "127.0.0.1:0", Cluster: routes[i], Routes: routes}))
	}
	return servers
}

// startServer starts one server, closed when the test ends.
func startServer(t *testing.T, cfg natsembed.Config) *natsembed.Server {
	t.Helper()
	srv, err := natsembed.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func urls(servers []*natsembed.Server) []string {
	var out []string
	for _, s := range servers {
		out = append(out, s.ClientURL())
	}
	return out
}

// streamLeader returns the name of the server leading a stream, asking
// until one leads it (a minute at most: a loaded machine answers late).
func streamLeader(t *testing.T, url, stream string) string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		info, err := streamInfo(ctx, js, stream)
		switch {
		case err == nil && info.Config.Replicas != 3:
			t.Fatalf("stream %s has %d replicas, want 3", stream, info.Config.Replicas)
		case err == nil && info.Cluster != nil && info.Cluster.Leader != "":
			return info.Cluster.Leader
		case ctx.Err() != nil:
			t.Fatalf("stream %s has no leader: %v", stream, err)
		}
		select { // poll interval
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func streamInfo(ctx context.Context, js jetstream.JetStream, stream string) (*jetstream.StreamInfo, error) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := js.Stream(actx, stream)
	if err != nil {
		return nil, err
	}
	return st.Info(actx)
}

// Three embedded servers form one JetStream cluster; a store with three
// replicas keeps answering, reads and writes alike, when the server that
// leads the checkpoint states' bucket shuts down (an orderly shutdown,
// in process; kill_test.go SIGKILLs one).
func TestCluster_R3StoreSurvivesTheLossOfOneServer(t *testing.T) {
	servers := startCluster(t, 3)
	var names []string
	for _, s := range servers {
		names = append(names, s.Name())
	}
	survivesLeaderLoss(t, urls(servers), names, "shutdown", func(i int) { servers[i].Close() })
}

// survivesLeaderLoss runs a store with three replicas over the servers
// (client URLs and names), makes a checkpoint and a job record, then
// loses the server that leads the checkpoint states' bucket (lose) and
// at once writes a checkpoint — a small state and a 12 MiB one, both
// streamed as the runtime writes them — reads both checkpoints back,
// lists them and makes compare-and-sets: no error may reach the caller
// while the others elect a new leader.
func survivesLeaderLoss(t *testing.T, urls, names []string, how string, lose func(i int)) {
	t.Helper()
	store, err := natsstore.Open(natsstore.Config{Servers: urls, Replicas: 3, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	start := time.Now()
	if err := store.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("R3 buckets ready %v after the servers started", time.Since(start).Round(time.Millisecond))
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
	i := slices.Index(names, leader)
	if i < 0 {
		t.Fatalf("leader %q is none of the servers %v", leader, names)
	}
	lost := time.Now()
	lose(i)
	t.Logf("%s of %s, the leader of the checkpoint states' bucket", how, leader)
	since := func() time.Duration { return time.Since(lost).Round(time.Millisecond) }

	second := writeCheckpoint(t, cs, 2) // while the bucket elects a leader
	t.Logf("a 300 KiB state written and committed %v after the %s", since(), how)
	large := make([]byte, 12<<20)
	for i := range large {
		large[i] = byte(i)
	}
	if _, err := cs.WriteStateFrom(ctx, 3, "count/1", persistence.BytesSource(large)); err != nil {
		t.Fatalf("a 12 MiB state after the %s: %v", how, err)
	}
	t.Logf("a 12 MiB state streamed %v after the %s", since(), how)
	readState(t, store, first, 1)
	readState(t, store, second, 2)
	paths, err := cs.Checkpoints()
	if err != nil || !slices.Equal(paths, []string{second, first}) {
		t.Fatalf("checkpoints %v, %v", paths, err)
	}
	rev, err = jobs.Update(ctx, "job-1", []byte("owner=n2 epoch=2"), rev)
	if err != nil {
		t.Fatalf("compare-and-set after the %s: %v", how, err)
	}
	if v, got, err := jobs.Get(ctx, "job-1"); err != nil || got != rev || string(v) != "owner=n2 epoch=2" {
		t.Fatalf("get after the %s: %q at %d, %v", how, v, got, err)
	}
	if _, err := jobs.Update(ctx, "job-1", []byte("stale"), rev-1); !errors.Is(err, persistence.ErrStaleRevision) {
		t.Fatalf("stale update after the %s: %v", how, err)
	}
	t.Logf("job record written and read back %v after the %s", since(), how)
}

func writeCheckpoint(t *testing.T, cs *natsstore.CheckpointStore, id int64) string {
	t.Helper()
	// As the runtime writes states: streamed from a source.
	h, err := cs.WriteStateFrom(context.Background(), id, "count/0", persistence.BytesSource(strings.Repeat(fmt.Sprint(id), 300<<10)))
	if err != nil {
		t.Fatalf("checkpoint %d: %v", id, err)
	}
	path, err := cs.CommitMetadata(&persistence.Metadata{ID: id, Job: "wordcount", Run: "run-1", MaxParallelism: 4,
		Tasks: []persistence.TaskState{{Vertex: "count", Subtask: 0, Parallelism: 1, Handle: h}}})
	if err != nil {
		t.Fatalf("commit checkpoint %d: %v", id, err)
	}
	return path
}

func readState(t *testing.T, store *natsstore.Store, path string, id int64) {
	t.Helper()
	cp, err := store.OpenCheckpoint(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	b, err := cp.ReadState(cp.Meta.Tasks[0].Handle)
	if err != nil || len(b) != 300<<10 || b[0] != byte('0'+id) {
		t.Fatalf("state of %s: %d bytes, %v", path, len(b), err)
	}
}

func TestStart_badConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		cfg  natsembed.Config
		want string
	}{
		{natsembed.Config{StoreDir: dir, Listen: "127.0.0.1:0"}, "Name"},
		{natsembed.Config{Name: "n", Listen: "127.0.0.1:0"}, "StoreDir"},
		{natsembed.Config{Name: "n", StoreDir: dir, Listen: "nope"}, "Listen"},
		{natsembed.Config{Name: "n", StoreDir: dir, Listen: "127.0.0.1:0", Cluster: "127.0.0.1:0"}, "without Routes"},
		{natsembed.Config{Name: "n", StoreDir: dir, Listen: "127.0.0.1:0", Routes: []string{"127.0.0.1:6222"}}, "Routes without Cluster"},
		{natsembed.Config{Name: "n", StoreDir: dir, Listen: "127.0.0.1:0", Cluster: "127.0.0.1:0", Routes: []string{"x"}}, "Routes"},
	} {
		if _, err := natsembed.Start(tt.cfg); !errors.Is(err, natsembed.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Start(%+v): %v, want ErrConfig naming %s", tt.cfg, err, tt.want)
		}
	}
}

// A client address in use fails the start, naming the address.
func TestStart_addressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = natsembed.Start(natsembed.Config{Name: "n", StoreDir: t.TempDir(), Listen: ln.Addr().String()})
	if !errors.Is(err, natsembed.ErrStart) {
		t.Fatalf("start on a port in use: %v, want ErrStart", err)
	}
}
