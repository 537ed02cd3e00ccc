// Package testkit tests troupe's operators, running pipelines, whole jobs
// and actors. Only tests import it. docs/testing.md is the guide.
//
// # Levels
//
//   - The operator harness (NewHarness, NewKeyedHarness,
//     NewTwoInputHarness) runs one subtask of an operator synchronously,
//     with no actor system: the test feeds records, watermarks and
//     processing time, takes snapshots and restores, completes async
//     requests, and reads the output with events in order. Emitted values
//     are checked for mutation after emission through the stream's codec.
//     NewActorHarness and NewKeyedActorHarness run a user's actor as an
//     operator (actors.FromActor, FromKeyedActor) the same way, with an
//     actor system of their own: each step waits for the actor's replies.
//   - Stream probes (NewSourceProbe, NewSinkProbe) drive a running pipeline
//     element by element; the sink probe grants credit, so tests see
//     backpressure.
//   - The Runner runs whole jobs in-process, with Faults injected at a
//     record, a snapshot or a restore, and CheckExactlyOnce compares what
//     went in with what the sinks committed.
//   - The actor kit (New, Probe) tests actors, as below.
//
// # Actors
//
// New gives a test its own actor system with a quiet log (shown only when
// the test fails) and a cleanup that stops the actors, shuts the system
// down and fails the test if goroutines leaked:
//
//	kit := testkit.New(t)
//	probe := kit.NewProbe()
//	pid := kit.Spawn(actor.PropsFromFunc(echo))
//	probe.Send(pid, "ping")
//	probe.ExpectMessage("pong")
//
// A Probe is an actor whose messages the test reads with expectations
// (ExpectMessage, ExpectMessageType, ExpectNoMessage, ReceiveMessages,
// FishForMessage, ExpectTerminated), bounded in time by Within, and
// answered with Reply. Eventually polls a condition. Kit.Supervision
// records supervisor decisions (ExpectRestart, ExpectStop, Restarts);
// Kit.SpawnWithStats and Kit.MailboxStats count what passes through a
// mailbox. A ManualClock fires timers when the test advances it.
//
// Every helper takes the test's testing.TB, fails with t.Fatalf and never
// sleeps: expectations wait on channels, conditions are polled.
//
// # Timeouts
//
// Expectations wait DefaultTimeout (3 s) unless given a duration. All
// durations are multiplied by TimeFactor, read from the environment
// variable TROUPE_TEST_TIME_FACTOR (a number, at least 1), so that slow
// machines can stretch them without code changes.
//
// # Caveats
//
//   - A Kit, its probes and its recorder are bound to the test that created
//     the kit and are used from its goroutine, like t.Fatalf.
//   - The goroutine leak check counts every goroutine started after New:
//     do not use a Kit in a test that runs in parallel with others
//     (t.Parallel) which start goroutines.
//   - The cleanup stops actors with Proto.Actor's Stop, which drops the
//     messages still in their mailboxes. To see an actor drain them, Poison
//     it (kit.System().Root.PoisonFuture) before the test ends.
//   - Expectations take messages in order: to skip some, fish for the one
//     wanted (FishForMessage).
//   - Harnesses are not safe for concurrent use: like a subtask, one is
//     driven from one goroutine.
//
// The cluster work will add an in-process mini cluster here, on the same
// conventions.
package testkit
