package collector

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/hoist-dev/hoist/internal/rpc"
)

// run stores pushed events and applies retention until ctx is done.
func (c *Collector) run(ctx context.Context) {
	go c.retain(ctx)
	go c.foldStored(ctx)
	c.ingest.Run(ctx)
}

// foldStored folds the timelines of runs stored by a collector that did
// not keep them yet, once, so that the trends include them.
func (c *Collector) foldStored(ctx context.Context) {
	n, err := c.Store.FoldStored(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		c.log.Error("folding the timelines of runs stored before timelines were kept", "err", err, "folded", n)
	case n > 0:
		c.log.Info("folded the timelines of runs stored before timelines were kept", "runs", n)
	}
}

// Serve runs the collector and serves its Handler on ln, with TLS when
// tlsCfg is set, until ctx is done; then it stops taking requests, ends
// the streams (pushers have their acknowledgements for what is stored and
// resend the rest later) and stops storing.
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
		// Requests still running when the grace period ends are cut.
		c.log.Warn("closing the connections that outlived shutdown", "err", errors.Join(err, srv.Close()))
	}
	return nil
}
