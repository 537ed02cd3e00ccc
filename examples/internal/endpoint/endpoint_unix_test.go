//go:build unix

package endpoint

import (
	"path/filepath"
	"syscall"
	"testing"
)

// A named pipe is refused without waiting for a writer, as opening it
// would.
func TestInput_namedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "Input(fifo)", Input(params(t, "input", fifo), "input", false), "not a regular file")
}
