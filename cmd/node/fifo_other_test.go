//go:build !unix

package main

import "testing"

func mkfifo(t testing.TB, _ string) {
	t.Helper()
	t.Skip("no named pipes on this platform")
}
