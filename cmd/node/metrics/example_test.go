package metrics_test

import (
	"net/http"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cmd/node/metrics"
)

// A program that runs jobs on an engine of its own serves their metrics
// beside its other endpoints.
func ExampleNewHandler() {
	engine, err := actors.NewEngine(actors.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	var jobs []*actors.Job // those it submits
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.NewHandler(metrics.Config{
		Engine: engine,
		Jobs:   func() []*actors.Job { return jobs },
	}))
	// Then http.ListenAndServe(addr, mux) serves them.
	// Output:
}
