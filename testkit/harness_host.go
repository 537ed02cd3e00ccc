package testkit

// harnessHost is the runtime services a harness gives the operators under
// test (TaskContext.Host), standing in for the subtask actor: operators
// that need the runtime (async I/O) find here the deterministic versions
// the test drives.
type harnessHost struct{}
