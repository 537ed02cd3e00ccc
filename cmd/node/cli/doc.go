// Package cli is the command line of the troupe node: the whole of
// cmd/node's behaviour, importable so that a program of one's own can
// register its pipelines and reuse the command unchanged:
//
//	func main() {
//		reg := actors.NewRegistry()
//		reg.MustRegister(mypipeline.Spec())
//		os.Exit(cli.Main(os.Args[1:], reg, os.Stdout, os.Stderr))
//	}
//
// # Commands
//
//	node run PIPELINE [--param key=value]... [--parallelism N]
//	         [--checkpoint-interval D --state-dir DIR] [--restore PATH]
//	         [--no-savepoint] [--state-backend heap|bbolt]
//	node pipelines
//	node publish nexmark nats://HOST:PORT/STREAM[?subject=PREFIX] [--events N] [--from N] [--seed S]
//	node help [run|publish]
//
// run builds the registered pipeline from its parameters (-p is short for
// --param; flags may come before or after PIPELINE) and runs it on an
// in-process engine: until its input ends, or until SIGINT or SIGTERM. The
// first signal stops the job gracefully — sources end, everything in
// flight reaches the sinks — and the second cancels it. The engine logs
// warnings and errors only, to standard error, so a normal run writes
// nothing but the pipeline's output. pipelines lists the registered
// pipelines with their parameters. publish stores events of the Nexmark
// generator in a JetStream stream (by kind, under PREFIX.person, .auction
// and .bid, with message IDs that make a repeated publish store nothing
// twice), for demos of the pipelines' nats:// inputs. --help (or -h)
// after any command prints its usage.
//
// # Checkpoints
//
// --checkpoint-interval turns exactly-once checkpoints on; --state-dir
// keeps them under DIR/<pipeline>-<hash of pipeline and parameters>, one
// run-<n> directory per run lineage (a fresh start or a --restore, and
// the resumes after crashes). If the latest run there did not finish — it
// crashed, was killed, failed or was stopped with a savepoint — the same
// command resumes it from its latest readable checkpoint and says so on
// standard error; damaged checkpoints are named, renamed *.unusable and
// skipped. A run that finished is marked with a _finished file, and the
// next one starts afresh. With a state dir, the first signal stops the
// job with a savepoint and prints its path (exit 0), unless --no-savepoint
// asks for a graceful stop. --restore PATH starts from a savepoint or
// checkpoint at any --parallelism.
//
// # Exit codes
//
//   - 0 ([ExitOK]): the command succeeded; for run, the job finished,
//     including after a graceful stop, or it stopped with a savepoint.
//   - 1 ([ExitFailed]): the job failed or was cancelled. Standard error
//     names the failing operator and subtask and the cause.
//   - 2 ([ExitUsage]): the command line is wrong — unknown command, flag
//     or pipeline, a missing or malformed parameter, a bad --parallelism,
//     --state-backend bbolt without --state-dir. Standard error names the
//     offending word and suggests --help. A --restore path that does not
//     exist, is damaged or holds another pipeline's state exits 2 too,
//     with an error naming the path or file.
package cli
