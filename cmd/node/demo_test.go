package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cmd/node/cli"
	"github.com/troupe-dev/troupe/testkit"
)

// The README's first command: node start --demo starts a node that runs
// the demo job, prints the dashboard's address, serves the dashboard and
// the job's metrics, and leaves on SIGINT.
func TestNode_startDemo(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT for child processes on Windows")
	}
	dir := t.TempDir()
	ports := filepath.Join(dir, "ports.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBinary(t), "start", "--demo", "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0",
		"--data-dir", filepath.Join(dir, "data"), "--port-file", ports)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		if err := <-exited; err != nil {
			t.Errorf("the node exited with %v after SIGINT; stderr:\n%s", err, stderr.String())
		}
	}()
	var pf cli.PortFile
	testkit.Eventually(t, 60*time.Second, func() bool {
		b, err := os.ReadFile(ports)
		return err == nil && json.Unmarshal(b, &pf) == nil
	}, "the port file; stderr: %s", &stderr)
	base := "http://" + pf.HTTP
	testkit.Eventually(t, 60*time.Second, func() bool { return strings.Contains(stdout.String(), "dashboard  "+base+"/") },
		"the dashboard's address on stdout: %q", &stdout)
	running := regexp.MustCompile(`troupe_job_status\{job="demo",job_id="[^"]+",status="running"\} 1`)
	read := regexp.MustCompile(`troupe_source_records_read_total\{job="demo",job_id="[^"]+",operator="events -> timestamps -> bids",subtask="0"\} [1-9]`)
	testkit.Eventually(t, 60*time.Second, func() bool {
		m := httpGet(t, base+"/metrics")
		return running.MatchString(m) && read.MatchString(m) && strings.Contains(m, "troupe_node_members 1")
	}, "the demo job running, reading, in /metrics")
	if page := httpGet(t, base+"/"); !strings.Contains(page, `<script src="/dashboard/dashboard.js"`) {
		t.Errorf("GET / is not the dashboard: %.300q", page)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lockedBuffer is a buffer a child process writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
