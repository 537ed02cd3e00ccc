// Package dashboard is a troupe node's web dashboard: one page, served
// at / by every node, over the node's REST API (package rest), which it
// polls every second. It shows the cluster's members with their slots;
// the jobs with their status; a job's graph (vertices with their
// parallelism, edges with their partitioning) with each operator's
// rates, backpressure, watermark and state size; its checkpoint history;
// its exceptions; and it cancels a job or takes a savepoint.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary
// (go:embed): no build step, no CDN, nothing fetched but the node's own
// API, so it works offline.
package dashboard
