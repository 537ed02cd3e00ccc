package actors

import "github.com/troupe-dev/troupe/persistence"

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

func (s *fingerprintStore) CommitMetadata(m *persistence.Metadata) (string, error) {
	m.Fingerprint = s.fp
	return s.CheckpointStore.CommitMetadata(m)
}
