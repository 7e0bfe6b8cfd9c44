// Package collector is hoist collector: the EventSinkService that runs
// push their events to, a store of every run's events, the Event API and
// CollectorService over them, and a web dashboard, on one port.
package collector

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// DefaultMaxEventBytes bounds one pushed message.
const DefaultMaxEventBytes = 1 << 20

// Options configure a collector.
type Options struct {
	// Token, when set, is required as a bearer token (or the dashboard's
	// cookie) on every request but health checks.
	Token string
	// Retain deletes runs whose latest event is older; 0 keeps them.
	Retain time.Duration
	// MaxRuns keeps only the newest runs; 0 keeps all.
	MaxRuns int
	// RetentionInterval is how often retention runs; 0 means every minute,
	// or every tenth of Retain when that is shorter.
	RetentionInterval time.Duration
	// MaxEventBytes bounds one pushed message; 0 means DefaultMaxEventBytes.
	MaxEventBytes int
	// Secure marks the dashboard's cookie Secure, when serving TLS.
	Secure bool
	Log    *slog.Logger
}

// Collector serves a store.
type Collector struct {
	Store  *store.Store
	opts   Options
	log    *slog.Logger
	writer *writer
}

// New returns a collector of st; Serve runs it.
func New(st *store.Store, o Options) *Collector {
	if o.MaxEventBytes == 0 {
		o.MaxEventBytes = DefaultMaxEventBytes
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Collector{Store: st, opts: o, log: o.Log,
		writer: &writer{st: st, log: o.Log, in: make(chan pending, maxBatch)}}
}

var (
	_ hoistv1alpha2connect.EventSinkServiceHandler = (*Collector)(nil)
	_ hoistv1alpha2connect.EventServiceHandler     = (*Collector)(nil)
	_ hoistv1alpha2connect.CollectorServiceHandler = (*Collector)(nil)
)

// run stores pushed events and applies retention until ctx is done.
func (c *Collector) run(ctx context.Context) {
	go c.retain(ctx)
	c.writer.run(ctx)
}

// Serve runs the collector and serves its Handler on ln, with TLS when
// tlsCfg is set, until ctx is done, then stops taking requests, ends the streams (pushers have their
// acknowledgements for what is stored and resend the rest later) and stops
// storing.
func (c *Collector) Serve(ctx context.Context, ln net.Listener, tlsCfg *tls.Config) error {
	srv := rpc.NewHTTPServer(c.Handler())
	srv.TLSConfig = tlsCfg
	// Requests run under a context that shutdown cancels: push streams and
	// live readers last as long as a run and must not hold shutdown up.
	reqCtx, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	srv.BaseContext = func(net.Listener) context.Context { return reqCtx }
	writeCtx, stopWriting := context.WithCancel(context.WithoutCancel(ctx))
	written := make(chan struct{})
	go func() { c.run(writeCtx); close(written) }()
	defer func() { stopWriting(); <-written }()
	served := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			// ServeTLS offers HTTP/2 through ALPN, which gRPC needs.
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	endRequests()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	return nil
}

func (c *Collector) retain(ctx context.Context) {
	if c.opts.Retain == 0 && c.opts.MaxRuns == 0 {
		return
	}
	every := c.opts.RetentionInterval
	if every == 0 {
		every = time.Minute
		if c.opts.Retain > 0 {
			every = min(every, max(c.opts.Retain/10, time.Second))
		}
	}
	for {
		var before time.Time
		if c.opts.Retain > 0 {
			before = time.Now().Add(-c.opts.Retain)
		}
		n, err := c.Store.Prune(ctx, before, c.opts.MaxRuns)
		switch {
		case err != nil && ctx.Err() == nil:
			c.log.Error("applying retention", "err", err)
		case n > 0:
			c.log.Info("retention deleted runs", "runs", n)
		}
		select {
		case <-time.After(every):
		case <-ctx.Done():
			return
		}
	}
}

// Handler returns the collector's HTTP handler: gRPC, gRPC-Web and
// Connect for EventSinkService, EventService and CollectorService, with
// reflection and health; JSON over plain HTTP; and the dashboard at /.
func (c *Collector) Handler() http.Handler {
	auth := connect.WithInterceptors(&authInterceptor{token: c.opts.Token})
	mux := http.NewServeMux()
	mux.Handle(hoistv1alpha2connect.NewEventSinkServiceHandler(c, auth, connect.WithReadMaxBytes(c.opts.MaxEventBytes)))
	mux.Handle(hoistv1alpha2connect.NewEventServiceHandler(c, auth, connect.WithReadMaxBytes(64<<10)))
	mux.Handle(hoistv1alpha2connect.NewCollectorServiceHandler(c, auth, connect.WithReadMaxBytes(64<<10)))
	names := []string{hoistv1alpha2connect.EventSinkServiceName, hoistv1alpha2connect.EventServiceName, hoistv1alpha2connect.CollectorServiceName}
	rpc.HandleIntrospection(mux, names, auth)
	c.routeHTTP(mux)
	return mux
}

// errCode maps a store error to the status a client sees.
func errCode(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, store.ErrBadPageToken):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}
