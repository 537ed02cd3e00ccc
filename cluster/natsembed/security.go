package natsembed

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"

	"github.com/nats-io/nats-server/v2/server"
)

// routeUser is the user name routes authenticate with when the servers
// are given a token: routes authorize by user and password only.
const routeUser = "troupe-route"

// secure adds cfg.Security to the server's options: TLS for clients
// and routes, and the credentials clients and routes must present. A
// server in a cluster with credentials but no TLS authenticates its
// routes with them too, so that a stranger cannot join the JetStream
// cluster (and read every bucket) by opening a route.
func secure(cfg Config, opts *server.Options) error {
	sec := cfg.Security
	if err := sec.CheckServer(dialedHosts(cfg.Listen, cfg.Cluster)...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if sec.TLS() {
		tc, err := sec.TLSConfig()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		opts.TLSConfig, opts.TLS, opts.TLSVerify = tc, true, true
		if cfg.Cluster != "" {
			opts.Cluster.TLSConfig = tc.Clone()
		}
	}
	switch {
	case sec.Token != "":
		opts.Authorization = sec.Token
		opts.Cluster.Username, opts.Cluster.Password = routeUser, sec.Token
	case sec.User != "":
		opts.Username, opts.Password = sec.User, sec.Password
		opts.Cluster.Username, opts.Cluster.Password = sec.User, sec.Password
	}
	if opts.Cluster.Username != "" {
		for _, r := range opts.Routes {
			r.User = url.UserPassword(opts.Cluster.Username, opts.Cluster.Password)
		}
	}
	return nil
}

// dialedHosts are the hosts that clients and routes dial to reach a
// server listening on listen and routed on cluster ("" for none): the
// client address's host (loopback when it listens on every interface:
// ClientURL) and the route address's, unless unspecified. A TLS
// certificate must name them.
func dialedHosts(listen, cluster string) []string {
	hosts := []string{dialHost(listen)}
	if cluster != "" {
		if h, _, err := net.SplitHostPort(cluster); err == nil && !unspecified(h) && h != hosts[0] {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// dialHost is the host to dial a listener on addr at: its own, or
// loopback when it listens on every interface.
func dialHost(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil || unspecified(h) {
		return "127.0.0.1"
	}
	return h
}

func unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}
