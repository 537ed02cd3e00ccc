//go:build race

package jetstream

// raceEnabled: the race detector slows the embedded server about tenfold.
const raceEnabled = true
