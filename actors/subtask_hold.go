package actors

// heldWaitsForStart reports whether what the chain holds (Chain.Pending)
// must wait for the job's start: before startMsg, a subtask downstream
// may not be deployed yet, and the subtask's restored output channel
// state is sent only at the start (sendRecovered), ahead of anything it
// produces. A source's chain may hold records restored from an unaligned
// checkpoint; any chain may hold what its operators fired or were
// released while it opened (async I/O's results for the records it took
// back from its state: operators.outputHolder).
func (s *subtask) heldWaitsForStart() bool { return s.state == stDeployed }
