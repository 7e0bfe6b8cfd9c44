package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// serves reports whether the options ask for the run's API: a port, the
// HTTP gateway's port (which needs the gRPC port too, on a free port if
// none was given, as Skaffold does), or --enable-rpc alone.
func (o ServerOptions) serves() bool {
	return o.Port != 0 || o.HTTPPort != 0 || o.EnableRPC
}

// startServer serves the run's Event API, with Skaffold's v1 and v2 APIs
// beside it, when o asks for it, and Skaffold's HTTP gateway on
// o.HTTPPort; with o.WaitForConnection it waits for a first subscriber.
// The servers were made by prepareServer.
func (s *session) startServer(ctx context.Context, o ServerOptions) error {
	if s.api == nil {
		return nil
	}
	// Nothing listens before the server's protection is settled.
	tlsCfg, err := s.protect(o)
	if err != nil {
		return err
	}
	ln, err := rpc.Listen(o.Bind, o.Port)
	if err != nil {
		return fault.Wrap(err, fault.EventRPCListen,
			fmt.Sprintf("serving the Event API on %s", net.JoinHostPort(o.Bind, strconv.Itoa(o.Port))), "choose a free port with --rpc-port")
	}
	var gw net.Listener
	if o.HTTPPort != 0 {
		if gw, err = rpc.Listen(o.Bind, o.HTTPPort); err != nil {
			_ = ln.Close() // nothing was served on it
			return fault.Wrap(err, fault.EventRPCListen,
				fmt.Sprintf("serving Skaffold's HTTP API on %s", net.JoinHostPort(o.Bind, strconv.Itoa(o.HTTPPort))), "choose a free port with --rpc-http-port")
		}
	}
	// The token guards each whole handler: every service on the ports.
	s.server = s.serve(ln, rpc.RequireToken(o.Token, s.api.Handler()), tlsCfg, "the Event API")
	s.linger, s.drain = o.Linger, o.DrainTimeout
	s.tell("hoist: serving the Event API of run %s on %s (gRPC: hoist.v1alpha2, proto.SkaffoldService, proto.v2.SkaffoldV2Service)\n",
		s.bus.RunID(), where(ln, tlsCfg, false))
	if gw != nil {
		s.gateway = s.serve(gw, rpc.RequireToken(o.Token, s.skaffold.Gateway()), tlsCfg, "Skaffold's HTTP API")
		s.tell("hoist: serving Skaffold's HTTP API of run %s on %s (/v1/events, /v2/events, /v2/state, ...)\n", s.bus.RunID(), where(gw, tlsCfg, true))
	}
	if !o.WaitForConnection {
		return nil
	}
	s.tell("hoist: waiting up to %s for a first subscriber\n", o.WaitTimeout)
	select {
	case <-s.api.Connected():
	case <-time.After(o.WaitTimeout):
		s.tell("hoist: no subscriber came within %s; starting anyway\n", o.WaitTimeout)
	case <-ctx.Done():
	}
	return nil
}

// serve serves h on ln, over TLS with tlsCfg, until stopServer, and says
// on stderr if it stops before.
func (s *session) serve(ln net.Listener, h http.Handler, tlsCfg *tls.Config, what string) *http.Server {
	srv := rpc.NewHTTPServer(h)
	srv.TLSConfig = tlsCfg
	go func() {
		var err error
		if tlsCfg != nil {
			// ServeTLS offers HTTP/2 through ALPN, which gRPC needs.
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.tell("hoist: %s stopped serving: %v\n", what, err)
		}
	}()
	return srv
}

// where is the address ln serves: a URL over TLS, or with url.
func where(ln net.Listener, tlsCfg *tls.Config, url bool) string {
	switch {
	case tlsCfg != nil:
		return "https://" + ln.Addr().String()
	case url:
		return "http://" + ln.Addr().String()
	}
	return ln.Addr().String()
}

// protect settles how the Event API of o is protected, before anything
// listens: it loads the TLS certificate, refuses a bind beyond this
// machine without a token unless o.Insecure accepts the risk, and then
// warns, as hoist collector does, of what crosses the network unprotected.
func (s *session) protect(o ServerOptions) (*tls.Config, error) {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, fault.New(fault.UsageInvalid, "--rpc-tls-cert and --rpc-tls-key go together", "give both, or neither")
	}
	if strings.TrimSpace(o.Token) != o.Token || strings.ContainsFunc(o.Token, unicode.IsControl) {
		return nil, fault.New(fault.UsageInvalid, "--rpc-token (or $HOIST_RPC_TOKEN) has spaces at its ends or control characters, which no client can send in a header",
			"choose a token of printable characters, such as one from openssl rand -hex 32")
	}
	var tlsCfg *tls.Config
	if o.TLSCert != "" {
		var err error
		if tlsCfg, err = rpc.LoadServerTLS(o.TLSCert, o.TLSKey); err != nil {
			return nil, fault.Wrap(err, fault.EventRPCTLSInvalid, "loading the Event API's TLS certificate and key",
				"check --rpc-tls-cert and --rpc-tls-key: PEM files of a certificate and its private key")
		}
	}
	if rpc.IsLoopback(o.Bind) {
		return tlsCfg, nil
	}
	addr := net.JoinHostPort(o.Bind, strconv.Itoa(o.Port))
	if o.Token == "" {
		if !o.Insecure {
			return nil, fault.New(fault.EventRPCUnprotected,
				fmt.Sprintf("refusing to serve the Event API on %s without a token: --rpc-bind %q reaches beyond this machine, "+
					"and anyone who reached the port could read the run's events and, in hoist dev, trigger builds and deploys", addr, o.Bind),
				"give --rpc-token (or set HOIST_RPC_TOKEN), and the same token to its clients (hoist events --token)",
				"or serve on this machine only: --rpc-bind 127.0.0.1, the default",
				"or, on a network you trust, serve it open with --rpc-insecure")
		}
		s.tell("hoist: warning: serving the Event API on %s beyond this machine without --rpc-token: anyone who reaches it can read the run's events and, in hoist dev, trigger builds and deploys\n", addr)
	}
	if tlsCfg == nil {
		s.tell("hoist: warning: serving the Event API on %s beyond this machine without TLS: tokens and events cross the network in clear\n", addr)
	}
	return tlsCfg, nil
}

// stopServer keeps serving late clients for the linger time, unless the
// run was interrupted, then waits, at most the drain timeout, until every
// subscriber still streaming (hoist's, Skaffold's gRPC and HTTP alike) has
// been sent the whole run, says on stderr which ones it had to cut, and
// stops the servers. A subscriber that fell behind and was ended to
// resume counts as a late client: the drain waits for it to come back
// until the linger time has passed since the last stream ended.
func (s *session) stopServer(ctx context.Context) {
	if s.server == nil {
		return
	}
	resume := time.Duration(0)
	if ctx.Err() == nil && s.linger > 0 {
		select {
		case <-time.After(s.linger):
			resume = s.linger
		case <-ctx.Done():
		}
	}
	drain := s.drain
	if drain <= 0 {
		drain = rpc.DefaultDrainTimeout
	}
	for _, cut := range s.api.Drain(context.WithoutCancel(ctx), drain, resume) {
		s.tell("hoist: cut off the Event API subscriber at %s after --rpc-drain-timeout %s: it had been sent events up to sequence %d of %d, and can resume after it\n",
			cut.Peer, drain, cut.Sent, cut.Last)
	}
	// A cut stream ends once the write under way completes; give it a
	// moment to send its status before the connections close.
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range []*http.Server{s.gateway, s.server} {
		if srv == nil {
			continue
		}
		if err := srv.Shutdown(shutdown); err != nil {
			_ = srv.Close() // what still streams now is cut off; Drain has said so
		}
	}
	s.skaffold.Close()
}
