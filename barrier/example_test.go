package barrier_test

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/barrier"
)

// A runtime drives the coordinator from one actor: it passes the time in
// and carries out the actions that come back.
func ExampleCoordinator() {
	cfg := barrier.DefaultConfig()
	cfg.Interval = 10 * time.Second
	cfg.Tasks = []barrier.TaskID{"source#0", "sink#0"}
	cfg.Sources = []barrier.TaskID{"source#0"}
	c, err := barrier.NewCoordinator(cfg)
	if err != nil {
		panic(err)
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	show := func(acts []barrier.Action, err error) {
		if err != nil {
			fmt.Println("refused:", err)
		}
		for _, a := range acts {
			fmt.Printf("%T %+v\n", a, a)
		}
	}
	c.Tick(start) // starts the periodic clock
	show(c.Tick(start.Add(10*time.Second)), nil)
	show(c.Ack(start.Add(11*time.Second), 1, "source#0", "offset=42"))
	show(c.Ack(start.Add(12*time.Second), 1, "sink#0", "pending=.part-1"))
	// The runtime writes the metadata atomically, then reports it.
	show(c.MetadataWritten(start.Add(13*time.Second), 1, nil))
	fmt.Println("latest:", c.LatestCompleted())
	// Output:
	// barrier.Trigger {ID:1 Savepoint:false Sources:[source#0]}
	// barrier.WriteMetadata {ID:1 Savepoint:false Handles:map[sink#0:pending=.part-1 source#0:offset=42]}
	// barrier.NotifyComplete {ID:1}
	// latest: 1
}

// A subtask with three inputs blocks each channel as its barrier arrives
// and snapshots when the last one comes.
func ExampleAligner() {
	a := barrier.NewAligner(3, barrier.ExactlyOnce)
	fmt.Printf("%+v\n", a.OnBarrier(1, 7))
	fmt.Printf("%+v\n", a.OnBarrier(0, 7))
	fmt.Printf("%+v\n", a.OnBarrier(2, 7))
	// Output:
	// {Cancelled:0 Snapshot:0 Unblock:[] Block:[1] Unaligned:false Record:[] Persisted:0 Ignored:<nil>}
	// {Cancelled:0 Snapshot:0 Unblock:[] Block:[0] Unaligned:false Record:[] Persisted:0 Ignored:<nil>}
	// {Cancelled:0 Snapshot:7 Unblock:[0 1] Block:[] Unaligned:false Record:[] Persisted:0 Ignored:<nil>}
}

// An unaligned checkpoint snapshots at its first barrier, which overtook
// the data queued ahead of it; the channels whose barrier has not come
// record what arrives on them until it does.
func ExampleAligner_OnPriorityBarrier() {
	a := barrier.NewAligner(3, barrier.ExactlyOnce)
	r := a.OnPriorityBarrier(1, 7)
	fmt.Println("snapshot", r.Snapshot, "unaligned", r.Unaligned, "record", r.Record)
	fmt.Println("recording channel 0 for", a.Recording(0))
	a.OnPriorityBarrier(0, 7)
	r = a.OnPriorityBarrier(2, 7)
	fmt.Println("channel state of", r.Persisted, "complete")
	// Output:
	// snapshot 7 unaligned true record [0 2]
	// recording channel 0 for 7
	// channel state of 7 complete
}
