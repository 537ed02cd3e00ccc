// Package testkit tests actors and, in later work, operators and whole
// pipelines of troupe. Only tests import it.
//
// # Basics
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
//
// The operator harness, the stream probes and the pipeline runner with
// failure injection come in later work, in this package.
package testkit
