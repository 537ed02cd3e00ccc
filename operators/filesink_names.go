package operators

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Part file names. Every file of a WriteFiles sink subtask is named
//
//	part-<subtask>-<nanos>-<attempt>-<random>[-<seq>].<sink>
//
// with the suffix ".jsonl" once committed, or hidden by a leading "."
// with ".inprogress" or ".pending" before. <seq> numbers the epochs'
// files with checkpoints, and is absent without. <sink> names the writer:
// "<run>.<op>", the job run's id and a hash of the sink's operator name
// (unique in a job; hashed because it may hold any character). A
// restored sink removes only hidden files of its own <sink> (see
// discardOrphans), so that another job, another run or another sink of
// the job writing into the same directory keeps its files; and because
// <sink> differs between runs, two runs never write the same committed
// name. <nanos> (the time the subtask opened), <attempt> and <random>
// tell apart the subtask instances of one run (a run resumed in a new
// process counts its attempts from 1 again).
//
// Names without ".<sink>" are those of sinks that ran outside a runtime
// (no run) before the sink name was added; they are read as committed
// output, and no restore removes them.

// partNamer names one sink subtask's part files.
type partNamer struct {
	stem string // "part-<subtask>-<nanos>-<attempt>-<random>"
	sink string // "<run>.<op>", or "<op>" outside a runtime
}

func newPartNamer(tc *TaskContext) partNamer {
	return partNamer{
		stem: fmt.Sprintf("part-%d-%d-%d-%08x", tc.Subtask, tc.Now().UnixNano(), tc.Attempt, rand.Uint32()),
		sink: sinkID(tc.Run, tc.Operator),
	}
}

// sinkID names the sink that writes a part file: run's id and an FNV-1a
// hash of the operator's name. A run id holds letters, digits, '.', '_'
// and '-' only (actors.ContinueRun), all safe in a file name.
func sinkID(run, operator string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(operator)) // a hash never fails to write
	op := fmt.Sprintf("%08x", h.Sum32())
	if run == "" {
		return op
	}
	return run + "." + op
}

// base returns a part file's name without the leading "." and the
// suffix: the file of epoch seq, or with seq < 0 the one file of a sink
// without checkpoints.
func (n partNamer) base(seq int) string {
	if seq < 0 {
		return n.stem + "." + n.sink
	}
	return fmt.Sprintf("%s-%04d.%s", n.stem, seq, n.sink)
}

// partName is a part file's name, parsed.
type partName struct {
	name                string
	subtask             int
	nanos, attempt, seq int64  // seq -1 without checkpoints
	sink                string // "" in names without one
}

// parsePartName parses a committed part file's name.
func parsePartName(name string) (partName, bool) {
	rest, ok := strings.CutPrefix(name, "part-")
	if !ok {
		return partName{}, false
	}
	if rest, ok = strings.CutSuffix(rest, ".jsonl"); !ok {
		return partName{}, false
	}
	return parsePartFields(name, rest)
}

// parseHiddenPart parses the name of a part file in progress or pending
// a commit.
func parseHiddenPart(name string) (partName, bool) {
	rest, ok := strings.CutPrefix(name, ".part-")
	if !ok {
		return partName{}, false
	}
	for _, suffix := range []string{".inprogress", ".pending"} {
		if r, ok := strings.CutSuffix(rest, suffix); ok {
			return parsePartFields(name, r)
		}
	}
	return partName{}, false
}

// parsePartFields parses "<subtask>-<nanos>-<attempt>-<random>[-<seq>][.<sink>]".
// The numbers hold no '.', so the first one starts the sink, which may
// hold more (a run id may).
func parsePartFields(name, rest string) (partName, bool) {
	rest, sink, hasSink := strings.Cut(rest, ".")
	if hasSink && sink == "" {
		return partName{}, false
	}
	fields := strings.Split(rest, "-")
	if len(fields) != 4 && len(fields) != 5 {
		return partName{}, false
	}
	p := partName{name: name, seq: -1, sink: sink}
	nums := []*int64{nil, &p.nanos, &p.attempt, nil, &p.seq}
	for i, f := range fields {
		if nums[i] == nil {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return partName{}, false
		}
		*nums[i] = n
	}
	sub, err := strconv.Atoi(fields[0])
	if err != nil || sub < 0 {
		return partName{}, false
	}
	p.subtask = sub
	return p, true
}

// comparePartNames orders part files by subtask, then as they were
// written: by the time their writer opened, attempt and epoch.
func comparePartNames(a, b partName) int {
	return cmp.Or(cmp.Compare(a.subtask, b.subtask), cmp.Compare(a.nanos, b.nanos),
		cmp.Compare(a.attempt, b.attempt), cmp.Compare(a.seq, b.seq), strings.Compare(a.name, b.name))
}
