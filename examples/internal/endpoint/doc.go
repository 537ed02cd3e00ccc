// Package endpoint checks the parameters that say where an example
// pipeline reads and writes: a file to read, a directory of part files to
// write, or a JetStream stream as a nats:// URL. A bad one is a usage
// error (wrapping actors.ErrBadParam, naming the parameter and its value)
// when the pipeline is built, before the job starts, rather than a
// failure of the running job, which a restart strategy would retry.
//
// The checks look at the machine that builds the pipeline: the node that
// runs it, for node run.
package endpoint
