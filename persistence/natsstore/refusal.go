package natsstore

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"sync"

	"github.com/nats-io/nats.go"
)

// Refusals. A connection the servers refuse — wrong or missing
// credentials, a certificate one end does not trust — is refused again
// on every attempt: nats.go keeps reconnecting (or, after the same
// authorization error twice, closes the connection), and an operation
// retried until Config.Timeout would fail only with "no servers
// available". So the store keeps the latest connection error, and an
// operation that fails while the latest error is a refusal fails at once
// with ErrRefused and the servers' answer.

// connErrors remembers the latest failed connection attempt, until a
// connection succeeds.
type connErrors struct {
	mu     sync.Mutex
	last   error
	logged string // the refusal logged last, so that each is logged once
}

// failed records a failed attempt; it reports whether err is a refusal
// not logged yet.
func (c *connErrors) failed(err error) (newRefusal bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = err
	if !refusal(err) || err.Error() == c.logged {
		return false
	}
	c.logged = err.Error()
	return true
}

// connected forgets the errors: a connection succeeded.
func (c *connErrors) connected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.logged = nil, ""
}

// refused returns the latest connection error if it is a refusal.
func (c *connErrors) refused() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if refusal(c.last) {
		return c.last
	}
	return nil
}

// refusal reports whether a connection error is one that trying again
// does not mend: credentials, or TLS verification, or TLS on one end
// only.
func refusal(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired),
		errors.Is(err, nats.ErrAuthRevoked), errors.Is(err, nats.ErrAccountAuthExpired),
		errors.Is(err, nats.ErrSecureConnRequired), errors.Is(err, nats.ErrSecureConnWanted),
		errors.Is(err, nats.ErrNkeysNotSupported):
		return true
	}
	var (
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		header  tls.RecordHeaderError
		op      *net.OpError
	)
	// A TLS alert from the server (a client certificate missing or not
	// trusted) is a *net.OpError "remote error" over crypto/tls's
	// unexported alert type.
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) ||
		errors.As(err, &invalid) || errors.As(err, &header) ||
		errors.As(err, &op) && op.Op == "remote error"
}
