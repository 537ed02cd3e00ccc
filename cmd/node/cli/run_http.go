package cli

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cmd/node/metrics"
)

// runServer serves node run's /metrics (--http). Its zero value, for no
// --http, does nothing. The server's goroutine is its own; close stops
// it and waits for it.
type runServer struct {
	srv    *http.Server
	served chan error
	mu     sync.Mutex
	job    *actors.Job // nil until submitted
	once   sync.Once
}

// serveRunMetrics listens on addr and serves the engine's metrics there;
// nothing for an empty addr. It listens before the job starts, so that
// an address in use is an error at once.
func (c *command) serveRunMetrics(addr string, e *actors.Engine, log *slog.Logger) (*runServer, error) {
	rs := &runServer{}
	if addr == "" {
		return rs, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.NewHandler(metrics.Config{Engine: e, Jobs: rs.jobs, Logger: log}))
	rs.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	rs.served = make(chan error, 1)
	go func() { rs.served <- rs.srv.Serve(ln) }()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return rs, nil
}

func (rs *runServer) setJob(j *actors.Job) {
	rs.mu.Lock()
	rs.job = j
	rs.mu.Unlock()
}

func (rs *runServer) jobs() []*actors.Job {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.job == nil {
		return nil
	}
	return []*actors.Job{rs.job}
}

// close stops the server, letting a scrape in flight finish, and waits
// for it; safe to call twice.
func (rs *runServer) close() {
	if rs.srv == nil {
		return
	}
	rs.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := rs.srv.Shutdown(ctx); err != nil {
			rs.srv.Close()
		}
		<-rs.served // http.ErrServerClosed, or why it stopped serving before
	})
}
