package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/troupe-dev/troupe/cluster"
)

// serverFlagUsage is the --server line of every client command's help.
const serverFlagUsage = `  --server URL             the node to ask (default: $TROUPE_SERVER, else
                           http://127.0.0.1:8081); any node of the cluster
                           will do, it forwards job requests to the
                           coordinator
  --api-token-file FILE    send the first token of FILE to a node that
                           requires one (default: $TROUPE_API_TOKEN)
  --tls-ca FILE            trust the CA certificates of FILE (PEM) for an
                           https:// server (default: the system's)
  -h, --help               show this help
`

const submitUsage = `Usage: node submit PIPELINE [--param key=value]... [--parallelism N]
                   [--checkpoint-interval D [--unaligned [--alignment-timeout D]]]
                   [--state-backend heap|bbolt] [--restore PATH] [--server URL]

Submits a registered pipeline to the cluster of the node at --server and
prints the job's id. The job runs on the cluster's nodes, not in this
process: 'node job ID' shows where, 'node wait ID' waits for its end.
Flags may come before or after PIPELINE.

Flags:
  -p, --param key=value    set a pipeline parameter (repeat for more)
  --parallelism N          the default parallelism of the pipeline's
                           operators (N >= 1; default: the pipeline's own)
  --checkpoint-interval D  take a checkpoint every D (such as 200ms or 10s)
                           into the cluster's store
  --unaligned              unaligned checkpoints (see 'node run --help');
                           they work across nodes
  --alignment-timeout D    start checkpoints aligned, unaligned after D
  --state-backend NAME     where keyed state lives: heap (the default) or
                           bbolt (files under each node's --data-dir)
  --restore PATH           start from a savepoint or checkpoint in the
                           cluster's store, at any --parallelism
` + serverFlagUsage + `
Exit codes: 0 submitted, 1 the node could not be reached or failed,
2 usage error (including an unknown pipeline, a bad parameter or a
--restore path the cluster does not have).
`

func (c *command) submit(args []string) int {
	jf := jobFlags{params: make(map[string]string)}
	return c.runClient("submit", args, clientCmd{
		usage: submitUsage,
		args:  []string{"PIPELINE"},
		flags: jf.add,
		run: func(rc remoteCall, args []string) int {
			if err := jf.check(); err != nil {
				return c.usageError("submit", err)
			}
			id, err := rc.cl.Submit(context.Background(), jf.request(args[0]))
			if err != nil {
				return rc.fail(err)
			}
			fmt.Fprintln(c.stdout, id)
			return ExitOK
		},
	})
}

// request returns the job request of the flags for pipeline.
func (f *jobFlags) request(pipeline string) cluster.JobRequest {
	req := cluster.JobRequest{Pipeline: pipeline, Parallelism: f.parallelism, StateBackend: f.backend, Restore: f.restore}
	if len(f.params) > 0 {
		req.Params = f.params
	}
	if f.interval > 0 {
		req.CheckpointInterval = f.interval.String()
	}
	req.Unaligned = f.unaligned
	if f.alignmentTimeout > 0 {
		req.AlignmentTimeout = f.alignmentTimeout.String()
	}
	return req
}

const cancelUsage = `Usage: node cancel ID [--server URL]

Cancels a job at once, without a savepoint; its subtasks stop on every
node. It returns once the cancel is requested: 'node wait ID' waits until
the job has ended ('node savepoint ID --stop' stops it with a savepoint).

Flags:
` + serverFlagUsage + `
Exit codes: 0 cancel requested, 1 the node could not be reached or failed,
2 usage error (including an unknown job, or one that has ended).
`

func (c *command) cancel(args []string) int {
	return c.runClient("cancel", args, clientCmd{
		usage: cancelUsage,
		args:  []string{"ID"},
		run: func(rc remoteCall, args []string) int {
			if err := rc.cl.Cancel(context.Background(), args[0]); err != nil {
				return rc.fail(err)
			}
			fmt.Fprintf(c.stdout, "cancel requested for job %s\n", args[0])
			return ExitOK
		},
	})
}

const savepointUsage = `Usage: node savepoint ID [--stop] [--server URL]

Takes a savepoint of a running job into the cluster's store and prints its
path, to start a job from with 'node submit --restore PATH' or
'node run --restore PATH', at any parallelism.

Flags:
  --stop                   stop the job once the savepoint is complete
` + serverFlagUsage + `
Exit codes: 0 the savepoint is complete, 1 it failed or the node could not
be reached, 2 usage error (including an unknown job, or one that has ended).
`

func (c *command) savepoint(args []string) int {
	var stop bool
	return c.runClient("savepoint", args, clientCmd{
		usage: savepointUsage,
		args:  []string{"ID"},
		flags: func(fs *flag.FlagSet) { fs.BoolVar(&stop, "stop", false, "") },
		run: func(rc remoteCall, args []string) int {
			path, err := rc.cl.Savepoint(context.Background(), args[0], stop)
			if err != nil {
				return rc.fail(err)
			}
			fmt.Fprintln(c.stdout, path)
			return ExitOK
		},
	})
}
