package rpc

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
)

// HasBearer reports whether h carries token as "Authorization: Bearer
// <token>". The token is compared in constant time.
func HasBearer(h http.Header, token string) bool {
	v, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(v), []byte(token)) == 1
}

// errNoToken is what a request without the run's token is told.
var errNoToken = errors.New("this hoist run's Event API requires a bearer token: send the --rpc-token it was started with " +
	"(hoist events --token, or set HOIST_RPC_TOKEN) as \"Authorization: Bearer <token>\"")

// The standard health check answers without the token, so that load
// balancers and probes can ask whether the API serves; it tells nothing of
// the run.
var healthPaths = map[string]bool{
	"/" + grpchealth.HealthV1ServiceName + "/Check": true,
	"/" + grpchealth.HealthV1ServiceName + "/Watch": true,
}

// RequireToken guards every request to h with token, as a middleware
// around the whole handler, so that each service served through it is
// covered, those added later included: a request must carry it as
// "Authorization: Bearer <token>", or it is refused before h sees it.
// gRPC and gRPC-Web callers are refused with UNAUTHENTICATED, Connect and
// plain HTTP ones with 401 Unauthorized. Only the gRPC health check (Check
// and Watch) answers without it. With an empty token, RequireToken
// returns h as it is: the API is open, as on loopback.
func RequireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	rpcErrors := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if HasBearer(r.Header, token) || healthPaths[r.URL.Path] {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="hoist"`)
		if r.Method == http.MethodGet || !rpcErrors.IsSupported(r) {
			// curl and scripts on the JSON-lines endpoints; a Connect
			// client reads the 401 as UNAUTHENTICATED too.
			http.Error(w, errNoToken.Error(), http.StatusUnauthorized)
			return
		}
		// The client has gone if this fails: no one is left to tell.
		_ = rpcErrors.Write(w, r, connect.NewError(connect.CodeUnauthenticated, errNoToken))
	})
}

// IsLoopback reports whether host, as --rpc-bind or --listen give it, is
// on this machine only: localhost, 127.0.0.0/8 or ::1. An empty host,
// which listens on every interface, is not.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoadServerTLS reads a server's certificate and its key (PEM files) into
// the TLS configuration it serves with: TLS 1.2 at least, and HTTP/2
// offered through ALPN by http.Server.ServeTLS, as gRPC needs.
func LoadServerTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading %s and %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
