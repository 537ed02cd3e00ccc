package testkit

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// goroutineStacks returns the stack of every goroutine by goroutine id,
// and the id of the calling goroutine.
func goroutineStacks() (stacks map[uint64]string, self uint64) {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	stacks = make(map[uint64]string)
	for i, block := range bytes.Split(buf, []byte("\n\n")) {
		if id, ok := goroutineID(string(block)); ok {
			stacks[id] = string(block)
			if i == 0 { // runtime.Stack puts the caller first
				self = id
			}
		}
	}
	return stacks, self
}

// goroutineID parses the header "goroutine 42 [chan receive]:".
func goroutineID(stack string) (uint64, bool) {
	rest, ok := strings.CutPrefix(stack, "goroutine ")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, " ")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(num, 10, 64)
	return id, err == nil
}

// leakedSince returns the stacks of goroutines that were not in before,
// leaving out the caller and the runtime's own goroutines (which show only
// with GOTRACEBACK=system).
func leakedSince(before map[uint64]string) []string {
	var leaked []string
	stacks, self := goroutineStacks()
	for id, stack := range stacks {
		if _, ok := before[id]; ok || id == self || strings.Contains(stack, "created by runtime.") {
			continue
		}
		leaked = append(leaked, stack)
	}
	return leaked
}

// waitLeaks polls until no goroutine started after before is alive, and
// returns the stacks of those still alive at the deadline.
func waitLeaks(before map[uint64]string, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	wait := 100 * time.Microsecond
	for {
		leaked := leakedSince(before)
		remaining := time.Until(deadline)
		if len(leaked) == 0 || remaining <= 0 {
			return leaked
		}
		timer := time.NewTimer(min(wait, remaining))
		<-timer.C
		wait = min(2*wait, pollInterval)
	}
}
