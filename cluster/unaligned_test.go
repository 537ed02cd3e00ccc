package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

// A job request's unaligned checkpoint settings reach the job's
// checkpoint configuration; inconsistent ones are refused naming the
// field.
func TestCheckUnaligned(t *testing.T) {
	ck := &actors.CheckpointConfig{Interval: time.Second}
	if err := checkUnaligned(JobRequest{Unaligned: true, AlignmentTimeout: "40ms"}, ck); err != nil ||
		!ck.Unaligned || ck.AlignmentTimeout != 40*time.Millisecond {
		t.Fatalf("err %v, config %+v", err, ck)
	}
	ck = &actors.CheckpointConfig{Interval: time.Second}
	if err := checkUnaligned(JobRequest{Unaligned: true}, ck); err != nil || !ck.Unaligned || ck.AlignmentTimeout != 0 {
		t.Fatalf("err %v, config %+v", err, ck)
	}
	for name, tc := range map[string]struct {
		req   JobRequest
		ck    *actors.CheckpointConfig
		field string
	}{
		"no checkpoints":         {JobRequest{Unaligned: true}, nil, "unaligned"},
		"timeout, not unaligned": {JobRequest{AlignmentTimeout: "1s"}, &actors.CheckpointConfig{Interval: time.Second}, "alignmentTimeout"},
		"bad timeout":            {JobRequest{Unaligned: true, AlignmentTimeout: "soon"}, &actors.CheckpointConfig{Interval: time.Second}, "alignmentTimeout"},
	} {
		var fe *FieldError
		if err := checkUnaligned(tc.req, tc.ck); !errors.As(err, &fe) || fe.Name != tc.field {
			t.Errorf("%s: %v, want a FieldError on %q", name, err, tc.field)
		}
	}
}
