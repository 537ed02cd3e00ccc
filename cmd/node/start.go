package main

import (
	"context"
	"net"
	"path/filepath"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/cli"
	"github.com/troupe-dev/troupe/cmd/node/rest"
)

// version is published to the other members of a cluster.
const version = "0.1.0-dev"

// startClusterNode is node start's runtime: a cluster node (package cluster)
// from the command's checked configuration.
func startClusterNode(ctx context.Context, cfg cli.StartConfig) (cli.RunningNode, error) {
	ecfg := actors.DefaultConfig()
	ecfg.Logger = cfg.Logger
	ecfg.StateDir = filepath.Join(cfg.DataDir, "state")
	faults, err := faultsFromEnv(cfg.Name)
	if err != nil {
		return nil, err
	}
	ecfg.Faults = faults
	n, err := cluster.StartNode(ctx, cluster.NodeConfig{
		Name: cfg.Name, ActorAddr: cfg.ActorAddr, GossipAddr: cfg.GossipAddr, HTTPAddr: cfg.HTTPAddr,
		Join: cfg.Join, Slots: cfg.Slots, StoreDir: cfg.StoreDir, Version: version,
		Timing: timingFor(cfg.GossipAddr), Engine: ecfg, Registry: cfg.Registry, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return runningNode{n}, nil
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

// runningNode adapts a cluster.Node to what node start serves.
type runningNode struct{ *cluster.Node }

func (r runningNode) Service() rest.Service { return r.Node }
