package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/cmd/node/dashboard"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(dashboard.Handler())
	defer srv.Close()
	tests := []struct {
		path, contentType, body string
		status                  int
	}{
		{"/", "text/html", "<title>troupe</title>", http.StatusOK},
		{"/dashboard/dashboard.js", "javascript", "refreshEvery", http.StatusOK},
		{"/dashboard/dashboard.css", "text/css", "--accent", http.StatusOK},
		{"/dashboard/nope.js", "", "", http.StatusNotFound},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(resp.Header.Get("Content-Type"), tt.contentType) ||
			!strings.Contains(string(body), tt.body) {
			t.Errorf("GET %s: %d %q %.80q; want %d %q with %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body,
				tt.status, tt.contentType, tt.body)
		}
		if tt.status == http.StatusOK && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: no Content-Security-Policy", tt.path)
		}
	}
}

// The page loads nothing from elsewhere: it works offline.
func TestPage_noExternalAssets(t *testing.T) {
	srv := httptest.NewServer(dashboard.Handler())
	defer srv.Close()
	for _, path := range []string{"/", "/dashboard/dashboard.js", "/dashboard/dashboard.css"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, u := range regexp.MustCompile(`(?:src|href)=["']?(https?:)?//[^"' >]+|url\(\s*["']?https?://`).FindAllString(string(body), -1) {
			t.Errorf("%s loads %s", path, u)
		}
	}
}
