package actors

import "math"

// maxFirstAttempt leaves FirstAttempt's owner room for restarts below
// the wire's int32 attempt numbers.
const maxFirstAttempt = math.MaxInt32 / 2

// FirstAttempt numbers the job's first attempt n (default 1); its
// restarts are n+1, n+2, …. A job master that takes over a run from
// another master (a cluster's coordinator that died) passes a number
// above every attempt the earlier master can have made, so that task
// managers and agents, which drop messages of any other attempt, never
// mistake the earlier master's messages for the new one's, and the new
// agents' names never collide with agents of the earlier attempts still
// being stopped. n must be in 1..MaxInt32/2.
func FirstAttempt(n int) SubmitOption {
	return func(m *master) { m.firstAttempt = n }
}

// GuardCommits makes the job master call guard before it commits the
// metadata of each checkpoint or savepoint; an error instead of nil
// fails that checkpoint, as a failed commit does, and nothing of it is
// committed or completed. A cluster passes the check that this master
// still owns the job (its lease in the job store is current), so that a
// master that lost its job — partitioned away while another node took
// over — never completes a checkpoint nor tells sinks to commit. The
// guard runs on the metadata writer's goroutine, never two at once.
func GuardCommits(guard func() error) SubmitOption {
	return func(m *master) { m.guard = guard }
}

// FirstCheckpointID makes the job number its checkpoints from id at
// least (still above every checkpoint of its run and the one it restores).
// A master that takes over a run from another master passes a floor of
// its own epoch's, above any ID the earlier master can use, so that the
// two never write one checkpoint ID — the same directory, the same state
// files — even when the earlier master, cut off, goes on for a moment
// with a checkpoint it had begun. id must be positive.
func FirstCheckpointID(id int64) SubmitOption {
	return func(m *master) { m.firstCheckpoint = id }
}

// OwnerEpoch stamps the job's deploys with the owner epoch of its master
// (a cluster's job record: 1 for the coordinator that admitted the job,
// one more at each takeover), which the task managers see with every
// StartAgent. 0, the default, is no epoch.
func OwnerEpoch(epoch uint64) SubmitOption {
	return func(m *master) { m.epoch = epoch }
}
