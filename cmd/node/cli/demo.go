package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
)

// DemoPipeline is the pipeline node start --demo submits; the program
// registers it (the node command's is examples/demo).
const DemoPipeline = "demo"

// The demo job's checkpoint interval, and how long --demo tries to
// submit it: a cluster being formed may not have a coordinator yet.
const (
	demoCheckpointInterval = "2s"
	demoSubmitTimeout      = 30 * time.Second
	demoRetryEvery         = 250 * time.Millisecond
)

// startDemo submits the demo job through the node's own REST API (which
// forwards it to the coordinator) on a goroutine of its own, then prints
// where to look. It returns the function that stops it and waits for it;
// without --demo, nothing.
func (c *command) startDemo(cfg StartConfig) (stop func()) {
	if !cfg.Demo {
		return func() {}
	}
	ctx, cancel := context.WithTimeout(context.Background(), demoSubmitTimeout)
	var wg sync.WaitGroup
	wg.Go(func() {
		id, err := submitDemo(ctx, demoClient(cfg))
		if err != nil {
			cfg.Logger.Error("the demo job could not be submitted", "pipeline", DemoPipeline, "err", err)
			return
		}
		c.printDemo(cfg.Security.scheme()+"://"+cfg.HTTPAddr, id)
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// demoClient is a client of the node's own API: over HTTPS trusting the
// cluster's CA with TLS, with the node's first API token if it has
// tokens.
func demoClient(cfg StartConfig) func() (*rest.Client, error) {
	return func() (*rest.Client, error) {
		hc := &http.Client{Timeout: 10 * time.Second}
		if cfg.Security.TLS != nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.TLSClientConfig = cfg.Security.forwardTLS()
			hc.Transport = t
		}
		var opts []rest.ClientOption
		if len(cfg.Security.APITokens) > 0 {
			opts = append(opts, rest.WithToken(cfg.Security.APITokens[0]))
		}
		return rest.NewClient(cfg.Security.scheme()+"://"+cfg.HTTPAddr, hc, opts...)
	}
}

// submitDemo submits the demo job, again while no coordinator is known.
func submitDemo(ctx context.Context, newClient func() (*rest.Client, error)) (string, error) {
	client, err := newClient()
	if err != nil {
		return "", err
	}
	req := cluster.JobRequest{Pipeline: DemoPipeline, CheckpointInterval: demoCheckpointInterval,
		Params: map[string]string{"start": strconv.FormatInt(time.Now().UnixMilli(), 10)}}
	for {
		id, err := client.Submit(ctx, req)
		if !errors.Is(err, cluster.ErrNoCoordinator) {
			return id, err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(demoRetryEvery):
		}
	}
}

func (c *command) printDemo(base, id string) {
	fmt.Fprintf(c.stdout, `
troupe demo: job %s runs the %q pipeline: Nexmark auction bids counted per
auction in 5 s event-time windows, each count enriched by an async lookup.

  dashboard  %s/
  metrics    %s/metrics
  REST API   %s/v1/jobs/%s

In the dashboard: the job graph (a keyBy, a window, an async operator, a
sink) with records per second and backpressure per operator, the watermark
following the clock about 4 s behind, a checkpoint every 2 s in the
history. Try the Savepoint and Cancel buttons. Ctrl-C stops the node.

`, id, DemoPipeline, base, base, base, id)
}
