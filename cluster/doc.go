// Package cluster will form a cluster of peer nodes by gossip
// (hashicorp/memberlist), place subtasks on nodes, and carry channels
// between nodes over Proto.Actor remote.
//
// Nothing is implemented here yet: the cluster issue builds it. The runtime
// keeps the seam it needs: a subtask talks to its peers through a transport
// (actors/transport.go), and every stream has a batch codec
// (operators/codec.go) for the remote one.
package cluster
