package collector

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// tokenCookie carries the token for the dashboard, which a browser cannot
// send as a header on every request. It is HttpOnly and SameSite=Strict,
// so that scripts and other sites cannot use it.
const tokenCookie = "hoist_token"

// authorized reports whether a request carries the token, as a bearer
// token or the dashboard's cookie.
func authorized(token string, h http.Header) bool {
	if token == "" {
		return true
	}
	if v, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok && equal(v, token) {
		return true
	}
	r := http.Request{Header: h}
	if c, err := r.Cookie(tokenCookie); err == nil && equal(c.Value, token) {
		return true
	}
	return false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

var errUnauthenticated = errors.New("this collector requires a bearer token: pass --token (or set HOIST_TOKEN) with the collector's token")

// authInterceptor refuses RPCs without the token.
type authInterceptor struct{ token string }

func (a *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if !authorized(a.token, req.Header()) {
			return nil, connect.NewError(connect.CodeUnauthenticated, errUnauthenticated)
		}
		return next(ctx, req)
	}
}

func (a *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if !authorized(a.token, conn.RequestHeader()) {
			return connect.NewError(connect.CodeUnauthenticated, errUnauthenticated)
		}
		return next(ctx, conn)
	}
}

// requireToken guards plain HTTP endpoints: 401 without the token.
func (c *Collector) requireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(c.opts.Token, r.Header) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hoist collector"`)
			http.Error(w, errUnauthenticated.Error(), http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
