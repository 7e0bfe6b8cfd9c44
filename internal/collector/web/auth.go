package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"github.com/hoist-dev/hoist/internal/rpc"
)

// tokenCookie carries the token for the dashboard, which a browser cannot
// send as a header on every request. It is HttpOnly and SameSite=Strict,
// so that scripts and other sites cannot use it.
const tokenCookie = "hoist_token"

// Auth requires a collector's token, when it has one, on every request:
// as a bearer token, or as the dashboard's cookie. It is the connect
// interceptor of the collector's services; Require guards plain HTTP.
type Auth struct {
	Token string
}

var _ connect.Interceptor = Auth{}

// allows reports whether a request carries the token.
func (a Auth) allows(h http.Header) bool {
	if a.Token == "" {
		return true
	}
	if rpc.HasBearer(h, a.Token) {
		return true
	}
	r := http.Request{Header: h}
	if c, err := r.Cookie(tokenCookie); err == nil && equal(c.Value, a.Token) {
		return true
	}
	return false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

var errUnauthenticated = errors.New("this collector requires a bearer token: pass --token (or set HOIST_TOKEN) with the collector's token")

// WrapUnary refuses unary RPCs without the token.
func (a Auth) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if !a.allows(req.Header()) {
			return nil, connect.NewError(connect.CodeUnauthenticated, errUnauthenticated)
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient leaves clients alone.
func (a Auth) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler refuses streams without the token.
func (a Auth) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if !a.allows(conn.RequestHeader()) {
			return connect.NewError(connect.CodeUnauthenticated, errUnauthenticated)
		}
		return next(ctx, conn)
	}
}

// Require guards plain HTTP endpoints: 401 without the token.
func (a Auth) Require(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.allows(r.Header) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hoist collector"`)
			http.Error(w, errUnauthenticated.Error(), http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
