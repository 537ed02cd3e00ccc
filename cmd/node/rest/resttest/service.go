// Package resttest provides an in-memory rest.Service for tests of the
// REST handler and of what calls it (the command line, scripts), in the
// way net/http/httptest serves tests of HTTP code. It runs no job: tests
// move its jobs from state to state themselves.
package resttest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/cluster"
)

// Service is an in-memory rest.Service. Submit records a job in state
// running; Cancel moves it to cancelled; Savepoint returns a path under
// /store/savepoints and, with stop, moves the job to finished. Tests set
// states with SetState, and errors with SetError. Safe for concurrent use.
type Service struct {
	mu        sync.Mutex
	pipelines []string // nil: any pipeline is known
	jobs      []cluster.JobStatus
	members   []cluster.MemberStatus
	node      cluster.NodeStatus
	requests  []cluster.JobRequest
	calls     []string
	errs      map[string]error
	coord     string
	self, ok  bool
}

// New returns a Service that is its own coordinator and knows the given
// pipelines (none given: any name is a known pipeline).
func New(pipelines ...string) *Service {
	return &Service{pipelines: pipelines, errs: map[string]error{}, coord: "self.invalid:0", self: true, ok: true}
}

// FieldError is an error of the service about one request field, as the
// real job service reports them: it wraps cluster.ErrBadRequest and names
// the field.
type FieldError struct {
	Name, Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", cluster.ErrBadRequest, e.Name, e.Reason)
}
func (e *FieldError) Field() string { return e.Name }
func (e *FieldError) Unwrap() error { return cluster.ErrBadRequest }

// SetCoordinator sets what Coordinator returns.
func (s *Service) SetCoordinator(httpAddr string, self, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.coord, s.self, s.ok = httpAddr, self, ok
}

// SetError makes every later call of the method named (such as "Submit")
// return err; nil clears it.
func (s *Service) SetError(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs[method] = err
}

// SetMembers sets what Members returns.
func (s *Service) SetMembers(m []cluster.MemberStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members = slices.Clone(m)
}

// SetNodeStatus sets what NodeStatus returns.
func (s *Service) SetNodeStatus(st cluster.NodeStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.node = st
	s.node.Jobs = slices.Clone(st.Jobs)
}

// AddJob adds or replaces a job by its ID.
func (s *Service) AddJob(j cluster.JobStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(j.ID); i >= 0 {
		s.jobs[i] = j
		return
	}
	s.jobs = append(s.jobs, j)
}

// SetState sets a job's state and failure cause; a terminal state sets
// Ended. It panics for an unknown id: the test is wrong.
func (s *Service) SetState(id, state, failure string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := &s.jobs[s.mustFind(id)]
	j.State, j.Failure = state, failure
	if terminal(state) {
		j.Ended = time.Unix(1_800_000_000, 0).UTC()
	}
}

// Requests returns the submitted requests, in order.
func (s *Service) Requests() []cluster.JobRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls returns the calls of the job methods made so far as
// "Method id" (or "Method" for those without an id), in order;
// Savepoint calls read "Savepoint id stop" with stop true.
func (s *Service) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Coordinator implements rest.Service.
func (s *Service) Coordinator() (string, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.coord, s.self, s.ok
}

// Submit implements rest.Service.
func (s *Service) Submit(_ context.Context, req cluster.JobRequest) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin("Submit"); err != nil {
		return "", err
	}
	if s.pipelines != nil && !slices.Contains(s.pipelines, req.Pipeline) {
		return "", &FieldError{Name: "pipeline", Reason: fmt.Sprintf("unknown pipeline %q", req.Pipeline)}
	}
	s.requests = append(s.requests, req)
	id := fmt.Sprintf("job-%d", len(s.requests))
	s.jobs = append(s.jobs, cluster.JobStatus{
		ID: id, Pipeline: req.Pipeline, Params: req.Params, Parallelism: max(req.Parallelism, 1),
		State: cluster.StateRunning, Submitted: time.Unix(1_700_000_000, 0).UTC(),
	})
	return id, nil
}

// Jobs implements rest.Service.
func (s *Service) Jobs(context.Context) ([]cluster.JobStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin("Jobs"); err != nil {
		return nil, err
	}
	return slices.Clone(s.jobs), nil
}

// Job implements rest.Service.
func (s *Service) Job(_ context.Context, id string) (cluster.JobStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin("Job " + id); err != nil {
		return cluster.JobStatus{}, err
	}
	i := s.find(id)
	if i < 0 {
		return cluster.JobStatus{}, fmt.Errorf("%w %q", cluster.ErrUnknownJob, id)
	}
	return s.jobs[i], nil
}

// Cancel implements rest.Service.
func (s *Service) Cancel(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin("Cancel " + id); err != nil {
		return err
	}
	j, err := s.running(id)
	if err != nil {
		return err
	}
	j.State, j.Ended = cluster.StateCancelled, time.Unix(1_800_000_000, 0).UTC()
	return nil
}

// Savepoint implements rest.Service.
func (s *Service) Savepoint(_ context.Context, id string, stop bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := "Savepoint " + id
	if stop {
		call += " stop"
	}
	if err := s.begin(call); err != nil {
		return "", err
	}
	j, err := s.running(id)
	if err != nil {
		return "", err
	}
	if stop {
		j.State, j.Ended = cluster.StateFinished, time.Unix(1_800_000_000, 0).UTC()
	}
	return fmt.Sprintf("/store/savepoints/%s-%d", id, len(s.calls)), nil
}

// Members implements rest.Service.
func (s *Service) Members(context.Context) ([]cluster.MemberStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.errs["Members"]; err != nil {
		return nil, err
	}
	return slices.Clone(s.members), nil
}

// NodeStatus implements rest.Service.
func (s *Service) NodeStatus(context.Context) (cluster.NodeStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.errs["NodeStatus"]; err != nil {
		return cluster.NodeStatus{}, err
	}
	st := s.node
	st.Jobs = slices.Clone(s.node.Jobs)
	return st, nil
}

// begin records a call and returns the error set for its method.
func (s *Service) begin(call string) error {
	s.calls = append(s.calls, call)
	method, _, _ := strings.Cut(call, " ")
	return s.errs[method]
}

// running returns the job id if it has not ended.
func (s *Service) running(id string) (*cluster.JobStatus, error) {
	i := s.find(id)
	if i < 0 {
		return nil, fmt.Errorf("%w %q", cluster.ErrUnknownJob, id)
	}
	if j := &s.jobs[i]; !terminal(j.State) {
		return j, nil
	}
	return nil, fmt.Errorf("%w: job %q is %s", cluster.ErrJobEnded, id, s.jobs[i].State)
}

func (s *Service) find(id string) int {
	return slices.IndexFunc(s.jobs, func(j cluster.JobStatus) bool { return j.ID == id })
}

func (s *Service) mustFind(id string) int {
	i := s.find(id)
	if i < 0 {
		panic(fmt.Sprintf("resttest: no job %q", id))
	}
	return i
}

func terminal(state string) bool {
	switch state {
	case cluster.StateFinished, cluster.StateFailed, cluster.StateCancelled:
		return true
	}
	return false
}
