package rpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"
)

// ClientOptions say how to reach an Event API server.
type ClientOptions struct {
	// Address is host:port (plaintext HTTP/2), or an http:// or https://
	// URL.
	Address string
	// Token, when set, is sent as a bearer token.
	Token string
	// CAFile, when set, is the CA bundle that verifies the server's TLS
	// certificate.
	CAFile string
}

// BaseURL returns the URL of an address given as host:port or as a URL.
func BaseURL(address string) string {
	if strings.HasPrefix(address, "http://") || strings.HasPrefix(address, "https://") {
		return strings.TrimSuffix(address, "/")
	}
	return "http://" + address
}

// NewHTTPClient returns an HTTP client that speaks HTTP/2 to o.Address,
// with TLS for https:// addresses and without it otherwise (h2c), as gRPC
// needs for streams in both directions.
func NewHTTPClient(o ClientOptions) (*http.Client, error) {
	return newHTTPClient(o, true)
}

// NewStreamClient returns an HTTP client for one-way streams such as the
// JSON lines of the Event API: HTTP/1.1 without TLS, which writes a
// response straight to its connection and so moves many small lines with
// less work than HTTP/2 does, and what TLS negotiates with it.
func NewStreamClient(o ClientOptions) (*http.Client, error) {
	return newHTTPClient(o, false)
}

func newHTTPClient(o ClientOptions, h2c bool) (*http.Client, error) {
	var p http.Protocols
	tr := &http.Transport{
		ForceAttemptHTTP2:   true,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	switch {
	case strings.HasPrefix(o.Address, "https://"):
		p.SetHTTP2(true)
		if !h2c {
			p.SetHTTP1(true)
		}
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("reading CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("no certificates in %s", o.CAFile)
			}
			cfg.RootCAs = pool
		}
		tr.TLSClientConfig = cfg
	case h2c:
		p.SetUnencryptedHTTP2(true)
	default:
		p.SetHTTP1(true)
	}
	tr.Protocols = &p
	return &http.Client{Transport: tr}, nil
}

// ClientOpts returns the connect options of a client: gRPC, and the token.
func ClientOpts(o ClientOptions) []connect.ClientOption {
	opts := []connect.ClientOption{connect.WithGRPC()}
	if o.Token != "" {
		opts = append(opts, connect.WithInterceptors(bearer(o.Token)))
	}
	return opts
}

// bearer adds "Authorization: Bearer token" to every call.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
