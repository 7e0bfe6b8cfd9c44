package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hoist-dev/hoist/internal/collector/store"
)

// maxBatch bounds the events committed in one transaction.
const maxBatch = 4096

// pending is an event waiting for the writer, and who to tell once it is
// durable (or refused).
type pending struct {
	rec  store.Record
	done func(store.Outcome)
}

// writer commits events from every push stream in shared transactions:
// while one commit syncs to disk the next batch gathers, so that the cost
// of durability is paid per batch, not per event.
type writer struct {
	st  Store
	log *slog.Logger
	in  chan pending
}

// run commits what arrives until ctx is done.
func (w *writer) run(ctx context.Context) {
	batch := make([]pending, 0, maxBatch)
	recs := make([]store.Record, 0, maxBatch)
	for {
		batch, recs = batch[:0], recs[:0]
		select {
		case p := <-w.in:
			batch = append(batch, p)
		case <-ctx.Done():
			return
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case p := <-w.in:
				batch = append(batch, p)
			default:
				break gather
			}
		}
		for _, p := range batch {
			recs = append(recs, p.rec)
		}
		outs, err := w.append(ctx, recs)
		if err != nil {
			return
		}
		for i, p := range batch {
			p.done(outs[i])
		}
	}
}

// append retries a failed commit (a database restarting, a full disk
// being cleared) with backoff until it succeeds or the collector stops.
// Meanwhile pushers wait for their acknowledgements and nothing is lost.
// A batch the database refuses for good is stored in halves, so that only
// the events it refuses are refused.
func (w *writer) append(ctx context.Context, recs []store.Record) ([]store.Outcome, error) {
	backoff := 50 * time.Millisecond
	for {
		outs, err := w.st.Append(ctx, recs)
		if err == nil {
			return outs, nil
		}
		if store.Permanent(err) {
			return w.isolate(ctx, recs, err)
		}
		w.log.Error("storing events failed; retrying", "events", len(recs), "err", err)
		select {
		case <-time.After(backoff/2 + rand.N(backoff)):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (w *writer) isolate(ctx context.Context, recs []store.Record, err error) ([]store.Outcome, error) {
	if len(recs) == 1 {
		env := recs[0].Env
		w.log.Error("the store refused an event", "run", env.EventId, "sequence", env.Event.Sequence, "err", err)
		return []store.Outcome{{Err: &refusedError{runID: env.EventId, seq: env.Event.Sequence, err: err}}}, nil
	}
	mid := len(recs) / 2
	first, err := w.append(ctx, recs[:mid])
	if err != nil {
		return nil, err
	}
	rest, err := w.append(ctx, recs[mid:])
	if err != nil {
		return nil, err
	}
	return append(first, rest...), nil
}

// refusedError is an event the database will not hold.
type refusedError struct {
	runID string
	seq   uint32
	err   error
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("run %s, event %d: the store refused it: %v", e.runID, e.seq, e.err)
}
