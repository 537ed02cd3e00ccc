package rest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/cmd/node/rest/resttest"
	"github.com/troupe-dev/troupe/testkit"
)

const (
	token      = "c2VjcmV0LXRva2VuLW9mLXRoZS1jbHVzdGVy"
	otherToken = "YW5vdGhlci10b2tlbi1vZi10aGUtY2x1c3Rlcg=="
)

// sendAuth sends a request with the given Authorization header (none
// when empty).
func sendAuth(t testing.TB, srv *httptest.Server, method, path, body, auth string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// With a token set, every endpoint but /healthz answers 401 to a request
// without it or with another, before anything reaches the service; the
// right token (either of two, during a rotation) gets through.
func TestHandler_RequireTokens(t *testing.T) {
	svc := resttest.New("wordcount")
	svc.AddJob(cluster.JobStatus{ID: "j1", State: cluster.StateRunning})
	srv := serve(t, svc, rest.RequireTokens(rest.NewTokens(otherToken, token)))
	calls := append(jobCalls[:len(jobCalls):len(jobCalls)],
		struct{ method, path, body string }{"GET", "/v1/members", ""},
		struct{ method, path, body string }{"GET", "/no/such/endpoint", ""},
		struct{ method, path, body string }{"POST", "/v1/jobs", `{"pipeline":"wordcount","parallelism":-1}`})
	for _, c := range calls {
		for _, auth := range []struct{ header, msg string }{
			{"", "requires an API token"},
			{"Bearer " + token + "x", "not one this node accepts"},
			{"Bearer " + token[:len(token)-1], "not one this node accepts"},
			{"Basic " + token, "requires an API token"},
			{"Bearer", "requires an API token"},
		} {
			r := sendAuth(t, srv, c.method, c.path, c.body, auth.header)
			wantError(t, r, http.StatusUnauthorized, "Authorization", auth.msg)
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="troupe"` {
				t.Errorf("%s %s: WWW-Authenticate %q", c.method, c.path, got)
			}
		}
	}
	if got := svc.Calls(); len(got) != 0 {
		t.Fatalf("requests without the token reached the service: %q", got)
	}
	if r := sendAuth(t, srv, "GET", "/healthz", "", ""); r.status != http.StatusOK {
		t.Fatalf("healthz without a token: %d %s", r.status, r.body)
	}
	for _, tok := range []string{token, otherToken} {
		if r := sendAuth(t, srv, "GET", "/v1/jobs/j1", "", "Bearer "+tok); r.status != http.StatusOK {
			t.Fatalf("job with token %s: %d %s", tok, r.status, r.body)
		}
	}
	if r := sendAuth(t, srv, "GET", "/v1/jobs", "", "bearer  "+token); r.status != http.StatusOK {
		t.Fatalf("scheme in lower case: %d %s", r.status, r.body)
	}
}

// The client sends its token; without one it gets an error that wraps
// ErrUnauthorized.
func TestClient_WithToken(t *testing.T) {
	svc := resttest.New("wordcount")
	srv := serve(t, svc, rest.RequireTokens(rest.NewTokens(token)))
	c, err := rest.NewClient(srv.URL, srv.Client(), rest.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Jobs(context.Background()); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	anon, err := rest.NewClient(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Jobs(context.Background()); !errors.Is(err, rest.ErrUnauthorized) {
		t.Fatalf("without a token: %v, want ErrUnauthorized", err)
	}
	if err := anon.Health(context.Background()); err != nil {
		t.Fatalf("health without a token: %v", err)
	}
}

// tlsNode is a node serving the API over HTTPS with a certificate of ca.
func tlsNode(t *testing.T, ca *testkit.CA, svc *resttest.Service, opts ...rest.Option) *httptest.Server {
	t.Helper()
	opts = append(opts, rest.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	srv := httptest.NewUnstartedServer(rest.NewHandler(svc, opts...))
	cfg := ca.MutualTLS(t, "node", "127.0.0.1")
	srv.TLS = &tls.Config{Certificates: cfg.Certificates}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// A follower forwards job requests to a coordinator that serves HTTPS,
// verifying its certificate with the cluster's CA and passing the client's
// token on; a coordinator whose certificate another CA signed is not
// trusted (503 naming it).
func TestHandler_forward_TLSAndToken(t *testing.T) {
	ca := testkit.NewCA(t, "cluster CA")
	coordSvc := resttest.New("wordcount")
	coord := tlsNode(t, ca, coordSvc, rest.RequireTokens(rest.NewTokens(token)))
	coordAddr := strings.TrimPrefix(coord.URL, "https://")
	followerSvc := resttest.New("wordcount")
	followerSvc.SetCoordinator(coordAddr, false, true)
	forward := rest.WithForwardTLS(&tls.Config{RootCAs: ca.Pool()})
	follower := tlsNode(t, ca, followerSvc, rest.RequireTokens(rest.NewTokens(token)), forward)
	follower.Client().Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: ca.Pool()}

	r := sendAuth(t, follower, "POST", "/v1/jobs", `{"pipeline":"wordcount"}`, "Bearer "+token)
	if r.status != http.StatusCreated {
		t.Fatalf("submit through the follower: %d %s", r.status, r.body)
	}
	if got := coordSvc.Calls(); len(got) != 1 || got[0] != "Submit" {
		t.Fatalf("coordinator calls %q", got)
	}

	impostor := tlsNode(t, testkit.NewCA(t, "another CA"), resttest.New("wordcount"), rest.RequireTokens(rest.NewTokens(token)))
	impostorAddr := strings.TrimPrefix(impostor.URL, "https://")
	followerSvc.SetCoordinator(impostorAddr, false, true)
	r = sendAuth(t, follower, "GET", "/v1/jobs", "", "Bearer "+token)
	wantError(t, r, http.StatusServiceUnavailable, "", "the coordinator at "+impostorAddr+" did not answer")
	if !strings.Contains(string(r.body), "certificate") {
		t.Errorf("the error does not say the certificate is at fault: %s", r.body)
	}
}

func TestCheckToken(t *testing.T) {
	for _, tc := range []struct {
		token, want string
	}{
		{token, ""},
		{otherToken, ""},
		{"abcdefghijklmnop", ""},
		{"", "empty"},
		{"====", "empty"},
		{"short-token", "at least 16"},
		{"with space in the token", `' '`},
		{"with,comma,in,the,token", `','`},
		{"=padding-first-is-wrong", `'='`},
	} {
		err := rest.CheckToken(tc.token)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckToken(%q) = %v, want %q", tc.token, err, tc.want)
		}
	}
}

// Tokens replaced while the handler serves take effect at once.
func TestTokens_Set(t *testing.T) {
	ts := rest.NewTokens(token)
	srv := serve(t, resttest.New(), rest.RequireTokens(ts))
	if r := sendAuth(t, srv, "GET", "/v1/jobs", "", "Bearer "+token); r.status != http.StatusOK {
		t.Fatalf("before: %d", r.status)
	}
	ts.Set(otherToken)
	wantError(t, sendAuth(t, srv, "GET", "/v1/jobs", "", "Bearer "+token), http.StatusUnauthorized, "Authorization", "not one")
	if r := sendAuth(t, srv, "GET", "/v1/jobs", "", "Bearer "+otherToken); r.status != http.StatusOK {
		t.Fatalf("the new token: %d", r.status)
	}
	ts.Set()
	wantError(t, sendAuth(t, srv, "GET", "/v1/jobs", "", "Bearer "+otherToken), http.StatusUnauthorized, "Authorization", "not one")
}

// Protect guards another handler (a node's /metrics) as the API is
// guarded; without tokens it changes nothing.
func TestProtect(t *testing.T) {
	const token = "dGVzdC10b2tlbi1vZi10aGUtY2x1c3Rlcg=="
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tt := range []struct {
		name   string
		tokens *rest.Tokens
		header string
		want   int
	}{
		{"no tokens", nil, "", http.StatusTeapot},
		{"none given", rest.NewTokens(token), "", http.StatusUnauthorized},
		{"a wrong one", rest.NewTokens(token), "Bearer c2Vjb25kLXRva2VuLW9mLXRoZS1jbHVzdGVy", http.StatusUnauthorized},
		{"the right one", rest.NewTokens(token), "Bearer " + token, http.StatusTeapot},
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		w := httptest.NewRecorder()
		rest.Protect(tt.tokens, ok).ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
	}
}
