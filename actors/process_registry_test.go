package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// registered returns the ids in sys's process registry.
func registered(sys *actor.ActorSystem) map[string]bool {
	ids := map[string]bool{}
	for _, bucket := range sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		bucket.IterCb(func(id string, _ any) { ids[id] = true })
	}
	return ids
}

// NewActorSystem's registry has registryBuckets buckets and still holds
// every process Proto.Actor's own start registers; actors spawned on it
// resolve, answer, and leave the registry when they stop.
func TestNewActorSystem_smallRegistryKeepsWhatTheSystemRegistered(t *testing.T) {
	stock := actor.NewActorSystem()
	defer stock.Shutdown()
	sys := NewActorSystem()
	defer sys.Shutdown()
	if n := len(sys.ProcessRegistry.LocalPIDs.LocalPIDs); n != registryBuckets {
		t.Fatalf("%d buckets, want %d", n, registryBuckets)
	}
	want := registered(stock)
	if len(want) == 0 {
		t.Fatal("a stock actor system registered nothing: the comparison would prove nothing")
	}
	got := registered(sys)
	for id := range want {
		if !got[id] {
			t.Errorf("process %q, which the system registered as it started, is gone", id)
		}
		if _, ok := sys.ProcessRegistry.GetLocal(id); !ok {
			t.Errorf("process %q does not resolve", id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("registry holds %v, want %v", got, want)
	}

	echo := actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(string); ok {
			c.Respond(s)
		}
	})
	var pids []*actor.PID
	for i := range 200 {
		pid := sys.Root.Spawn(echo)
		pids = append(pids, pid)
		msg := fmt.Sprint(i)
		if r, err := sys.Root.RequestFuture(pid, msg, 5*time.Second).Result(); err != nil || r != msg {
			t.Fatalf("actor %d: reply %v, %v; want %q", i, r, err, msg)
		}
	}
	for _, pid := range pids {
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, ok := sys.ProcessRegistry.GetLocal(pid.Id); ok {
			t.Errorf("%s still registered after it stopped", pid.Id)
		}
	}
}
