package actors

import "github.com/asynkron/protoactor-go/actor"

// transport delivers channel messages (batches and credits) to the peer
// subtask at the other end of a channel. A subtask never knows whether its
// peer is local: the master gives it one transport per channel. The local
// transport passes Go values and serialises nothing; a remote one (the
// cluster's) encodes batches with the stream's codec into protobuf
// messages and decodes them on arrival, which the receiving subtask sees as
// the same batchMsg.
type transport interface {
	send(ctx actor.SenderContext, to *actor.PID, msg any)
}

type localTransport struct{}

func (localTransport) send(ctx actor.SenderContext, to *actor.PID, msg any) { ctx.Send(to, msg) }
