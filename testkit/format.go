package testkit

import (
	"fmt"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
)

// show formats a message for a failure: Go syntax, except for Protocol
// Buffers messages (Proto.Actor's own, like *actor.Terminated), whose Go
// syntax is mostly internal state.
func show(msg any) string {
	switch m := msg.(type) {
	case *actor.PID:
		return pidKey(m)
	case interface {
		ProtoMessage()
		String() string
	}:
		return fmt.Sprintf("%T{%s}", m, m.String())
	default:
		return fmt.Sprintf("%#v", msg)
	}
}

// showAll formats messages for a failure.
func showAll(msgs []any) string {
	s := make([]string, len(msgs))
	for i, m := range msgs {
		s[i] = show(m)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// pidKey identifies a PID in maps and messages: PIDs compare by value.
func pidKey(pid *actor.PID) string {
	if pid == nil {
		return "<nil>"
	}
	return pid.Address + "/" + pid.Id
}
