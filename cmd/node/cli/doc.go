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
//	node pipelines
//	node help [run]
//
// run builds the registered pipeline from its parameters (-p is short for
// --param; flags may come before or after PIPELINE) and runs it on an
// in-process engine: until its input ends, or until SIGINT or SIGTERM. The
// first signal stops the job gracefully — sources end, everything in
// flight reaches the sinks — and the second cancels it. The engine logs
// warnings and errors only, to standard error, so a normal run writes
// nothing but the pipeline's output. pipelines lists the registered
// pipelines with their parameters. --help (or -h) after any command prints
// its usage.
//
// # Exit codes
//
//   - 0 ([ExitOK]): the command succeeded; for run, the job finished,
//     including after a graceful stop.
//   - 1 ([ExitFailed]): the job failed or was cancelled. Standard error
//     names the failing operator and subtask and the cause.
//   - 2 ([ExitUsage]): the command line is wrong — unknown command, flag
//     or pipeline, a missing or malformed parameter, a bad --parallelism.
//     Standard error names the offending word and suggests --help.
package cli
