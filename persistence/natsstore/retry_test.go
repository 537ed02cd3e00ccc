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

// A JetStream cluster elects its meta leader before the leader knows
// every server of the cluster: a bucket with three replicas created in
// that moment is refused with "no suitable peers for placement" (400,
// error code 10005). While binding that is the cluster forming, to be
// retried as a missing meta leader is; a node's first store operation
// after its cluster started failed with it (and a test opening a store
// right after starting three servers, now and then).
func TestTransient_noPeersForPlacementWhileBindingIsRetried(t *testing.T) {
	noPeers := fmt.Errorf("bucket troupe-jobs: %w",
		&jetstream.APIError{Code: 400, ErrorCode: 10005, Description: "no suitable peers for placement"})
	if !transient(bindError(noPeers)) {
		t.Fatalf("transient(bindError(%v)) = false: a bucket created while the cluster forms fails the binding at once", noPeers)
	}
	other := fmt.Errorf("bucket troupe-jobs: %w", &jetstream.APIError{Code: 400, ErrorCode: 10003, Description: "bad request"})
	if transient(bindError(other)) {
		t.Fatalf("transient(bindError(%v)) = true: only the cluster forming is retried", other)
	}
}
