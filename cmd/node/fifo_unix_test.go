//go:build unix

package main

import (
	"syscall"
	"testing"
)

// mkfifo makes a named pipe at path: a process that opens it for writing
// blocks until another opens it for reading.
func mkfifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}
