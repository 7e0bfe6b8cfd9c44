package collector

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

// The dashboard is plain HTML, CSS and JavaScript served from the binary:
// no build step, no framework, nothing fetched from elsewhere.
//
//go:embed web
var web embed.FS

var loginPage = template.Must(template.ParseFS(web, "web/login.html"))

func (c *Collector) routeDashboard(mux *http.ServeMux) {
	static, _ := fs.Sub(web, "web")
	mux.Handle("GET /static/", http.StripPrefix("/static/", noCache(http.FileServerFS(static))))
	index := func(w http.ResponseWriter, r *http.Request) {
		if !authorized(c.opts.Token, r.Header) {
			http.Redirect(w, r, "/login?next="+r.URL.EscapedPath(), http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
		w.Header().Set("X-Frame-Options", "DENY")
		http.ServeFileFS(w, r, web, "web/index.html")
	}
	mux.HandleFunc("GET /{$}", index)
	mux.HandleFunc("GET /runs/{id}", index)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		c.login(w, r, false)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		tok := r.PostFormValue("token")
		if c.opts.Token == "" || !equal(tok, c.opts.Token) {
			c.login(w, r, true)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: tok, Path: "/", HttpOnly: true,
			Secure: c.opts.Secure, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	})
}

func (c *Collector) login(w http.ResponseWriter, r *http.Request, failed bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if failed {
		w.WriteHeader(http.StatusUnauthorized)
	}
	loginPage.Execute(w, struct {
		Next   string
		Failed bool
	}{safeNext(r.FormValue("next")), failed})
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
