package cluster

import (
	"log"
	"strings"

	"github.com/hashicorp/memberlist"
)

// bindAttempts is how many times listen tries a port chosen by the OS: it
// takes a free TCP port, and the same UDP port may be taken by someone
// else (memberlist retries as often for the same reason).
const bindAttempts = 10

// listen opens memberlist's UDP and TCP listeners. We build the transport
// ourselves, rather than let memberlist.Create do it, to know the bound
// address before memberlist asks for our metadata, which carries it.
func listen(bind bindAddr, logger *log.Logger) (*memberlist.NetTransport, error) {
	cfg := &memberlist.NetTransportConfig{BindAddrs: []string{bind.host}, BindPort: bind.port, Logger: logger}
	attempts := 1
	if bind.port == 0 {
		attempts = bindAttempts
	}
	var err error
	for range attempts {
		var t *memberlist.NetTransport
		if t, err = memberlist.NewNetTransport(cfg); err == nil {
			return t, nil
		}
		// memberlist formats the error with %v: only its text says why.
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, err
}
