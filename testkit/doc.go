// Package testkit will give users and the engine's own tests actor probes,
// a synchronous operator harness, stream probes and a pipeline runner with
// failure injection. Only tests import it.
//
// Nothing is implemented here yet: the testkit issue builds it.
package testkit
