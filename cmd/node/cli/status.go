package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/troupe-dev/troupe/cluster"
)

const jobsUsage = `Usage: node jobs [--server URL]

Lists the cluster's jobs, running and ended: id, pipeline, state,
parallelism, restarts and the id of the latest complete checkpoint.
A job waiting for free slots is in state waiting-for-slots.

Flags:
` + serverFlagUsage + `
Exit codes: 0 listed, 1 the node could not be reached or failed, 2 usage error.
`

func (c *command) jobs(args []string) int {
	return c.runClient("jobs", args, clientCmd{
		usage: jobsUsage,
		run: func(rc remoteCall, _ []string) int {
			jobs, err := rc.cl.Jobs(context.Background())
			if err != nil {
				return rc.fail(err)
			}
			writeJobs(c.stdout, jobs)
			return ExitOK
		},
	})
}

// writeJobs prints jobs as a table, one line each.
func writeJobs(w io.Writer, jobs []cluster.JobStatus) {
	if len(jobs) == 0 {
		fmt.Fprintln(w, "No jobs.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPIPELINE\tSTATE\tPARALLELISM\tRESTARTS\tCHECKPOINT")
	for _, j := range jobs {
		ck := "-"
		if j.LatestCheckpoint != nil {
			ck = strconv.FormatInt(j.LatestCheckpoint.ID, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", j.ID, j.Pipeline, j.State, j.Parallelism, j.Restarts, ck)
	}
	tw.Flush()
}

const jobUsage = `Usage: node job ID [--server URL]

Shows a job: its pipeline and parameters, state, when it was submitted,
when its current attempt started running and when it ended, restarts, latest
checkpoint, the cause of its failure (or of its latest restart), and each
vertex with the node each of its subtasks runs on.

Flags:
` + serverFlagUsage + `
Exit codes: 0 shown, 1 the node could not be reached or failed, 2 usage
error (including an unknown job).
`

func (c *command) job(args []string) int {
	return c.runClient("job", args, clientCmd{
		usage: jobUsage,
		args:  []string{"ID"},
		run: func(rc remoteCall, args []string) int {
			j, err := rc.cl.Job(context.Background(), args[0])
			if err != nil {
				return rc.fail(err)
			}
			writeJob(c.stdout, j)
			return ExitOK
		},
	})
}

// writeJob prints one job's details, then its vertices and the node of
// each subtask.
func writeJob(w io.Writer, j cluster.JobStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	line("id", j.ID)
	line("pipeline", j.Pipeline)
	if len(j.Params) > 0 {
		line("params", formatParams(j.Params))
	}
	line("state", j.State)
	line("parallelism", strconv.Itoa(j.Parallelism))
	line("submitted", formatTime(j.Submitted))
	if !j.RunningSince.IsZero() {
		line("running", "since "+formatTime(j.RunningSince))
	}
	if !j.Ended.IsZero() {
		line("ended", formatTime(j.Ended))
	}
	line("restarts", strconv.Itoa(j.Restarts))
	if ck := j.LatestCheckpoint; ck != nil {
		line("checkpoint", fmt.Sprintf("%d %s", ck.ID, ck.Path))
	} else {
		line("checkpoint", "-")
	}
	if j.Failure != "" {
		line("failure", j.Failure)
	}
	tw.Flush()
	if len(j.Vertices) == 0 {
		return
	}
	fmt.Fprintln(w, "vertices:")
	for _, v := range j.Vertices {
		fmt.Fprintf(w, "  %s (parallelism %d)\n", v.Name, v.Parallelism)
		for _, s := range v.Subtasks {
			fmt.Fprintf(w, "    %d  %s\n", s.Index, s.Node)
		}
	}
}

// formatParams prints parameters as key=value, sorted by key.
func formatParams(ps map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(ps)) {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(k + "=" + strconv.Quote(ps[k]))
	}
	return b.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

const membersUsage = `Usage: node members [--server URL]

Lists the live members of the cluster as the node at --server sees them:
name, HTTP, actor and gossip addresses, slots in use of those offered,
version, start time, and whether that node reaches the member over the
data plane (REACH: no for a member whose certificate it does not trust or
whose address it cannot dial; it gets no subtasks). The coordinator,
which runs the jobs' masters, is marked with *.

Flags:
` + serverFlagUsage + `
Exit codes: 0 listed, 1 the node could not be reached or failed, 2 usage error.
`

func (c *command) members(args []string) int {
	return c.runClient("members", args, clientCmd{
		usage: membersUsage,
		run: func(rc remoteCall, _ []string) int {
			ms, err := rc.cl.Members(context.Background())
			if err != nil {
				return rc.fail(err)
			}
			writeMembers(c.stdout, ms)
			return ExitOK
		},
	})
}

// writeMembers prints members as a table, the coordinator marked.
func writeMembers(w io.Writer, ms []cluster.MemberStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, " \tNAME\tHTTP\tACTOR\tGOSSIP\tSLOTS\tVERSION\tSTARTED\tREACH")
	for _, m := range ms {
		mark, reach := " ", "yes"
		if m.Coordinator {
			mark = "*"
		}
		if !m.Reachable {
			reach = "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n",
			mark, m.Name, m.HTTPAddr, m.ActorAddr, m.GossipAddr, m.SlotsUsed, m.Slots, m.Version, formatTime(m.Started), reach)
	}
	tw.Flush()
}
