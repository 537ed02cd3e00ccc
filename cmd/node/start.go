package main

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cluster/natsembed"
	"github.com/troupe-dev/troupe/cmd/node/cli"
	"github.com/troupe-dev/troupe/cmd/node/metrics"
	"github.com/troupe-dev/troupe/cmd/node/rest"
)

// version is published to the other members of a cluster.
const version = "0.1.0-dev"

// startClusterNode is node start's runtime: a cluster node (package cluster)
// from the command's checked configuration, with its store, and with
// --nats-embedded the NATS server the store may live on.
func startClusterNode(ctx context.Context, cfg cli.StartConfig) (cli.RunningNode, error) {
	ecfg := actors.DefaultConfig()
	ecfg.Logger = cfg.Logger
	ecfg.StateDir = filepath.Join(cfg.DataDir, "state")
	ecfg.Memory, ecfg.GCPercent = cfg.Memory, cfg.GCPercent
	faults, err := faultsFromEnv(cfg.Name)
	if err != nil {
		return nil, err
	}
	ecfg.Faults = faults
	r := &runningNode{storeURL: cfg.Store}
	if err := r.openStore(cfg); err != nil {
		return nil, err
	}
	r.Node, err = cluster.StartNode(ctx, cluster.NodeConfig{
		Name: cfg.Name, ActorAddr: cfg.ActorAddr, GossipAddr: cfg.GossipAddr, HTTPAddr: cfg.HTTPAddr,
		Join: cfg.Join, Slots: cfg.Slots, Store: r.store, Version: version,
		Timing: timingFor(cfg.GossipAddr), Engine: ecfg, Registry: cfg.Registry, Logger: cfg.Logger,
		GossipKeys: cfg.Security.GossipKeys, TLS: cfg.Security.TLS, Lease: leaseFor(r.storeURL), EndedJobs: cfg.EndedJobs,
	})
	if err != nil {
		_ = r.closeStore()
		return nil, err
	}
	return r, nil
}

// openStore starts the embedded NATS server if asked, then opens the
// store: --store, or the embedded server's.
func (r *runningNode) openStore(cfg cli.StartConfig) error {
	if cfg.NATS != nil {
		srv, err := natsembed.Start(natsembed.Config{Name: cfg.Name, StoreDir: filepath.Join(cfg.DataDir, "nats"),
			Listen: cfg.NATS.Listen, Cluster: cfg.NATS.Cluster, Routes: cfg.NATS.Routes, Logger: cfg.Logger,
			Security: cfg.NATSSecurity})
		if err != nil {
			return err
		}
		r.nats = srv
		if r.storeURL == "" {
			r.storeURL = cfg.NATS.StoreURL(srv.ClientURL())
		}
	}
	store, err := cluster.OpenStore(cluster.StoreConfig{URL: r.storeURL, ClientName: "troupe node " + cfg.Name, Logger: cfg.Logger,
		NATS: cfg.NATSSecurity})
	if err != nil {
		_ = r.closeStore()
		return err
	}
	r.store = store
	return nil
}

// timingFor picks membership's failure detection: fast on loopback (a
// cluster on one machine, tests), memberlist's LAN defaults otherwise.
func timingFor(gossip string) cluster.Timing {
	host, _, err := net.SplitHostPort(gossip)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		return cluster.LocalTiming()
	}
	return cluster.LANTiming()
}

// runningNode adapts a cluster.Node to what node start serves, and owns
// the node's store and embedded NATS server, which it closes after the
// node (whose jobs use them until they end).
type runningNode struct {
	*cluster.Node
	store    cluster.Store
	storeURL string
	nats     *natsembed.Server // nil without --nats-embedded
}

func (r *runningNode) Service() rest.Service { return r.Node }

// Metrics is what the node's /metrics exports: its subtasks, the jobs it
// coordinates, and its view of the cluster.
func (r *runningNode) Metrics() metrics.Config {
	return metrics.Config{Engine: r.Engine(), Jobs: r.JobHandles, Node: r.nodeStats}
}

func (r *runningNode) nodeStats() metrics.NodeStats {
	members, slots, used := r.SlotCounts()
	return metrics.NodeStats{Members: members, Slots: slots, SlotsUsed: used}
}

// StoreURL is the store's URL, for node start's log and port file.
func (r *runningNode) StoreURL() string { return r.storeURL }

// NATSURL is the embedded NATS server's client URL, or "".
func (r *runningNode) NATSURL() string {
	if r.nats == nil {
		return ""
	}
	return r.nats.ClientURL()
}

// Close closes the node, then its store and NATS server.
func (r *runningNode) Close() error {
	return errors.Join(r.Node.Close(), r.closeStore())
}

func (r *runningNode) closeStore() error {
	var errs []error
	if r.store != nil {
		errs = append(errs, r.store.Close())
	}
	if r.nats != nil {
		errs = append(errs, r.nats.Close())
	}
	return errors.Join(errs...)
}

// leaseFor picks how long job masters hold their jobs: the default 3 s
// lease with a file store; 15 s with NATS, whose buckets elect a new
// leader in 4–8 s after losing one — a shorter lease would make every
// owner fence itself (refuse its checkpoints) during the election. The
// price is a slower takeover when a coordinator dies (docs/failover.md).
func leaseFor(storeURL string) cluster.LeaseTiming {
	if strings.HasPrefix(storeURL, "nats://") {
		return cluster.LeaseTiming{Lease: 15 * time.Second}
	}
	return cluster.DefaultLeaseTiming()
}
