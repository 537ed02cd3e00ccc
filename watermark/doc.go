// Package watermark will hold event-time logic: watermark strategies
// (bounded out-of-orderness, monotonous, punctuated), idleness, the
// multi-input valve (minimum over active inputs) and the timer service. It
// imports the standard library only and starts no goroutines.
//
// Nothing is implemented here yet: the event-time issue builds it. Records
// already carry an event timestamp (operators.Element.Timestamp).
package watermark
