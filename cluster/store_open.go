package cluster

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/troupe-dev/troupe/persistence/natsstore"
)

// StoreConfig says which store OpenStore opens.
type StoreConfig struct {
	// URL is file://DIR (a directory every node reaches) or
	// nats://HOST:PORT[,HOST:PORT…][?prefix=NAME&replicas=N] (NATS
	// JetStream; see natsstore.ParseURL).
	URL string
	// Retain is how many complete checkpoints of a run are kept, every
	// savepoint besides. Default DefaultRetain.
	Retain int
	// ClientName names a NATS store's connection in the servers'
	// monitoring, such as "troupe node n1".
	ClientName string
	// Logger receives a NATS store's reconnections and retries; nil
	// discards them.
	Logger *slog.Logger
	// NATS is a nats:// store's TLS and credentials (unused by file://).
	NATS natsstore.Security
}

// OpenStore opens the store at cfg.URL. The error wraps ErrConfig for a
// URL it cannot parse (CheckStoreURL tells beforehand).
func OpenStore(cfg StoreConfig) (Store, error) {
	scheme, rest, err := splitStoreURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "file":
		dir, err := filepath.Abs(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: store %q: %v", ErrConfig, cfg.URL, err)
		}
		return OpenFileStore(dir, cfg.Retain)
	default:
		ncfg, err := natsstore.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		ncfg.Retain, ncfg.Name, ncfg.Logger, ncfg.Security = cfg.Retain, cfg.ClientName, cfg.Logger, cfg.NATS
		return OpenNATSStore(ncfg)
	}
}

// CheckStoreURL checks a store URL without opening anything; the error
// wraps ErrConfig and says what is wrong.
func CheckStoreURL(url string) error {
	scheme, _, err := splitStoreURL(url)
	if err != nil || scheme == "file" {
		return err
	}
	if _, err := natsstore.ParseURL(url); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

func splitStoreURL(url string) (scheme, rest string, err error) {
	scheme, rest, ok := strings.Cut(url, "://")
	switch {
	case !ok:
		return "", "", fmt.Errorf("%w: store %q: want file://DIR or nats://HOST:PORT[,HOST:PORT...]", ErrConfig, url)
	case scheme != "file" && scheme != "nats":
		return "", "", fmt.Errorf("%w: store %q: unsupported scheme %q; want file:// or nats://", ErrConfig, url, scheme)
	case scheme == "file" && rest == "":
		return "", "", fmt.Errorf("%w: store %q: no directory; want file://DIR", ErrConfig, url)
	}
	return scheme, rest, nil
}
