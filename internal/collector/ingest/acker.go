package ingest

import (
	"context"
	"maps"
	"slices"
	"sync"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
)

// acker sends a push stream's acknowledgements: per run, the latest
// durable sequence, coalesced while the stream is busy.
type acker struct {
	mu      sync.Mutex
	pending int
	latest  map[string]uint32
	dirty   []string
	err     error
	closed  bool
	wake    chan struct{}
}

func (a *acker) submitted() {
	a.mu.Lock()
	a.pending++
	a.mu.Unlock()
}

func (a *acker) done(run string, o store.Outcome) {
	a.mu.Lock()
	a.pending--
	if o.Err != nil && a.err == nil {
		a.err = o.Err
	}
	if o.Acked > a.latest[run] {
		if !slices.Contains(a.dirty, run) {
			a.dirty = append(a.dirty, run)
		}
		a.latest[run] = o.Acked
	}
	a.mu.Unlock()
	a.notify()
}

// acked returns the runs and their acknowledged sequences, for the log.
func (a *acker) acked() map[string]uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.latest)
}

func (a *acker) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *acker) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.notify()
}

func (a *acker) notify() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// loop sends acknowledgements until the stream was closed by the pusher
// and everything it sent is acknowledged, or an event was refused.
func (a *acker) loop(ctx context.Context, send func(*pb.PushResponse) error) error {
	for {
		a.mu.Lock()
		resps := make([]*pb.PushResponse, 0, len(a.dirty))
		for _, run := range a.dirty {
			resps = append(resps, &pb.PushResponse{EventId: run, AckedSequence: a.latest[run]})
		}
		a.dirty = a.dirty[:0]
		err, finished := a.err, a.closed && a.pending == 0
		a.mu.Unlock()
		for _, r := range resps {
			if err := send(r); err != nil {
				return err
			}
		}
		if err != nil {
			return refusal(err)
		}
		if finished {
			return nil
		}
		select {
		case <-a.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
