package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the dashboard: the page at "/" (and "/index.html"), its
// script and style under "/dashboard/". Mount it for "GET /{$}" and
// "GET /dashboard/" beside the REST API.
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	assets := http.StripPrefix("/dashboard/", http.FileServer(http.FS(files)))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { page(w, r, files) })
	mux.HandleFunc("GET /index.html", func(w http.ResponseWriter, r *http.Request) { page(w, r, files) })
	mux.Handle("GET /dashboard/", noCache(assets))
	return mux
}

// page serves index.html. The page, script and style change with the
// binary: they are never cached, so a new node version is seen at once.
func page(w http.ResponseWriter, r *http.Request, files fs.FS) {
	noCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})).ServeHTTP(w, r)
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		h.ServeHTTP(w, r)
	})
}
