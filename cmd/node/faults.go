package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/troupe-dev/troupe/operators"
)

// faultEnv names the environment variable that makes a node fail an
// operator once, for the cluster's failover tests:
//
//	TROUPE_FAULT=operator=NAME,record=N[,subtask=I][,node=NODE]
//
// On node NODE (any node, if not given), the node's first subtask of operator NAME (of index I, if given) that
// handles its N-th record panics there, once in the node process's life;
// the job then restarts from its latest checkpoint as after any operator
// failure. Meant for tests only: production nodes leave it unset.
const faultEnv = "TROUPE_FAULT"

// onceFault is a FaultInjector that panics once, at one record of one
// operator.
type onceFault struct {
	operator string
	record   int64
	subtask  int // -1: any

	mu    sync.Mutex
	seen  map[string]int64 // records per (attempt, subtask) of the operator
	fired atomic.Bool
}

// faultFromEnv parses TROUPE_FAULT; nil when it is unset.
func faultFromEnv(node string) (*onceFault, error) {
	spec := os.Getenv(faultEnv)
	if spec == "" {
		return nil, nil
	}
	f := &onceFault{subtask: -1, seen: map[string]int64{}}
	onNode := ""
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%s=%q: %q is not key=value", faultEnv, spec, kv)
		}
		var err error
		switch k {
		case "operator":
			f.operator = v
		case "record":
			f.record, err = strconv.ParseInt(v, 10, 64)
		case "subtask":
			f.subtask, err = strconv.Atoi(v)
		case "node":
			onNode = v
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return nil, fmt.Errorf("%s=%q: %v", faultEnv, spec, err)
		}
	}
	if f.operator == "" || f.record < 1 {
		return nil, fmt.Errorf("%s=%q: want operator=NAME,record=N (N ≥ 1)", faultEnv, spec)
	}
	if onNode != "" && onNode != node {
		return nil, nil // another node's fault
	}
	return f, nil
}

// BeforeRecord counts the operator's records and panics at the chosen one.
func (f *onceFault) BeforeRecord(op operators.TaskInfo) {
	if op.Operator != f.operator || (f.subtask >= 0 && op.Subtask != f.subtask) || f.fired.Load() {
		return
	}
	key := fmt.Sprintf("%d/%d", op.Attempt, op.Subtask)
	f.mu.Lock()
	f.seen[key]++
	n := f.seen[key]
	f.mu.Unlock()
	if n == f.record && f.fired.CompareAndSwap(false, true) {
		panic(fmt.Sprintf("%s: injected fault in %s subtask %d at record %d", faultEnv, op.Operator, op.Subtask, n))
	}
}
