package natsstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/persistence"
)

// prune keeps the run's newest Retain complete checkpoints and every
// savepoint, as persistence.DirStore does (and Flink's
// state.checkpoints.num-retained): it lists the run's complete
// checkpoints from the metadata keys (one request, whatever the other
// runs hold), and removes a checkpoint by its metadata first (it is then
// no longer complete), then its states, which the metadata lists. Once
// per instance it also removes what earlier processes left of the run
// (see sweep).
func (c *CheckpointStore) prune(ctx context.Context, b *buckets) error {
	ids, err := c.completeIDs(ctx, b)
	if err != nil {
		return err
	}
	kept := 0
	var errs []error
	var retained []int64
	for _, id := range ids { // newest first
		k, err := c.knownOf(ctx, b, id)
		switch {
		case err != nil:
			errs = append(errs, err)
			continue
		case k.savepoint:
			retained = append(retained, id)
			continue
		case kept < c.s.cfg.Retain:
			kept++
			retained = append(retained, id)
			continue
		}
		if err := c.remove(ctx, b, id, k); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, c.sweep(ctx, b, retained))
	}
	return errors.Join(errs...)
}

// knownOf returns what retention needs of a complete checkpoint, read
// from its metadata once.
func (c *CheckpointStore) knownOf(ctx context.Context, b *buckets, id int64) (known, error) {
	c.mu.Lock()
	k, ok := c.known[id]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	data, err := c.s.metadata(ctx, b, c.ref(id))
	if err != nil {
		return known{}, err
	}
	m, err := persistence.UnmarshalMetadata(data)
	if err != nil {
		// Left alone: a damaged checkpoint is for a person to look at.
		return known{}, fmt.Errorf("natsstore: metadata of %s: %w", c.ref(id).path(), err)
	}
	c.remember(id, m)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.known[id], nil
}

// remove deletes a complete checkpoint: its metadata, then its states.
func (c *CheckpointStore) remove(ctx context.Context, b *buckets, id int64, k known) error {
	ref := c.ref(id)
	err := c.s.retry(ctx, c.s.where(c.s.CheckpointBucket(), ref.metaKey()), "remove the metadata of "+ref.path(),
		func(ctx context.Context) error { return c.s.purgeKey(ctx, b, ref.metaKey()) })
	if err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.known, id)
	c.mu.Unlock()
	for _, h := range k.handles {
		if !validHandle(h) {
			continue
		}
		if err := c.s.deleteObject(ctx, b, ref.objectName(h)); err != nil {
			return err
		}
	}
	return nil
}

// purgeKey removes a key of the checkpoint bucket with all its history
// and no marker.
func (s *Store) purgeKey(ctx context.Context, b *buckets, key string) error {
	return b.metaStream.Purge(ctx, jetstream.WithPurgeSubject("$KV."+s.CheckpointBucket()+"."+key))
}

// sweep removes, once per instance, the objects of the run that no
// complete checkpoint holds and that earlier processes left: those of
// checkpoints older than the newest complete one and below the floor
// (none of this instance's, which may be in progress: a savepoint may
// complete after newer checkpoints). It lists every object of the
// bucket, hence once. retained are the complete checkpoints kept.
func (c *CheckpointStore) sweep(ctx context.Context, b *buckets, retained []int64) error {
	c.mu.Lock()
	done := c.swept
	c.mu.Unlock()
	if done || len(retained) == 0 {
		return nil
	}
	newest := retained[0]
	for _, id := range retained {
		newest = max(newest, id)
	}
	floor := c.floor.Load()
	names, err := c.s.objectNames(ctx, b, runObjectPrefix(c.job, c.run))
	if err != nil {
		return err
	}
	keep := map[int64]bool{}
	for _, id := range retained {
		keep[id] = true
	}
	for _, name := range names {
		id, ok := objectCheckpoint(strings.TrimPrefix(name, runObjectPrefix(c.job, c.run)))
		if !ok || keep[id] || id >= newest || id >= floor {
			continue
		}
		if err := c.s.deleteObject(ctx, b, name); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.swept = true
	c.mu.Unlock()
	return nil
}

// objectCheckpoint returns the checkpoint ID of an object's name within
// its run ("chk-<id>/<handle>").
func objectCheckpoint(rest string) (int64, bool) {
	chk, _, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, false
	}
	id, ok := parseChk(chk)
	return id, ok
}
