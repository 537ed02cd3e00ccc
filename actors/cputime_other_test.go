//go:build !unix

package actors

import "time"

// processCPU is unknown here: benchmarks report no CPU rates.
func processCPU() time.Duration { return 0 }
