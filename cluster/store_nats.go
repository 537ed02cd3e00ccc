package cluster

import (
	"context"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/persistence/natsstore"
)

// NATSStore is a Store on NATS JetStream (nats://HOST:PORT[,…]): the job
// records in a key-value bucket, the checkpoints' states in an object
// store and their metadata in a key-value bucket; see package natsstore.
// It is safe for concurrent use, by every node at once.
type NATSStore struct {
	s *natsstore.Store
}

var (
	_ Store                           = (*NATSStore)(nil)
	_ JobStore                        = (*natsstore.JobStore)(nil)
	_ actors.StreamingCheckpointStore = (*natsstore.CheckpointStore)(nil)
	_ interface{ Begin(id int64) }    = (*natsstore.CheckpointStore)(nil)
)

// OpenNATSStore connects to the servers of cfg (see natsstore.Open: the
// buckets are bound at the first operation, so the servers need not be
// up yet).
func OpenNATSStore(cfg natsstore.Config) (*NATSStore, error) {
	s, err := natsstore.Open(cfg)
	if err != nil {
		return nil, err
	}
	return &NATSStore{s: s}, nil
}

// Jobs returns the job store.
func (n *NATSStore) Jobs() JobStore { return n.s.Jobs() }

// Checkpoints returns the checkpoint store of a run.
func (n *NATSStore) Checkpoints(job, run string) (actors.CheckpointStore, error) {
	c, err := n.s.Checkpoints(job, run)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// OpenCheckpoint opens a checkpoint or savepoint by its nats:// path.
func (n *NATSStore) OpenCheckpoint(path string) (*persistence.Checkpoint, error) {
	return n.s.OpenCheckpoint(path)
}

// Ready waits until the store's buckets exist and answer.
func (n *NATSStore) Ready(ctx context.Context) error { return n.s.Ready(ctx) }

// Close closes the connection; it is idempotent.
func (n *NATSStore) Close() error { return n.s.Close() }
