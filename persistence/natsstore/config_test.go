package natsstore

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		url      string
		servers  []string
		prefix   string
		replicas int
	}{
		{"nats://127.0.0.1:4222", []string{"nats://127.0.0.1:4222"}, "", 0},
		{"nats://a:4222,b:4223,c:4224?replicas=3", []string{"nats://a:4222", "nats://b:4223", "nats://c:4224"}, "", 3},
		{"nats://a:4222,nats://b:4222?prefix=prod&replicas=1", []string{"nats://a:4222", "nats://b:4222"}, "prod", 1},
		{"nats://[::1]:4222", []string{"nats://[::1]:4222"}, "", 0},
	}
	for _, tt := range good {
		cfg, err := ParseURL(tt.url)
		if err != nil || !slices.Equal(cfg.Servers, tt.servers) || cfg.Prefix != tt.prefix || cfg.Replicas != tt.replicas {
			t.Errorf("ParseURL(%q) = %+v, %v", tt.url, cfg, err)
			continue
		}
		again, err := ParseURL(cfg.URL())
		if err != nil || !slices.Equal(again.Servers, cfg.Servers) || again.Replicas != cfg.Replicas {
			t.Errorf("URL() of %q is %q, which parses to %+v, %v", tt.url, cfg.URL(), again, err)
		}
	}
	bad := map[string]string{
		"file:///x":                       "want nats://",
		"nats://":                         "HOST:PORT",
		"nats://host":                     "HOST:PORT",
		"nats://host:0":                   "port",
		"nats://host:70000":               "port",
		"nats://:4222":                    "no host",
		"nats://u:p@host:4222":            "without user",
		"nats://host:4222/path":           "without user or path",
		"nats://a:4222,":                  "HOST:PORT",
		"nats://a:4222?replicas=0":        "replicas",
		"nats://a:4222?replicas=6":        "replicas",
		"nats://a:4222?replicas=x":        "replicas",
		"nats://a:4222?colour=red":        "unknown query parameter",
		"nats://a:4222?prefix=a.b":        "Prefix",
		"nats://a:4222?prefix=a&prefix=b": "given 2 times",
	}
	for url, want := range bad {
		_, err := ParseURL(url)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q): %v, want ErrConfig saying %q", url, err, want)
		}
	}
}

// With no server to answer, an operation fails with ErrUnavailable after
// the store's Timeout, naming the store and the bucket.
func TestStore_unreachableFailsAfterTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s, err := Open(Config{Servers: []string{"nats://" + addr}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, _, err = s.Jobs().Get(context.Background(), "job-1")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "troupe-") {
		t.Fatalf("get with no server: %v, want ErrUnavailable naming %s and the buckets", err, addr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("gave up after %v, Timeout is 300ms", d)
	}
	if _, err := s.Checkpoints("j", "r"); err != nil {
		t.Fatalf("a checkpoint store opens without a server: %v", err)
	}
	s.Close()
	if _, _, err := s.Jobs().Get(context.Background(), "job-1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v, want ErrClosed", err)
	}
	if _, err := s.OpenCheckpoint("nats://troupe-checkpoints/j/r/chk-1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("open after close: %v, want ErrClosed", err)
	}
	if _, err := s.OpenCheckpoint("/not/nats"); !errors.Is(err, persistence.ErrNoCheckpoint) {
		t.Fatalf("open of a foreign path: %v, want ErrNoCheckpoint", err)
	}
}
