package collector

import (
	"context"
	"time"
)

// retain deletes the runs that Options.Retain and Options.MaxRuns leave
// out, every RetentionInterval, until ctx is done.
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
