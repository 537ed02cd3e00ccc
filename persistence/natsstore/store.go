package natsstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/persistence"
)

// Store is a cluster's durable store on NATS JetStream: the job records
// (Jobs) and the checkpoints of every run (Checkpoints, OpenCheckpoint).
// It holds one client connection, which reconnects forever to any of the
// configured servers. The buckets are found, or created with
// Config.Replicas, at the first operation that needs them, so that a
// store opens while the servers are still forming their cluster (a node
// that embeds one of three servers starts before the others). Its
// methods, and those of the stores it returns, are safe for concurrent
// use.
type Store struct {
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
	// pub publishes object chunks; its acknowledgements time out after
	// ackTimeout, so that a chunk lost in an election is sent again.
	pub jetstream.JetStream

	// done ends retries and waits when the store closes.
	done   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex // guards b
	b       *buckets
	closeMu sync.Once

	// connErrs is the latest failed connection attempt, to tell a
	// refused connection from servers that do not answer (refusal.go).
	connErrs connErrors
}

// buckets are the store's buckets and their streams, once bound.
type buckets struct {
	jobs       jetstream.KeyValue
	jobsStream jetstream.Stream
	meta       jetstream.KeyValue
	metaStream jetstream.Stream
	obj        jetstream.ObjectStore
	objStream  jetstream.Stream
}

// Open connects to cfg.Servers and returns the store; it does not wait
// for a server to answer (see Store). The error wraps ErrConfig for an
// invalid cfg.
func Open(cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg}
	opts, err := cfg.Security.options()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.done, s.cancel = context.WithCancel(context.Background())
	log := cfg.Logger
	opts = append(opts,
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(100*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("store: disconnected from NATS", "servers", cfg.redacted(), "err", err)
			}
		}),
		nats.ConnectHandler(func(*nats.Conn) { s.connErrs.connected() }),
		nats.ReconnectHandler(func(c *nats.Conn) {
			s.connErrs.connected()
			log.Info("store: reconnected to NATS", "server", c.ConnectedUrlRedacted())
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { s.connectFailed(err) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { s.connectFailed(err) }))
	nc, err := nats.Connect(strings.Join(cfg.Servers, ","), opts...)
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("%w: connect to %s: %v", ErrConfig, cfg.redacted(), err)
	}
	s.nc = nc
	if s.js, err = jetstream.New(nc); err == nil {
		s.pub, err = jetstream.New(nc, jetstream.WithPublishAsyncTimeout(ackTimeout))
	}
	if err != nil {
		nc.Close()
		s.cancel()
		return nil, fmt.Errorf("%w: jetstream on %s: %v", ErrConfig, cfg.redacted(), err)
	}
	return s, nil
}

// Config returns the store's configuration, defaults set.
func (s *Store) Config() Config { return s.cfg }

// JobsBucket and CheckpointBucket return the names of the store's
// buckets.
func (s *Store) JobsBucket() string       { return s.cfg.Prefix + "-jobs" }
func (s *Store) CheckpointBucket() string { return s.cfg.Prefix + "-checkpoints" }

// Close closes the connection and ends the operations in progress; it is
// safe to call more than once.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		s.cancel()
		s.nc.Close()
	})
	return nil
}

// Ready waits until the store's buckets exist and answer, or ctx ends.
func (s *Store) Ready(ctx context.Context) error {
	_, err := s.buckets(ctx)
	return err
}

// buckets returns the bound buckets, binding (or creating) them first if
// need be, retried until the store's Timeout. Callers that find none
// bound bind at once, each for itself (binding is idempotent), so that
// none waits past its own context for another.
func (s *Store) buckets(ctx context.Context) (*buckets, error) {
	s.mu.Lock()
	b := s.b
	s.mu.Unlock()
	if b != nil {
		return b, nil
	}
	b = &buckets{}
	err := s.retry(ctx, s.where(s.CheckpointBucket()+", "+s.JobsBucket(), ""), "find or create the buckets",
		func(ctx context.Context) error { return bindError(s.bind(ctx, b)) })
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b == nil {
		s.b = b
	}
	return s.b, nil
}

// bind finds or creates each bucket.
func (s *Store) bind(ctx context.Context, b *buckets) error {
	var err error
	if b.jobs == nil {
		if b.jobs, err = s.keyValue(ctx, s.JobsBucket(), "troupe job records"); err != nil {
			return err
		}
	}
	if b.meta == nil {
		if b.meta, err = s.keyValue(ctx, s.CheckpointBucket(), "troupe checkpoint metadata, one key per complete checkpoint"); err != nil {
			return err
		}
	}
	if b.obj == nil {
		if b.obj, err = s.objectStore(ctx, s.CheckpointBucket()); err != nil {
			return err
		}
	}
	for _, st := range []struct {
		dst  *jetstream.Stream
		name string
	}{{&b.jobsStream, "KV_" + s.JobsBucket()}, {&b.metaStream, "KV_" + s.CheckpointBucket()}, {&b.objStream, "OBJ_" + s.CheckpointBucket()}} {
		if *st.dst == nil {
			if *st.dst, err = s.js.Stream(ctx, st.name); err != nil {
				return fmt.Errorf("stream %s: %w", st.name, err)
			}
		}
	}
	return nil
}

// keyValue finds or creates a key-value bucket and binds it once it
// reads from its stream's leader (readFromLeader).
func (s *Store) keyValue(ctx context.Context, bucket, desc string) (jetstream.KeyValue, error) {
	_, err := s.js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, Description: desc,
			History: 1, Storage: jetstream.FileStorage, Replicas: s.cfg.Replicas})
		if errors.Is(err, jetstream.ErrBucketExists) { // another node created it meanwhile
			err = nil
		}
	}
	if err == nil {
		err = s.readFromLeader(ctx, "KV_"+bucket)
	}
	if err != nil {
		return nil, wrapBucket(bucket, err)
	}
	kv, err := s.js.KeyValue(ctx, bucket)
	return kv, wrapBucket(bucket, err)
}

// objectStore finds or creates an object store and binds it once it
// reads from its stream's leader (readFromLeader).
func (s *Store) objectStore(ctx context.Context, bucket string) (jetstream.ObjectStore, error) {
	_, err := s.js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = s.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket,
			Description: "troupe checkpoint and savepoint states", Storage: jetstream.FileStorage, Replicas: s.cfg.Replicas})
		if errors.Is(err, jetstream.ErrBucketExists) {
			err = nil
		}
	}
	if err == nil {
		err = s.readFromLeader(ctx, "OBJ_"+bucket)
	}
	if err != nil {
		return nil, wrapBucket(bucket, err)
	}
	obs, err := s.js.ObjectStore(ctx, bucket)
	return obs, wrapBucket(bucket, err)
}

// readFromLeader turns off a stream's direct gets, which nats.go turns
// on for every bucket: with them, any replica answers a read, and a
// follower that has not yet applied the latest write answers with the
// value before it — a job record read just after its compare-and-set,
// or a checkpoint opened just after its commit, would be stale or
// missing. Without them a read is answered by the stream's leader,
// which has applied every write it acknowledged. A handle bound after
// this (nats.go decides at binding) reads through the leader, even if
// another client of older code turns direct gets on again.
func (s *Store) readFromLeader(ctx context.Context, stream string) error {
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	cfg := st.CachedInfo().Config
	if !cfg.AllowDirect {
		return nil
	}
	cfg.AllowDirect = false
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("stream %s: turn off direct gets: %w", stream, err)
	}
	return nil
}

func wrapBucket(bucket string, err error) error {
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	return nil
}

// Jobs returns the job store: the key-value bucket <Prefix>-jobs.
func (s *Store) Jobs() *JobStore { return &JobStore{s: s} }

// Checkpoints returns the checkpoint store of one run of a job.
func (s *Store) Checkpoints(job, run string) (*CheckpointStore, error) {
	if job == "" || run == "" || strings.Contains(run, "/") {
		return nil, fmt.Errorf("%w: checkpoints of job %q, run %q: want a job name and a run id without '/'", ErrConfig, job, run)
	}
	if s.done.Err() != nil {
		return nil, s.closedErr()
	}
	return newCheckpointStore(s, job, run), nil
}

// OpenCheckpoint opens the complete checkpoint or savepoint at path, of
// any run. The error wraps persistence.ErrNoCheckpoint when there is
// none at path (and then also os.ErrNotExist).
func (s *Store) OpenCheckpoint(path string) (*persistence.Checkpoint, error) {
	ref, ok := parsePath(path)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a checkpoint path of a nats:// store (nats://BUCKET/JOB/RUN/chk-ID): %w",
			persistence.ErrNoCheckpoint, path, errNotExist)
	}
	return s.open(ref)
}

// connectFailed records a failed connection attempt (or an error the
// servers sent), and logs a refusal the first time it is seen: a node
// whose credentials or certificate the servers refuse says so in its
// log, not only in the errors of its store operations.
func (s *Store) connectFailed(err error) {
	if s.connErrs.failed(err) {
		s.cfg.Logger.Error("store: the NATS servers refused the connection; check the store's TLS and credentials",
			"servers", s.cfg.redacted(), "err", err)
	} else if err != nil {
		s.cfg.Logger.Debug("store: NATS connection attempt failed", "servers", s.cfg.redacted(), "err", err)
	}
}

// refusedErr returns an error wrapping ErrRefused if the latest
// connection attempt was refused, else nil.
func (s *Store) refusedErr() error {
	if err := s.connErrs.refused(); err != nil && !s.nc.IsConnected() {
		return fmt.Errorf("%w (servers %s): %v", ErrRefused, s.cfg.redacted(), err)
	}
	return nil
}

func (s *Store) closedErr() error {
	return fmt.Errorf("%w: %s", ErrClosed, s.cfg.redacted())
}

// where names the store, bucket and key in errors.
func (s *Store) where(bucket, key string) string {
	if key == "" {
		return fmt.Sprintf("store %s, bucket %s", s.cfg.redacted(), bucket)
	}
	return fmt.Sprintf("store %s, bucket %s, key %q", s.cfg.redacted(), bucket, key)
}
