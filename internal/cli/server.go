package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// startServer serves the session's Event API when --rpc-port asks for it,
// and with --wait-for-connection waits for a first subscriber.
func (ss *session) startServer(ctx context.Context, o serverOptions) error {
	if o.port == 0 {
		return nil
	}
	ln, err := rpc.Listen(o.bind, o.port)
	if err != nil {
		return fault.Wrap(err, fault.EventRPCListen,
			fmt.Sprintf("serving the Event API on %s:%d", o.bind, o.port), "choose a free port with --rpc-port")
	}
	api := &rpc.Server{Bus: ss.bus, State: ss.state, Control: ss.control}
	srv := rpc.NewHTTPServer(api.Handler())
	go srv.Serve(ln)
	ss.server, ss.linger = srv, o.linger
	fmt.Fprintf(ss.s.Err, "hoist: serving the Event API of run %s on %s\n", ss.bus.RunID(), ln.Addr())
	if !o.waitConnect {
		return nil
	}
	fmt.Fprintf(ss.s.Err, "hoist: waiting up to %s for a first subscriber\n", o.waitTimeout)
	select {
	case <-api.Connected():
	case <-time.After(o.waitTimeout):
		fmt.Fprintf(ss.s.Err, "hoist: no subscriber came within %s; starting anyway\n", o.waitTimeout)
	case <-ctx.Done():
	}
	return nil
}

// stopServer keeps serving late clients for the linger time, unless the
// run was interrupted, then stops the server.
func (ss *session) stopServer(ctx context.Context) {
	if ss.server == nil {
		return
	}
	if ctx.Err() == nil && ss.linger > 0 {
		select {
		case <-time.After(ss.linger):
		case <-ctx.Done():
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := ss.server.Shutdown(shutdown); err != nil {
		ss.server.Close()
	}
}
