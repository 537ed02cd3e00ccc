//go:build unix

package actors

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) this process has
// used, for benchmarks that must not depend on how much of a shared
// machine they get.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
