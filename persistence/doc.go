// Package persistence will hold durable state: the keyed state API (value,
// list, map, reducing, aggregating; TTL), key groups, the heap and bbolt
// state backends, checkpoint storage and the versioned snapshot format.
//
// Nothing is implemented here yet: the checkpoint issue builds it. Keyed
// operators keep their state in memory today, and key groups
// (operators.KeyGroup, operators.KeyGroupRange) are already deterministic
// across processes so that state can later move by key group.
package persistence
