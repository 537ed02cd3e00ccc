package rest

import (
	"context"

	"github.com/troupe-dev/troupe/cluster"
)

// JobService is the cluster's job API: what the REST endpoints call, and
// what a Client offers over HTTP. Methods may be called concurrently, one
// goroutine per HTTP request.
//
// Errors should wrap the sentinels of package cluster, which the handler
// maps to status codes: ErrBadRequest 400, ErrUnknownJob 404, ErrJobEnded
// 409, ErrNoCoordinator 503; any other error is a 500. An error that has a
// method Field() string names the request field it is about (such as
// "pipeline" or "restore"); the handler reports it in the "field" member
// of its JSON error, so a client can point at what to fix. The method is
// found with errors.As, so it may sit anywhere in the chain.
type JobService interface {
	// Submit starts a job and returns its id. The request has passed the
	// handler's checks (see DecodeJobRequest); whether the pipeline, its
	// parameters and the restore path exist is the service's to check.
	Submit(ctx context.Context, req cluster.JobRequest) (id string, err error)
	// Jobs returns every job the coordinator knows, running or ended.
	Jobs(ctx context.Context) ([]cluster.JobStatus, error)
	// Job returns one job, or ErrUnknownJob.
	Job(ctx context.Context, id string) (cluster.JobStatus, error)
	// Cancel asks a job to stop at once, without a savepoint; it returns
	// once the request is made, before the job has ended. ErrJobEnded for a
	// job that has ended.
	Cancel(ctx context.Context, id string) error
	// Savepoint takes a savepoint of a running job and returns its path;
	// with stop, the job is cancelled once the savepoint is complete.
	Savepoint(ctx context.Context, id string, stop bool) (path string, err error)
	// Members returns the live members as this node sees them.
	Members(ctx context.Context) ([]cluster.MemberStatus, error)
	// NodeStatus returns this node's own runtime (slots, the runs with
	// subtasks on it, remote channels, memory).
	NodeStatus(ctx context.Context) (cluster.NodeStatus, error)
}

// Service is what a node offers its REST handler: the job API, and where
// job requests must go.
type Service interface {
	JobService
	// Coordinator returns the HTTP address (host:port) of the node that
	// runs the job service, and whether that is this node. ok is false
	// when no coordinator is known. The handler asks on every job request,
	// so the answer follows the membership.
	Coordinator() (httpAddr string, self bool, ok bool)
}
