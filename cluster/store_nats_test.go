package cluster_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cluster/natsembed"
)

// startNATS starts an embedded standalone server for a test.
func startNATS(t testing.TB) *natsembed.Server {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Config{Name: "test", StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func natsHarness(t *testing.T) storeHarness {
	srv := startNATS(t)
	return storeHarness{
		open: func(t *testing.T) cluster.Store {
			s, err := cluster.OpenStore(cluster.StoreConfig{URL: srv.ClientURL()})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		leftovers: func(t *testing.T, job, run string, complete []int64) []string {
			return natsLeftovers(t, srv.ClientURL(), "troupe-checkpoints", job, run, complete)
		},
	}
}

func TestNATSStore_conformance(t *testing.T) { runStoreSuite(t, natsHarness(t)) }

// natsLeftovers lists the objects of a run that its complete checkpoints
// do not hold, and every chunk of the bucket that no object owns.
func natsLeftovers(t *testing.T, url, bucket, job, run string, complete []int64) []string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("$O."+bucket+".>"))
	if err != nil {
		t.Fatal(err)
	}
	obs, err := js.ObjectStore(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	owned := map[string]bool{}
	var out []string
	prefix := job + "/" + run + "/" // the tests' names need no escaping
	for subj := range info.State.Subjects {
		enc, ok := strings.CutPrefix(subj, "$O."+bucket+".M.")
		if !ok {
			continue
		}
		raw, _ := base64.URLEncoding.DecodeString(enc)
		oi, err := obs.GetInfo(ctx, string(raw), jetstream.GetObjectInfoShowDeleted())
		if err != nil {
			t.Fatalf("object %q: %v", raw, err)
		}
		owned[oi.NUID] = true
		rel, ok := strings.CutPrefix(string(raw), prefix)
		if !ok {
			continue
		}
		chk, _, _ := strings.Cut(rel, "/")
		if oi.Deleted || !slices.ContainsFunc(complete, func(id int64) bool { return chk == fmt.Sprintf("chk-%d", id) }) {
			out = append(out, rel)
		}
	}
	for subj := range info.State.Subjects {
		if nuid, ok := strings.CutPrefix(subj, "$O."+bucket+".C."); ok && !owned[nuid] {
			out = append(out, "orphan chunks "+nuid)
		}
	}
	return out
}
