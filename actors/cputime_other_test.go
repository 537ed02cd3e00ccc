//go:build !unix

package actors

import "time"

// cpuTime is not measured here: benchmarks report 0 CPU time.
func cpuTime() time.Duration { return 0 }

// processCPU is unknown here: benchmarks report no CPU rates.
func processCPU() time.Duration { return 0 }
