// Package collector is hoist collector: the EventSinkService that runs
// push their events to, a store of every run's events, the Event API and
// CollectorService over them, and a web dashboard, on one port. It
// composes package ingest (pushes into the store), package query (reads
// out of it) and package web (the dashboard and the token check), and
// applies retention.
package collector

import (
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/collector/ingest"
	"github.com/hoist-dev/hoist/internal/collector/query"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/collector/web"
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
	ingest *ingest.Sink
	query  *query.Service
}

var (
	_ ingest.Store = (*store.Store)(nil)
	_ query.Store  = (*store.Store)(nil)
)

// New returns a collector of st; Serve runs it.
func New(st *store.Store, o Options) *Collector {
	if o.MaxEventBytes == 0 {
		o.MaxEventBytes = DefaultMaxEventBytes
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Collector{Store: st, opts: o, log: o.Log, ingest: ingest.New(st, o.MaxEventBytes, o.Log), query: query.New(st, o.Log)}
}

// Handler returns the collector's HTTP handler: gRPC, gRPC-Web and
// Connect for EventSinkService, EventService and CollectorService, with
// reflection and health; JSON over plain HTTP; and the dashboard at /.
func (c *Collector) Handler() http.Handler {
	auth := web.Auth{Token: c.opts.Token}
	guarded := connect.WithInterceptors(auth)
	mux := http.NewServeMux()
	// A PushBatch message holds up to rpc.MaxPushBatchBytes of events, or
	// one event; the sink bounds each event.
	sinkPath, sink := hoistv1alpha2connect.NewEventSinkServiceHandler(c.ingest, guarded, connect.WithReadMaxBytes(c.opts.MaxEventBytes))
	_, batches := hoistv1alpha2connect.NewEventSinkServiceHandler(c.ingest, guarded, connect.WithReadMaxBytes(c.opts.MaxEventBytes+rpc.MaxPushBatchBytes))
	mux.Handle(sinkPath, sink)
	mux.Handle(hoistv1alpha2connect.EventSinkServicePushBatchProcedure, batches)
	// The streams of events compress only large messages and are flushed
	// when caught up, as a running hoist's are.
	streams := connect.WithHandlerOptions(guarded, connect.WithReadMaxBytes(64<<10), connect.WithCompressMinBytes(rpc.CompressMinBytes))
	path, events := hoistv1alpha2connect.NewEventServiceHandler(c.query, streams)
	mux.Handle(path, rpc.GateFlushes(events))
	path, runs := hoistv1alpha2connect.NewCollectorServiceHandler(c.query, streams)
	mux.Handle(path, rpc.GateFlushes(runs))
	names := []string{hoistv1alpha2connect.EventSinkServiceName, hoistv1alpha2connect.EventServiceName, hoistv1alpha2connect.CollectorServiceName}
	rpc.HandleIntrospection(mux, names, guarded)
	c.query.Route(mux, auth.Require)
	web.Dashboard{Auth: auth, Secure: c.opts.Secure}.Route(mux)
	return mux
}
