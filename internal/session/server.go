package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

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
	ln, err := rpc.Listen(o.Bind, o.Port)
	if err != nil {
		return fault.Wrap(err, fault.EventRPCListen,
			fmt.Sprintf("serving the Event API on %s:%d", o.Bind, o.Port), "choose a free port with --rpc-port")
	}
	var gw net.Listener
	if o.HTTPPort != 0 {
		if gw, err = rpc.Listen(o.Bind, o.HTTPPort); err != nil {
			_ = ln.Close() // nothing was served on it
			return fault.Wrap(err, fault.EventRPCListen,
				fmt.Sprintf("serving Skaffold's HTTP API on %s:%d", o.Bind, o.HTTPPort), "choose a free port with --rpc-http-port")
		}
	}
	s.server = s.serve(ln, s.api.Handler(), "the Event API")
	s.linger, s.drain = o.Linger, o.DrainTimeout
	s.tell("hoist: serving the Event API of run %s on %s (gRPC: hoist.v1alpha2, proto.SkaffoldService, proto.v2.SkaffoldV2Service)\n",
		s.bus.RunID(), ln.Addr())
	if gw != nil {
		s.gateway = s.serve(gw, s.skaffold.Gateway(), "Skaffold's HTTP API")
		s.tell("hoist: serving Skaffold's HTTP API of run %s on http://%s (/v1/events, /v2/events, /v2/state, ...)\n", s.bus.RunID(), gw.Addr())
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

// serve serves h on ln until stopServer, and says on stderr if it stops
// before.
func (s *session) serve(ln net.Listener, h http.Handler, what string) *http.Server {
	srv := rpc.NewHTTPServer(h)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.tell("hoist: %s stopped serving: %v\n", what, err)
		}
	}()
	return srv
}

// stopServer keeps serving late clients for the linger time, unless the
// run was interrupted, then waits, at most the drain timeout, until every
// subscriber still streaming (hoist's, Skaffold's gRPC and HTTP alike) has
// been sent the whole run, says on stderr which ones it had to cut, and
// stops the servers.
func (s *session) stopServer(ctx context.Context) {
	if s.server == nil {
		return
	}
	if ctx.Err() == nil && s.linger > 0 {
		select {
		case <-time.After(s.linger):
		case <-ctx.Done():
		}
	}
	drain := s.drain
	if drain <= 0 {
		drain = rpc.DefaultDrainTimeout
	}
	for _, cut := range s.api.Drain(context.WithoutCancel(ctx), drain) {
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
