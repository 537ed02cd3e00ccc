// Package metrics exports what a troupe node runs in the Prometheus text
// format, for its /metrics endpoint: every subtask running on the node,
// every job whose master the node hosts, the node itself and the Go
// runtime. It is the only package that uses client_golang; docs/metrics.md
// lists every metric.
//
// # Model
//
// Nothing here is on the data path. The runtime counts in plain fields
// of each subtask and samples them every actors.Config.MetricsInterval
// (see actors.Engine.SubtaskMetrics); a scrape reads the latest samples
// and the jobs' views and turns them into constant metrics, so series
// come and go with the subtasks and jobs they describe (an ended job's
// stay for EndedJobRetention), and a scrape costs in proportion to what
// runs. One registry per node (NewHandler),
// never the global one.
//
// # Labels
//
// Subtask metrics carry job (the pipeline's name), job_id (the run's
// id), operator (the vertex: its chained operators joined by " -> ") and
// subtask (the index); async I/O metrics add async (the async operator's
// name); job and checkpoint metrics carry job and job_id. Prometheus
// keeps its own job label for the scrape target: with the default
// honor_labels false, ours arrives as exported_job.
package metrics
