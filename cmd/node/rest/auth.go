package rest

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// HealthPath is the one endpoint served without a token: load balancers
// and supervisors probe it.
const HealthPath = "/healthz"

// Tokens is the set of API tokens a handler accepts. It can be replaced
// while the handler serves (Set), to rotate tokens without a restart;
// Set and the handler's checks are safe for concurrent use.
type Tokens struct {
	sums atomic.Pointer[[][sha256.Size]byte]
}

// NewTokens returns a set of tokens, each of which should pass
// CheckToken.
func NewTokens(tokens ...string) *Tokens {
	ts := &Tokens{}
	ts.Set(tokens...)
	return ts
}

// Set replaces the tokens. An empty set refuses every request but
// HealthPath's.
func (ts *Tokens) Set(tokens ...string) {
	sums := make([][sha256.Size]byte, 0, len(tokens))
	for _, t := range tokens {
		sums = append(sums, sha256.Sum256([]byte(t)))
	}
	ts.sums.Store(&sums)
}

// match reports whether token is one of the set. Tokens are compared by
// their SHA-256 in constant time, over every token, so that neither a
// token's length nor which one matched shows in the time taken.
func (ts *Tokens) match(token string) bool {
	sum := sha256.Sum256([]byte(token))
	match := 0
	for _, t := range *ts.sums.Load() {
		match |= subtle.ConstantTimeCompare(sum[:], t[:])
	}
	return match == 1
}

// RequireTokens makes every endpoint but HealthPath require one of tokens
// as a bearer token (the header "Authorization: Bearer TOKEN"); a request
// without one, or with another, gets 401 and an ErrorBody, before its
// body is read or it is forwarded. Several tokens let a cluster rotate its
// token without a gap: give the nodes the new token besides the old, move
// the clients to it, then drop the old. A forwarded request keeps the
// client's Authorization header, which the coordinator checks again.
// Without this option no token is asked for.
func RequireTokens(tokens *Tokens) Option { return func(h *handler) { h.tokens = tokens } }

// CheckToken accepts the tokens RequireTokens and WithToken take: a bearer
// token as RFC 6750 writes it (letters, digits and -._~+/, then '='
// padding), at least 16 characters, so that it cannot be guessed, such
// as 32 random bytes in base64 ("openssl rand -base64 32").
func CheckToken(token string) error {
	const minLen = 16
	body := strings.TrimRight(token, "=")
	if body == "" {
		return fmt.Errorf("the token is empty")
	}
	for _, r := range body {
		if !tokenRune(r) {
			return fmt.Errorf("the token holds %q; use letters, digits and -._~+/ (such as base64), then '=' padding", r)
		}
	}
	if len(token) < minLen {
		return fmt.Errorf("the token has %d characters, want at least %d (such as the output of openssl rand -base64 32)", len(token), minLen)
	}
	return nil
}

func tokenRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+/", r)
}

// authorize answers 401 to a request that needs a token and lacks a
// right one, and reports whether it did.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request) bool {
	if h.tokens == nil || r.URL.Path == HealthPath {
		return true
	}
	return authorized(h.tokens, w, r)
}

// Protect wraps h so that it answers only requests with one of tokens as
// a bearer token, and the others 401 as the API does (RequireTokens): a
// node's /metrics. With nil tokens it is h.
func Protect(tokens *Tokens, h http.Handler) http.Handler {
	if tokens == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authorized(tokens, w, r) {
			h.ServeHTTP(w, r)
		}
	})
}

// authorized reports whether r carries one of tokens, and answers 401 if
// it does not.
func authorized(tokens *Tokens, w http.ResponseWriter, r *http.Request) bool {
	given, ok := bearer(r)
	if ok && tokens.match(given) {
		return true
	}
	msg := "this node requires an API token: send the header Authorization: Bearer TOKEN"
	if ok {
		msg = "the API token is not one this node accepts"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="troupe"`)
	writeJSON(w, http.StatusUnauthorized, ErrorBody{Error: msg, Field: "Authorization"})
	return false
}

// bearer returns the request's bearer token, if it has one.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
