package session

import (
	"context"
	"fmt"
	"time"

	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// startServer serves the run's Event API when o.Port asks for it, and with
// o.WaitForConnection waits for a first subscriber.
func (s *session) startServer(ctx context.Context, o ServerOptions) error {
	if o.Port == 0 {
		return nil
	}
	ln, err := rpc.Listen(o.Bind, o.Port)
	if err != nil {
		return fault.Wrap(err, fault.EventRPCListen,
			fmt.Sprintf("serving the Event API on %s:%d", o.Bind, o.Port), "choose a free port with --rpc-port")
	}
	api := &rpc.Server{Bus: s.bus, State: s.state, Control: s.control}
	srv := rpc.NewHTTPServer(api.Handler())
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed when stopServer shuts it down
	s.server, s.linger = srv, o.Linger
	s.tell("hoist: serving the Event API of run %s on %s\n", s.bus.RunID(), ln.Addr())
	if !o.WaitForConnection {
		return nil
	}
	s.tell("hoist: waiting up to %s for a first subscriber\n", o.WaitTimeout)
	select {
	case <-api.Connected():
	case <-time.After(o.WaitTimeout):
		s.tell("hoist: no subscriber came within %s; starting anyway\n", o.WaitTimeout)
	case <-ctx.Done():
	}
	return nil
}

// stopServer keeps serving late clients for the linger time, unless the
// run was interrupted, then stops the server.
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
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := s.server.Shutdown(shutdown); err != nil {
		_ = s.server.Close() // a client still streaming is cut off; nothing to report
	}
}
