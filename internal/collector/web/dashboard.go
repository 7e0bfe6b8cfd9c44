// Package web is hoist collector's dashboard, plain HTML, CSS and
// JavaScript served from the binary (no build step, no framework, nothing
// fetched from elsewhere; its one library, for charts, is vendored under
// vendor/ by hack/webdeps.sh) that reads the collector's plain HTTP API, and
// Auth, the token check of every request to the collector, which takes the
// dashboard's sign-in cookie as well as a bearer token.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed *.html *.css *.js vendor
var files embed.FS

var loginPage = template.Must(template.ParseFS(files, "login.html"))

// Dashboard serves the dashboard at /, /runs/{id} and /trends, its files under
// /static/, and the sign-in page at /login.
type Dashboard struct {
	Auth Auth
	// Secure marks the sign-in cookie Secure, when serving TLS.
	Secure bool
}

// Route serves the dashboard on mux.
func (d Dashboard) Route(mux *http.ServeMux) {
	mux.Handle("GET /static/", http.StripPrefix("/static/", noCache(http.FileServerFS(files))))
	index := func(w http.ResponseWriter, r *http.Request) {
		if !d.Auth.allows(r.Header) {
			http.Redirect(w, r, "/login?next="+r.URL.EscapedPath(), http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
		w.Header().Set("X-Frame-Options", "DENY")
		http.ServeFileFS(w, r, files, "index.html")
	}
	mux.HandleFunc("GET /{$}", index)
	mux.HandleFunc("GET /runs/{id}", index)
	mux.HandleFunc("GET /trends", index)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		login(w, r, false)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		tok := r.PostFormValue("token")
		if d.Auth.Token == "" || !equal(tok, d.Auth.Token) {
			login(w, r, true)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: tok, Path: "/", HttpOnly: true,
			Secure: d.Secure, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	})
}

func login(w http.ResponseWriter, r *http.Request, failed bool) {
	// Rendered before the status is sent, so that a page that fails to
	// render is answered as the server error it is.
	var page bytes.Buffer
	if err := loginPage.Execute(&page, struct {
		Next   string
		Failed bool
	}{safeNext(r.FormValue("next")), failed}); err != nil {
		http.Error(w, "rendering the sign-in page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if failed {
		w.WriteHeader(http.StatusUnauthorized)
	}
	// Should the browser have gone, there is no one left to tell.
	_, _ = page.WriteTo(w)
}

// safeNext keeps a post-login redirect on this collector.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
