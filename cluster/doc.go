// Package cluster forms a cluster of peer nodes by gossip
// (hashicorp/memberlist): who the members are, what each one offers
// ([NodeMeta]), when one joins, changes, leaves or dies ([Event]), and
// which one coordinates ([Coordinator]).
//
// # Model
//
// Every node runs one [Membership] ([New]): one memberlist instance that
// gossips the node's metadata and probes the others. A member is one
// process of a node: its identity is the pair (Name, Incarnation), where
// the incarnation is drawn at random when the process starts, so a node
// restarted with the same name and address is another member. Nodes
// started with the same Join seed list form one cluster. Seeds that do not
// answer are retried until they do, and all seeds while the node sees
// nobody else (Timing.RejoinInterval), so nodes may start in any order.
//
// A Membership keeps a view of the live members, fed by memberlist's
// notifications, and turns each change of the view into events:
// [EventJoin], [EventUpdate] (new metadata, such as Slots or Leaving),
// [EventLeave] (the member called Leave) and [EventDead] (it failed, was
// replaced by a new incarnation, or sent metadata we cannot decode).
// Members returns the view; Events streams the changes to one consumer.
//
// The coordinator is the oldest live member by start time, ties broken by
// name then incarnation ([Coordinator]): a pure function, so nodes that
// share a view agree without any message.
//
// # Invariants
//
//   - A member is listed by Members exactly while memberlist sees it alive
//     and its metadata decodes and carries its memberlist name.
//   - Events come in the order the view changed, none lost before Close.
//     For each name: a join, updates, then a leave or a death; the join of
//     a new incarnation comes after the leave or death of the old one, and
//     nothing about the old one follows it. An incarnation declared dead
//     by mistake (it was only slow) may join again: treat that as a new
//     member, for what ran there was failed over.
//   - Members reflects every event queued, possibly ahead of what the
//     consumer has received.
//   - Encoded metadata never exceeds memberlist's 512 bytes (MaxMetaSize);
//     decoding accepts only what MarshalBinary writes (the encoding is
//     canonical) and rejects anything else with an error.
//   - Leave is best effort: a member that missed the leave intent reports
//     EventDead. Treat EventLeave and EventDead alike for everything that
//     ran on the member; they differ in diagnostics only.
//   - Views differ for a moment while gossip spreads, so two nodes may
//     each believe they coordinate. Whatever a coordinator does must be
//     fenced elsewhere (the job store's owner epoch, DESIGN.md).
//
// # Events
//
// Memberlist notifies while it holds its node lock, so the events go into
// an unbounded queue that a goroutine of the Membership hands to the
// consumer of Events. Nothing blocks memberlist, and no event is dropped
// while the node runs; a consumer that stops reading makes the queue grow
// (one entry per membership change, a few hundred bytes each), and the
// Membership warns at 1024 pending events and at each doubling. Close
// closes the channel and drops what is still queued.
//
// # Timing
//
// Two profiles: [LANTiming] (memberlist's LAN defaults, full state sync
// every 5 s instead of 30 s) and [LocalTiming] (loopback and tests: probe
// every 200 ms with a 100 ms timeout, suspicion multiplier 2, gossip every
// 50 ms, full sync every second). Measured with three nodes on loopback on
// two cores shared with other work (load 8), mean and max of 5 runs, twice:
//
//	go test ./cluster/ -run '^$' -bench . -benchtime 5x
//
//	                                         LocalTiming      LANTiming
//	converge: started one by one             54-55, 57 ms     205, 212 ms
//	converge: at once, the same seed list    1-3, 4 ms        3, 9 ms
//	converge: at once, n2 joins n1, n3 n2    205-227, 257 ms  1.0-1.2, 1.2 s
//	EventDead at both others after Close     830, 951 ms      6.0-6.2, 6.8 s
//	EventLeave at both others from Leave     147, 151 ms      560-600, 600 ms
//
// Started one by one, the third node reaches the second by gossip, one
// GossipInterval or so. Started at once with the same seed list, the nodes
// contact each other directly. Chained seeds wait for the retry of a seed
// that was not up yet (Timing.RejoinInterval). Detection takes about a
// probe interval plus the suspicion timeout (SuspicionMult × ProbeInterval
// × max(1, log10 n)), more in large clusters, where a failed node waits
// longer to be probed. A Leave returns once its two broadcasts (the intent,
// then the goodbye) went out, a few gossip intervals.
//
// The price of LocalTiming is false deaths: a node that stalls for longer
// than the suspicion timeout, 400 ms with three nodes, is declared dead
// and then rejoins. This package's tests passed 20 runs in a row under
// -race, twice, at loads of 10 to 15 on two cores (go test -race
// -count=20 ./cluster/), but a production LAN should keep LANTiming.
//
// # Threading
//
// Every method of Membership is safe for concurrent use; see its
// documentation for which methods wait. Events has one consumer.
// [NodeMeta] values are copies: changing one changes no view.
//
// # Store
//
// What the cluster keeps durably — job records with compare-and-set,
// the checkpoints of every run — is a [Store] that every node opens
// ([OpenStore]): a [FileStore] in a directory every node reaches, or a
// [NATSStore] on NATS JetStream (external, or the servers the nodes
// embed, package natsembed). Both pass one conformance suite; see
// docs/cluster.md.
//
// # What comes later
//
// This package owns membership only. The cluster issue adds, on top of it:
// placement of subtasks on members by their slots, a task manager per
// node, failover glue (EventDead and EventLeave fail the jobs that had
// subtasks on the member), the coordinator's job masters, and remote
// channels over Proto.Actor remote. The seams: a member is an incarnation
// that may end at any time, and nothing here assumes a node lives forever;
// a member's actor system is reached through NodeMeta.ActorAddr; new
// fields (a NATS route address) go into NodeMeta.Extra without a format
// change. Not built yet either: a cluster label that keeps foreign
// clusters apart (a gossip key does, see Security), and healing a
// partition in which no node is left alone (memberlist stops gossiping to
// dead nodes after 30 s; seeds are retried only until they first answer,
// or while the node has no peer).
//
// # Security
//
// Config.GossipKeys encrypt and authenticate gossip with memberlist's
// keyring (AES-GCM): a node without one of the cluster's keys cannot join,
// and a node with keys accepts nothing in the clear. The first key
// encrypts; all are tried on receipt, which is how SetGossipKeys rotates
// keys while the nodes run (install the new key everywhere, make it the
// primary everywhere, remove the old one).
//
// A Node's data plane (NodeConfig.TLS, Proto.Actor remote with mutual
// TLS) is secured apart from gossip, so a member of the gossip may be
// unable to exchange a message with the others: a certificate the
// cluster's CA did not sign, an address that cannot be dialed. Each node
// asks every member's task manager for its status when the member joins
// (and again, at doubling intervals up to 16 s, until it answers), and
// its job service places subtasks only on members that answered
// (MemberStatus.Reachable). Jobs
// thus run on the members they can reach, instead of failing over and
// over on one they cannot. docs/operations.md has the operator's side.
package cluster
