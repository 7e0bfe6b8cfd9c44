package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.tell("hoist: the Event API stopped serving: %v\n", err)
		}
	}()
	s.api, s.server, s.linger, s.drain = api, srv, o.Linger, o.DrainTimeout
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
// run was interrupted, then waits, at most the drain timeout, until every
// subscriber still streaming has been sent the whole run, says on stderr
// which ones it had to cut, and stops the server.
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
	if err := s.server.Shutdown(shutdown); err != nil {
		_ = s.server.Close() // what still streams now is cut off; Drain has said so
	}
}
