package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// Test hooks of a cluster node, set by environment variables: meant for
// the cluster's tests only; production nodes leave them unset.
const (
	// faultEnv makes a node fail an operator once, for the failover
	// tests:
	//
	//	TROUPE_FAULT=operator=NAME,record=N[,subtask=I][,node=NODE]
	//
	// On node NODE (any node, if not given), the node's first subtask of
	// operator NAME (of index I, if given) that handles its N-th record
	// panics there, once in the node process's life; the job then
	// restarts from its latest checkpoint as after any operator failure.
	faultEnv = "TROUPE_FAULT"
	// slowEnv makes an operator slow on a node, for the backpressure
	// tests:
	//
	//	TROUPE_SLOW=operator=NAME,delay=D[,subtask=I][,node=NODE]
	//
	// On node NODE (any node, if not given), every subtask of operator
	// NAME (of index I, if given) takes D (a Go duration) over each
	// record on average, holding its goroutine as a slow external system
	// would.
	slowEnv = "TROUPE_SLOW"
)

// faultsFromEnv returns the injector of the test hooks set for node;
// nil when none is.
func faultsFromEnv(node string) (operators.FaultInjector, error) {
	var all injectors
	fault, err := faultFromEnv(node)
	if err != nil {
		return nil, err
	}
	if fault != nil {
		all = append(all, fault)
	}
	slow, err := slowFromEnv(node)
	if err != nil {
		return nil, err
	}
	if slow != nil {
		all = append(all, slow)
	}
	switch len(all) {
	case 0:
		return nil, nil
	case 1:
		return all[0], nil
	}
	return all, nil
}

// injectors runs several injectors in turn.
type injectors []operators.FaultInjector

func (in injectors) BeforeRecord(op operators.TaskInfo) {
	for _, f := range in {
		f.BeforeRecord(op)
	}
}

// hookSpec is a parsed test hook: key=value pairs, of the keys allowed.
type hookSpec map[string]string

// parseHook reads environment variable env as key=value pairs; a key
// not in allowed is an error. It returns nil when env is unset, or when
// the hook names a node other than node.
func parseHook(env, node string, allowed ...string) (hookSpec, error) {
	spec := os.Getenv(env)
	if spec == "" {
		return nil, nil
	}
	h := hookSpec{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%s=%q: %q is not key=value", env, spec, kv)
		}
		if k != "node" && !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("%s=%q: unknown key %q", env, spec, k)
		}
		h[k] = v
	}
	if on := h["node"]; on != "" && on != node {
		return nil, nil // another node's hook
	}
	return h, nil
}

// subtask returns the hook's subtask index, -1 (any) when not given.
func (h hookSpec) subtask() (int, error) {
	v, ok := h["subtask"]
	if !ok {
		return -1, nil
	}
	return strconv.Atoi(v)
}

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

// faultFromEnv parses TROUPE_FAULT; nil when it is unset or is another
// node's.
func faultFromEnv(node string) (*onceFault, error) {
	h, err := parseHook(faultEnv, node, "operator", "record", "subtask")
	if h == nil || err != nil {
		return nil, err
	}
	f := &onceFault{operator: h["operator"], seen: map[string]int64{}}
	f.record, _ = strconv.ParseInt(h["record"], 10, 64)
	f.subtask, err = h.subtask()
	if err != nil || f.operator == "" || f.record < 1 {
		return nil, fmt.Errorf("%s=%q: want operator=NAME,record=N (N ≥ 1)[,subtask=I][,node=NODE]", faultEnv, os.Getenv(faultEnv))
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

// slowOperator is a FaultInjector that makes one operator take a delay
// per record on average. It sleeps once the delays owed add up to
// minSleep, and counts a longer sleep against the next records: a sleep
// of a few microseconds takes a millisecond on a loaded machine, which
// would make the operator far slower than asked.
type slowOperator struct {
	operator string
	delay    time.Duration
	subtask  int // -1: any

	mu   sync.Mutex
	owed map[int]time.Duration // per subtask index: delay owed, negative after an oversleep
}

// minSleep is the shortest sleep of a slow operator.
const minSleep = 2 * time.Millisecond

// slowFromEnv parses TROUPE_SLOW; nil when it is unset or is another
// node's.
func slowFromEnv(node string) (*slowOperator, error) {
	h, err := parseHook(slowEnv, node, "operator", "delay", "subtask")
	if h == nil || err != nil {
		return nil, err
	}
	s := &slowOperator{operator: h["operator"], owed: map[int]time.Duration{}}
	s.delay, _ = time.ParseDuration(h["delay"])
	s.subtask, err = h.subtask()
	if err != nil || s.operator == "" || s.delay <= 0 {
		return nil, fmt.Errorf("%s=%q: want operator=NAME,delay=D (a positive Go duration)[,subtask=I][,node=NODE]", slowEnv, os.Getenv(slowEnv))
	}
	return s, nil
}

// BeforeRecord holds the operator's subtask for the delays it owes. A
// subtask calls it from its own goroutine, one record at a time.
func (s *slowOperator) BeforeRecord(op operators.TaskInfo) {
	if !s.matches(op) {
		return
	}
	s.mu.Lock()
	owed := s.owed[op.Subtask] + s.delay
	if owed < minSleep {
		s.owed[op.Subtask] = owed
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	start := time.Now()
	time.Sleep(owed) // the hook's purpose: a slow operator, not a wait for an event
	s.mu.Lock()
	s.owed[op.Subtask] = owed - time.Since(start)
	s.mu.Unlock()
}

func (s *slowOperator) matches(op operators.TaskInfo) bool {
	return op.Operator == s.operator && (s.subtask < 0 || op.Subtask == s.subtask)
}
