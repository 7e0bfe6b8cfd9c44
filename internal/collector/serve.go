package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
)

// pageSize is how many stored events a subscriber reads at a time.
const pageSize = 1000

// tail calls send with every stored event q selects, in order, and with
// follow waits for more as they are stored; a one-run tail ends after the
// run's terminationEvent. more tells send whether the next event is
// already at hand, so that it can flush only when caught up. Each
// subscriber reads the database at its own pace: one that falls behind
// holds up nobody.
func (c *Collector) tail(ctx context.Context, q store.EventQuery, follow bool, send func(e store.Event, more bool) error) error {
	q.Limit = pageSize
	oneRun := q.RunID != "" && !q.ByCursor
	for {
		changed := c.Store.Changed()
		evs, err := c.Store.Events(ctx, q)
		if err != nil {
			return errCode(err)
		}
		for i, e := range evs {
			if err := send(e, i < len(evs)-1 || len(evs) == pageSize); err != nil {
				return err
			}
			if oneRun && isTermination(e.JSON) {
				return nil
			}
			q.AfterSeq, q.AfterCursor = e.Sequence, e.Cursor
		}
		if len(evs) == pageSize {
			continue
		}
		if !follow {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return connect.NewError(connect.CodeCanceled, ctx.Err())
		}
	}
}

// envelopes tails events as Envelopes that pass filter.
func (c *Collector) envelopes(ctx context.Context, q store.EventQuery, follow bool, filter event.Filter, send func(e store.Event, env *pb.Envelope, more bool) error) error {
	return c.tail(ctx, q, follow, func(e store.Event, more bool) error {
		env, err := event.UnmarshalJSON(e.JSON)
		if err != nil {
			return connect.NewError(connect.CodeDataLoss, fmt.Errorf("stored event %d of run %s: %w", e.Sequence, e.RunID, err))
		}
		if !filter.Match(env.Event) {
			return nil
		}
		return send(e, env, more)
	})
}

// terminationKey can only occur in an envelope's JSON as the payload's
// key: inside a string its quotes would be escaped.
var terminationKey = []byte(`"terminationEvent":`)

func isTermination(js []byte) bool { return bytes.Contains(js, terminationKey) }

// Events implements the EventService: one run's events after a sequence
// (run_id), or every run's in the order they were stored.
func (c *Collector) Events(ctx context.Context, req *connect.Request[pb.EventsRequest], stream *connect.ServerStream[pb.Envelope]) error {
	q, filter, err := c.eventsQuery(ctx, req.Msg)
	if err != nil {
		return err
	}
	if err := stream.Send(nil); err != nil {
		return err
	}
	return c.envelopes(ctx, q, !req.Msg.HistoryOnly, filter, func(_ store.Event, env *pb.Envelope, _ bool) error {
		return stream.Send(env)
	})
}

func (c *Collector) eventsQuery(ctx context.Context, m *pb.EventsRequest) (store.EventQuery, event.Filter, error) {
	filter, err := event.FilterFrom(m.GetFilter())
	if err != nil {
		return store.EventQuery{}, filter, connect.NewError(connect.CodeInvalidArgument, err)
	}
	if m.RunId == "" {
		if m.AfterSequence != 0 {
			return store.EventQuery{}, filter, connect.NewError(connect.CodeInvalidArgument,
				errors.New("after_sequence needs run_id: sequences are per run; to resume a stream of all runs, use CollectorService.Feed with a cursor"))
		}
		return store.EventQuery{ByCursor: true}, filter, nil
	}
	if _, err := c.Store.Run(ctx, m.RunId); err != nil {
		return store.EventQuery{}, filter, errCode(fmt.Errorf("run %s: %w", m.RunId, err))
	}
	return store.EventQuery{RunID: m.RunId, AfterSeq: m.AfterSequence}, filter, nil
}

// GetState implements the EventService for one run.
func (c *Collector) GetState(ctx context.Context, req *connect.Request[pb.GetStateRequest]) (*connect.Response[pb.State], error) {
	if req.Msg.RunId == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("a collector holds many runs: give run_id"))
	}
	r, err := c.Store.Run(ctx, req.Msg.RunId)
	if err != nil {
		return nil, errCode(fmt.Errorf("run %s: %w", req.Msg.RunId, err))
	}
	return connect.NewResponse(r.State), nil
}

// ListRuns implements the CollectorService.
func (c *Collector) ListRuns(ctx context.Context, req *connect.Request[pb.ListRunsRequest]) (*connect.Response[pb.ListRunsResponse], error) {
	runs, next, err := c.Store.Runs(ctx, runQuery(req.Msg))
	if err != nil {
		return nil, errCode(err)
	}
	return connect.NewResponse(&pb.ListRunsResponse{Runs: runs, NextPageToken: next}), nil
}

func runQuery(m *pb.ListRunsRequest) store.RunQuery {
	q := store.RunQuery{Statuses: m.Statuses, Command: m.Command, Image: m.Image,
		PageSize: int(m.PageSize), PageToken: m.PageToken}
	if m.StartedAfter != nil {
		q.StartedAfter = m.StartedAfter.AsTime()
	}
	if m.StartedBefore != nil {
		q.StartedBefore = m.StartedBefore.AsTime()
	}
	return q
}

// GetRun implements the CollectorService.
func (c *Collector) GetRun(ctx context.Context, req *connect.Request[pb.GetRunRequest]) (*connect.Response[pb.Run], error) {
	r, err := c.Store.Run(ctx, req.Msg.EventId)
	if err != nil {
		return nil, errCode(fmt.Errorf("run %s: %w", req.Msg.EventId, err))
	}
	return connect.NewResponse(r), nil
}

// Feed implements the CollectorService.
func (c *Collector) Feed(ctx context.Context, req *connect.Request[pb.FeedRequest], stream *connect.ServerStream[pb.FeedItem]) error {
	filter, err := event.FilterFrom(req.Msg.Filter)
	if err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	if err := stream.Send(nil); err != nil {
		return err
	}
	q := store.EventQuery{ByCursor: true, RunID: req.Msg.RunId, AfterCursor: req.Msg.AfterCursor}
	return c.envelopes(ctx, q, !req.Msg.HistoryOnly, filter, func(e store.Event, env *pb.Envelope, _ bool) error {
		return stream.Send(&pb.FeedItem{Cursor: e.Cursor, Envelope: env})
	})
}
