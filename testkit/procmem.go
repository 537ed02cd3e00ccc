package testkit

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// ProcessRSS returns the resident set size of process pid in bytes: the
// VmRSS line of /proc/<pid>/status. It needs Linux's /proc; elsewhere it
// returns an error (tests that sample memory skip then).
func ProcessRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("testkit: resident set of process %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		// "VmRSS:	   12345 kB"
		num, unit, _ := bytes.Cut(bytes.TrimSpace(rest), []byte(" "))
		kb, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || string(bytes.TrimSpace(unit)) != "kB" {
			return 0, fmt.Errorf("testkit: resident set of process %d: cannot read %q", pid, sc.Text())
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("testkit: resident set of process %d: no VmRSS in /proc/%d/status", pid, pid)
}
