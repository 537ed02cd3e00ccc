package cluster_test

import (
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
