package jetstream

import (
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// A bounded source reads every message of its subjects once, split over
// subtasks, and ends.
func TestFromJetStream_bounded(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 300)
	publishEvents(t, s, "in.b", "b", 200)
	publishEvents(t, s, "in.c", "c", 100)

	p := operators.NewPipeline("bounded").SetParallelism(2)
	src, err := FromJetStream(p, SourceConfig[event]{URL: s.URL(), Stream: "IN",
		Subjects: []string{"in.a", "in.b", "in.c"}, Bounded: true})
	if err != nil {
		t.Fatal(err)
	}
	got := operators.Collect(src)
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	counts := map[string][]int{}
	for _, e := range got.Values() {
		counts[e.Key] = append(counts[e.Key], e.N)
	}
	for key, n := range map[string]int{"a": 300, "b": 200, "c": 100} {
		want := make([]int, n)
		for i := range want {
			want[i] = i + 1
		}
		if !slices.Equal(counts[key], want) {
			t.Errorf("key %s: %d records, want 1..%d in order", key, len(counts[key]), n)
		}
	}
}
