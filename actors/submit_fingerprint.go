package actors

import (
	"bytes"
	"context"

	"github.com/troupe-dev/troupe/persistence"
)

// WithFingerprint stamps the metadata of every checkpoint and savepoint
// of the job with fp, an identity of the pipeline and its parameters
// (persistence.Metadata.Fingerprint), so that whoever resumes from the
// checkpoint storage can tell the job's checkpoints from another's. It
// wraps the job's checkpoint store; it has no effect without one.
func WithFingerprint(fp string) SubmitOption {
	return func(m *master) {
		open := m.cfg.Checkpoint.Store
		if open == nil {
			return
		}
		m.cfg.Checkpoint.Store = func(job, run string) (CheckpointStore, error) {
			s, err := open(job, run)
			if err != nil {
				return nil, err
			}
			return &fingerprintStore{CheckpointStore: s, fp: fp}, nil
		}
	}
}

// fingerprintStore sets the fingerprint of the metadata it commits.
type fingerprintStore struct {
	CheckpointStore
	fp string
}

// Begin passes the start of a checkpoint on to a store that wants it.
func (s *fingerprintStore) Begin(id int64) {
	if b, ok := s.CheckpointStore.(checkpointBeginner); ok {
		b.Begin(id)
	}
}

// LastID passes the question on to a store that numbers its checkpoints
// (checkpointNumberer); 0 for one that does not.
func (s *fingerprintStore) LastID() (int64, error) {
	if n, ok := s.CheckpointStore.(checkpointNumberer); ok {
		return n.LastID()
	}
	return 0, nil
}

func (s *fingerprintStore) CommitMetadata(m *persistence.Metadata) (string, error) {
	m.Fingerprint = s.fp
	return s.CheckpointStore.CommitMetadata(m)
}

// WriteStateFrom streams the state when the wrapped store can, so that
// the fingerprint does not cost the bbolt backend its streamed snapshots.
func (s *fingerprintStore) WriteStateFrom(ctx context.Context, id int64, task string, src persistence.StateSource) (string, error) {
	if st, ok := s.CheckpointStore.(StreamingCheckpointStore); ok {
		return st.WriteStateFrom(ctx, id, task, src)
	}
	var buf bytes.Buffer
	if err := src.Encode(ctx, &buf); err != nil {
		return "", err
	}
	return s.CheckpointStore.WriteState(id, task, buf.Bytes())
}
