// Package barrier will hold the pure logic of Chandy–Lamport checkpoints:
// the checkpoint coordinator as a state machine (trigger, acknowledge,
// complete, abort, timeout, max concurrent, min pause) and the barrier
// aligner of subtasks with several inputs. It imports the standard library
// only and starts no goroutines.
//
// Nothing is implemented here yet: the checkpoint issue ("Exactly-once:
// Chandy–Lamport checkpoints…") builds it. The runtime already keeps the
// seams it needs: batches and control events share each channel in order,
// and mailbox.InputGate can block a channel (SetBlocked) for alignment.
package barrier
