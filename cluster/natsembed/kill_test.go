package natsembed_test

import (
	"bufio"
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

	"github.com/troupe-dev/troupe/cluster/natsembed"
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
// store retries while the other two elect a leader (survivesLeaderLoss).
func TestCluster_R3StoreSurvivesSIGKILLOfALeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	servers := startChildren(t, 3)
	var urls, names []string
	for _, s := range servers {
		urls, names = append(urls, s.url), append(names, s.name)
	}
	survivesLeaderLoss(t, urls, names, "SIGKILL", func(i int) {
		if err := servers[i].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	})
}
