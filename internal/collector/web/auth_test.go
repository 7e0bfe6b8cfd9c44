package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAuthRequire(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, tc := range []struct {
		name, token string
		header      http.Header
		want        int
	}{
		{"no token set", "", http.Header{}, http.StatusOK},
		{"nothing sent", "s3cret", http.Header{}, http.StatusUnauthorized},
		{"bearer", "s3cret", http.Header{"Authorization": {"Bearer s3cret"}}, http.StatusOK},
		{"wrong bearer", "s3cret", http.Header{"Authorization": {"Bearer s3cre"}}, http.StatusUnauthorized},
		{"not a bearer", "s3cret", http.Header{"Authorization": {"Basic s3cret"}}, http.StatusUnauthorized},
		{"cookie", "s3cret", http.Header{"Cookie": {tokenCookie + "=s3cret"}}, http.StatusOK},
		{"wrong cookie", "s3cret", http.Header{"Cookie": {tokenCookie + "=nope"}}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1alpha2/runs", nil)
			r.Header = tc.header
			w := httptest.NewRecorder()
			Auth{Token: tc.token}.Require(ok).ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("got %d, want %d", w.Code, tc.want)
			}
			if w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/runs/abc":           "/runs/abc",
		"":                    "/",
		"https://example.com": "/",
		"//example.com/x":     "/",
		"/\\example.com":      "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
