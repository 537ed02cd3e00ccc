package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// registryBuckets is how many buckets the process registry of an actor
// system from NewActorSystem has. Proto.Actor makes 1,024, each a
// concurrent map of 32 shards: 32,768 small maps, about 3 MiB, that every
// garbage collection marks and scans for as long as the system lives
// (docs/benchmarks.md, "The collector's pacing: a heap reserve"). The
// registry is read when a PID is first used (a PID keeps the process it
// resolved to) and written when an actor starts or stops, so 16 buckets,
// 512 locked shards, leave the engine's spawns nothing to contend for.
const registryBuckets = 16

// NewActorSystem is actor.NewActorSystem with a process registry of
// registryBuckets buckets: the engine's, and the testkit's, so that what
// a test runs is what a node runs.
func NewActorSystem(opts ...actor.ConfigOption) *actor.ActorSystem {
	sys := actor.NewActorSystem(opts...)
	shrinkRegistry(sys.ProcessRegistry, registryBuckets)
	return sys
}

// shrinkRegistry replaces r's buckets with n, moving the processes the
// system registered as it started (its event stream and dead letters).
// The bucket slice is an exported field that Proto.Actor reads on every
// lookup without a lock, so this must run before anything else can use
// the system: before the first spawn, and before remote starts.
func shrinkRegistry(r *actor.ProcessRegistryValue, n int) {
	small := &actor.SliceMap{LocalPIDs: make([]cmap.ConcurrentMap, n)}
	for i := range small.LocalPIDs {
		small.LocalPIDs[i] = cmap.New()
	}
	for _, bucket := range r.LocalPIDs.LocalPIDs {
		bucket.IterCb(func(id string, p any) { small.GetBucket(id).Set(id, p) })
	}
	r.LocalPIDs = small
}
