package cluster_test

import (
	"fmt"
	"testing"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cluster/natsembed"
	"github.com/troupe-dev/troupe/persistence"
)

// The cost of checkpoint storage, file store against a NATS store on one
// embedded server (the same machine, loopback), measured in one run. The
// file store fsyncs every file and its directory; JetStream by default
// syncs every two minutes ("nats"), or every write with SyncAlways
// ("nats-sync", the like of the file store):
//
//		go test ./cluster/ -run '^$' -bench BenchmarkStore -benchtime 200x
//
//	  - write: one subtask's state of 64 KiB;
//	  - commit: the metadata of a checkpoint of one state, retention
//	    included (each commit removes the checkpoint that falls out of the
//	    newest three);
//	  - checkpoint: four states of 16 KiB and the commit, one after the
//	    other.
func BenchmarkStore(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) cluster.Store
	}{
		{"file", func(b *testing.B) cluster.Store {
			s, err := cluster.OpenStore(cluster.StoreConfig{URL: "file://" + b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"nats", func(b *testing.B) cluster.Store { return benchNATS(b, false) }},
		{"nats-sync", func(b *testing.B) cluster.Store { return benchNATS(b, true) }},
	}
	for _, st := range stores {
		b.Run(st.name+"/write-64KiB", func(b *testing.B) {
			cs := benchCheckpoints(b, st.open(b))
			state := make([]byte, 64<<10)
			b.SetBytes(int64(len(state)))
			for i := 0; b.Loop(); i++ {
				if _, err := cs.WriteState(int64(i+1), "v1/0", state); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(st.name+"/commit", func(b *testing.B) {
			cs := benchCheckpoints(b, st.open(b))
			id := int64(0)
			for b.Loop() {
				b.StopTimer()
				id++
				h, err := cs.WriteState(id, "v1/0", []byte("state"))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := cs.CommitMetadata(meta("bench", "run", id, false, h)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(st.name+"/checkpoint-4x16KiB", func(b *testing.B) {
			cs := benchCheckpoints(b, st.open(b))
			state := make([]byte, 16<<10)
			for i := 0; b.Loop(); i++ {
				id := int64(i + 1)
				m := meta("bench", "run", id, false, "")
				m.Tasks = nil
				for task := range 4 {
					h, err := cs.WriteState(id, fmt.Sprintf("v1/%d", task), state)
					if err != nil {
						b.Fatal(err)
					}
					m.Tasks = append(m.Tasks, persistence.TaskState{Vertex: "v1", Subtask: task, Parallelism: 4, Handle: h})
				}
				if _, err := cs.CommitMetadata(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchCheckpoints(b *testing.B, s cluster.Store) actors.CheckpointStore {
	b.Cleanup(func() { s.Close() })
	cs, err := s.Checkpoints("bench", "run")
	if err != nil {
		b.Fatal(err)
	}
	return cs
}

func benchNATS(b *testing.B, syncAlways bool) cluster.Store {
	srv, err := natsembed.Start(natsembed.Config{Name: "bench", StoreDir: b.TempDir(), Listen: "127.0.0.1:0", SyncAlways: syncAlways})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	s, err := cluster.OpenStore(cluster.StoreConfig{URL: srv.ClientURL()})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
