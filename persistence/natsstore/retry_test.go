package natsstore

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// In a JetStream cluster a bucket's stream can be missing for a moment
// right after it was created (here or by another node): the meta layer
// has assigned it, but the server asked has no leader for it yet. bind
// must retry that, not fail the job's submission; elsewhere a missing
// stream is an answer, not a hiccup.
func TestTransient_aStreamNotFoundWhileBindingIsRetried(t *testing.T) {
	missing := fmt.Errorf("bucket troupe-jobs: %w", jetstream.ErrStreamNotFound)
	if !transient(bindError(missing)) {
		t.Fatalf("transient(bindError(%v)) = false: a bucket's stream not yet started fails the binding at once", missing)
	}
	if transient(missing) {
		t.Fatalf("transient(%v) = true outside binding", missing)
	}
	if err := bindError(nil); err != nil {
		t.Fatalf("bindError(nil) = %v", err)
	}
}
