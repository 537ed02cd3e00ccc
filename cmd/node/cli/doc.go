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
// The command speaks as the program: its messages and usage texts name it
// by its executable's name ("clicks run: …"), or by [WithName]'s. Below,
// "node" stands for that name.
//
// # Commands
//
//	node run PIPELINE [--param key=value]... [--parallelism N]
//	         [--checkpoint-interval D --state-dir DIR] [--restore PATH]
//	         [--fresh] [--no-savepoint] [--state-backend heap|bbolt]
//	         [--restart none|fixed:ATTEMPTS:DELAY|exp:INITIAL:MAX:MULT|rate:FAILURES:INTERVAL:DELAY]
//	node pipelines
//	node start [--name NAME] [--bind HOST:PORT] [--gossip HOST:PORT]
//	           [--http HOST:PORT] [--join HOST:PORT[,...]] [--slots N]
//	           [--data-dir DIR] [--store file://DIR] [--port-file FILE]
//	           [--log-format text|json] [--log-level LEVEL]
//	           [--gossip-key-file FILE] [--api-token-file FILE]
//	           [--tls-cert FILE --tls-key FILE --tls-ca FILE]
//	           [--nats-embedded [--nats-listen HOST:PORT] [--nats-cluster HOST:PORT --nats-routes HOST:PORT,...]]
//	           [--nats-tls-ca FILE] [--nats-tls-cert FILE --nats-tls-key FILE]
//	           [--nats-token-file FILE | --nats-user NAME [--nats-password-file FILE] | --nats-nkey-file FILE | --nats-creds FILE]
//	node submit PIPELINE [--param key=value]... [--parallelism N]
//	            [--checkpoint-interval D] [--state-backend heap|bbolt]
//	            [--restore PATH]
//	node jobs
//	node job ID
//	node cancel ID
//	node savepoint ID [--stop]
//	node wait ID [--timeout D]
//	node members
//	node publish nexmark nats://HOST:PORT/STREAM[?subject=PREFIX] [--events N] [--from N] [--seed S]
//	node help [COMMAND]
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
// # Cluster
//
// start runs a cluster node until SIGINT or SIGTERM, which make it leave
// the cluster (memberlist's Leave: the others know at once) and exit 0.
// It checks its flags into a [StartConfig], binds the REST API's listener
// first (so that --http with port 0 works and the default name, host name
// and HTTP port, is known), starts the node with the [StartFunc] given to
// [Main] by [WithStart], serves the REST API (package rest) on it, and
// only then writes --port-file, atomically, as a [PortFile]: tests and
// scripts wait for that file rather than fix ports. A stale port file is
// removed at start and the port file at exit. Defaults bind loopback:
// actor system 127.0.0.1:0, gossip 127.0.0.1:7946 (memberlist's port, so
// the first node has a known address to --join), REST 127.0.0.1:8081;
// --data-dir ./troupe-data/NAME, --store file://DATA-DIR/store (or, with
// --nats-embedded, the embedded NATS server's JetStream); --store
// nats://HOST:PORT[,...] uses a NATS cluster of one's own.
//
// # Security
//
// Everything is open on loopback by default. --gossip-key-file (or
// $TROUPE_GOSSIP_KEY; base64 AES keys of 16, 24 or 32 bytes, the first the
// one the node sends with) encrypts gossip: a node without one of the
// cluster's keys cannot join. --tls-cert, --tls-key and --tls-ca (together)
// make the nodes talk mutual TLS on the data plane and serve the REST API
// over HTTPS; the certificate must be signed by the CA, fit for server and
// client authentication, and name the hosts of --bind and of the REST
// API, all of which start checks. A member that cannot be reached over
// the data plane (an untrusted certificate) gets no work. --api-token-file
// (or $TROUPE_API_TOKEN; tokens one per line, any accepted) makes every
// REST endpoint but /healthz require "Authorization: Bearer TOKEN" (401
// otherwise). A file flag wins over its variable; secrets never go on the
// command line, which ps shows. SIGHUP reads --gossip-key-file and
// --api-token-file again, for rotations without a restart (a bad file
// changes nothing and is logged); certificates change by a rolling
// restart. A node that binds beyond loopback without what each address
// needs (gossip key; TLS; token and TLS) warns once on standard error,
// naming the addresses. The store's NATS connection (a nats:// --store)
// takes TLS (--nats-tls-ca, and --nats-tls-cert with --nats-tls-key for
// mutual TLS) and one kind of credentials: a token (--nats-token-file or
// $TROUPE_NATS_TOKEN), a user (--nats-user with --nats-password-file or
// $TROUPE_NATS_PASSWORD), an nkey seed (--nats-nkey-file) or a .creds
// file (--nats-creds); with --nats-embedded the embedded server requires
// the same TLS (the three files) and token or user of its clients and
// routes. A NATS server that refuses the node's TLS or credentials fails
// the store's operations with natsstore.ErrRefused, naming why.
// docs/operations.md has the procedures.
//
// submit, jobs, job, cancel, savepoint, wait and members call the REST
// API of the node at --server (default: $TROUPE_SERVER, else
// http://127.0.0.1:8081), sending the first token of --api-token-file or
// $TROUPE_API_TOKEN and trusting the CAs of --tls-ca for https (the
// system's roots without it). Any node will do: it forwards job requests to
// the coordinator. submit prints the job's id, savepoint the savepoint's
// path; wait polls the job until it has ended, prints its final state
// (finished, failed, cancelled) and exits 0 only for finished; while the
// cluster has no coordinator it keeps asking, and --timeout bounds it.
//
// # Checkpoints
//
// --checkpoint-interval turns exactly-once checkpoints on; --state-dir
// keeps them under DIR/<pipeline>-<hash of pipeline and parameters>, one
// run-<n> directory per run (a fresh start or a --restore, and the
// resumes after crashes), which records the engine's run id in _run. If
// the latest run there did not finish — it crashed, was killed, failed or
// was stopped with a savepoint — the same command continues that run
// (actors.ContinueRun) from its latest checkpoint and says so on standard
// error. If that checkpoint is damaged, run fails, naming the file and
// the older checkpoints to start from with --restore PATH: the sinks may
// have committed its output, so falling back by itself would commit
// output twice. A run that finished is marked with a _finished file, and
// the next one starts afresh. Parameters are compared in canonical form
// (actors.Registry.BuildCanonical): defaults filled in, typed values as
// their type formats them; --restore paths as the file they name
// (absolute, cleaned, symbolic links resolved: canonicalPath), so that
// a savepoint named another way resumes the same run. A run of the
// pipeline under other parameters
// (or from another --restore) that did not finish stops a fresh start
// with exit 2, naming it and its latest checkpoint: resume it, --restore
// that checkpoint, or start over with --fresh (which supersedes it). A
// fresh start into an output directory that holds committed part files
// says so on standard error. With a state dir, the first signal stops the
// job with a savepoint and prints its path (exit 0), unless --no-savepoint
// asks for a graceful stop. --restore PATH starts from a savepoint or
// checkpoint at any --parallelism.
//
// # Restarts
//
// A failed job restarts by --restart, the engine's restart strategies:
// by default exponential delays (exp:1s:1m:1.5, ±10 %) with checkpoints,
// none without, as in Flink. Each restart is said on standard error with
// its number, the cause and the checkpoint it restores (none: the sources
// start again). When the strategy gives up, the job fails (exit 1) with
// its last failure's cause. node submit has no --restart yet: a cluster
// job takes the engine's default.
//
// # Exit codes
//
//   - 0 ([ExitOK]): the command succeeded; for run, the job finished,
//     including after a graceful stop, or it stopped with a savepoint.
//   - 1 ([ExitFailed]): the job failed or was cancelled (for wait too, and
//     when its --timeout passed first). Standard error names the failing
//     operator and subtask and the cause. Also: a node that cannot be
//     reached (standard error names the URL and suggests --server), a
//     node that answers with a server error (5xx), a node start that
//     cannot bind its addresses or start the node.
//   - 2 ([ExitUsage]): the command line is wrong — unknown command, flag
//     or pipeline, a missing or malformed parameter (for the built-in
//     pipelines also an input file that does not exist or cannot be read,
//     an output that cannot be a directory), a bad --parallelism,
//     --state-backend bbolt without --state-dir, a malformed --restart.
//     Standard error names the
//     offending word and suggests --help. A --restore path that does not
//     exist, is damaged or holds another pipeline's state exits 2 too,
//     with an error naming the path or file. For the cluster commands,
//     every refusal of the server (4xx: an unknown pipeline or job, a bad
//     parameter, a restore path the cluster does not have, a job that
//     has ended) exits 2 with the server's message, as does a bad flag of
//     node start (an address that is not HOST:PORT, an unknown --store
//     scheme, a bad gossip key, TLS file or token). A 401 of the server
//     (no token, or a wrong one) exits 2 with a hint to --api-token-file;
//     a server certificate the command does not trust exits 1 with a hint
//     to --tls-ca.
package cli
