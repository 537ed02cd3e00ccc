package cluster

import (
	"context"
	"runtime"
	"strconv"

	"github.com/troupe-dev/troupe/actors"
)

// The node's job API, as the REST layer serves it. Job requests are the
// coordinator's to answer: the REST layer forwards them to the node that
// Coordinator names, and these methods answer for the jobs this node
// coordinates.

// Submit checks req and starts the job, or queues it until the cluster
// has the slots; it returns the job's id (its run id).
func (n *Node) Submit(ctx context.Context, req JobRequest) (string, error) {
	return n.svc.Submit(ctx, req)
}

// Jobs lists the jobs this node coordinates, in submission order.
func (n *Node) Jobs(ctx context.Context) ([]JobStatus, error) { return n.svc.Jobs(ctx) }

// Job returns one job, or ErrUnknownJob.
func (n *Node) Job(ctx context.Context, id string) (JobStatus, error) { return n.svc.Job(ctx, id) }

// Cancel cancels a job without waiting for its end.
func (n *Node) Cancel(ctx context.Context, id string) error { return n.svc.Cancel(ctx, id) }

// Savepoint takes a savepoint of a running job (and stops it, with stop)
// and returns its path.
func (n *Node) Savepoint(ctx context.Context, id string, stop bool) (string, error) {
	return n.svc.Savepoint(ctx, id, stop)
}

// Members lists the live members as this node sees them.
func (n *Node) Members(context.Context) ([]MemberStatus, error) {
	ms := n.ms.Members()
	coord, _ := Coordinator(ms)
	out := make([]MemberStatus, 0, len(ms))
	for _, m := range ms {
		used, _ := strconv.Atoi(m.Extra[slotsUsedKey])
		out = append(out, MemberStatus{Name: m.Name, ActorAddr: m.ActorAddr, HTTPAddr: m.HTTPAddr, GossipAddr: m.GossipAddr,
			Slots: m.Slots, SlotsUsed: used, Version: m.Version, Started: m.Started(),
			Coordinator: m.Name == coord.Name && m.Incarnation == coord.Incarnation, Reachable: n.reach.reachable(m)})
	}
	return out, nil
}

// JobHandles returns the jobs whose masters run on this node, in
// submission order, running or ended: the node's /metrics exports them.
func (n *Node) JobHandles() []*actors.Job { return n.svc.handles() }

// SlotCounts returns how many members the node sees (itself included),
// and its own slots and those its task manager uses.
func (n *Node) SlotCounts() (members, slots, used int) {
	return len(n.ms.Members()), n.cfg.Slots, n.tm.SlotsUsed()
}

// NodeStatus reports this node's own runtime: its slots, the runs with
// subtasks here, its remote channels and its memory.
func (n *Node) NodeStatus(context.Context) (NodeStatus, error) {
	r := n.engine.RemoteStats()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	return NodeStatus{
		Name: n.cfg.Name, Slots: n.cfg.Slots, SlotsUsed: n.tm.SlotsUsed(), Jobs: n.tm.Jobs(),
		Remote: RemoteStatus{Batches: r.Batches, Fragments: r.Fragments, Bytes: r.Bytes,
			Channels: r.Channels, CreditBound: r.CreditBound, InFlight: r.InFlight, InFlightBytes: r.InFlightBytes,
			MaxInFlight: r.MaxInFlight, MaxInFlightBytes: r.MaxInFlightBytes},
		Memory: MemoryStatus{HeapBytes: mem.HeapAlloc, SysBytes: mem.Sys, GCs: mem.NumGC},
	}, nil
}
