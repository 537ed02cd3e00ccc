package cluster_test

import (
	"errors"
	"testing"

	"github.com/troupe-dev/troupe/cluster"
)

func fileHarness(t *testing.T) storeHarness {
	dir := t.TempDir()
	return storeHarness{
		open: func(t *testing.T) cluster.Store {
			s, err := cluster.OpenStore(cluster.StoreConfig{URL: "file://" + dir})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		leftovers: func(t *testing.T, job, run string, complete []int64) []string {
			return fileLeftovers(t, dir, job, run, complete)
		},
	}
}

func TestFileStore_conformance(t *testing.T) { runStoreSuite(t, fileHarness(t)) }

// A pipeline's name may hold '/' (its runs nest); nothing may leave the
// store's directory.
func TestFileStore_Checkpoints_names(t *testing.T) {
	s, err := cluster.OpenFileStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checkpoints("team/wordcount", "run-1"); err != nil {
		t.Errorf("a job name with '/': %v", err)
	}
	for _, jr := range [][2]string{{"..", "r"}, {"a/../../b", "r"}, {"j", ".."}, {"j", "a/b"}, {"", "r"}, {"j", ""}, {`a\b`, "r"}, {"/abs", "r"}} {
		if _, err := s.Checkpoints(jr[0], jr[1]); !errors.Is(err, cluster.ErrConfig) {
			t.Errorf("job %q, run %q: %v, want ErrConfig", jr[0], jr[1], err)
		}
	}
}
