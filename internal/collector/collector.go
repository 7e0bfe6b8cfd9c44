// Package collector is hoist collector: the EventSinkService that runs
// push their events to, a store of every run's events, the Event API and
// CollectorService over them, and a web dashboard, on one port.
package collector

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/collector/store"
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

// New returns a collector of st. Call Run to start storing.
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

// Run stores pushed events and applies retention until ctx is done.
func (c *Collector) Run(ctx context.Context) {
	go c.retain(ctx)
	c.writer.run(ctx)
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
	mux.Handle(grpcreflect.NewHandlerV1(grpcreflect.NewStaticReflector(names...), auth))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(grpcreflect.NewStaticReflector(names...), auth))
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(names...)))
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
