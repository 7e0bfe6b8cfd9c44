// Package query answers what a collector's store holds: the EventService
// and the CollectorService, and the same over plain HTTP as JSON and JSON
// lines. Readers tail the store after a sequence or a cursor, each at its
// own pace, and wait on the store's Changed for more.
package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// Store is what queries need of the collector's store.
type Store interface {
	Changed() <-chan struct{}
	Events(ctx context.Context, q store.EventQuery) ([]store.Event, error)
	Run(ctx context.Context, id string) (*pb.Run, error)
	Runs(ctx context.Context, q store.RunQuery) ([]*pb.Run, string, error)
	Timeline(ctx context.Context, id string, afterSeq uint32) ([]timeline.Span, error)
	Trends(ctx context.Context, q store.TrendQuery) (*store.Trends, error)
}

// Service serves the EventService and the CollectorService of the runs in
// a store; Route adds the plain HTTP API.
type Service struct {
	st  Store
	log *slog.Logger
}

var (
	_ hoistv1alpha2connect.EventServiceHandler     = (*Service)(nil)
	_ hoistv1alpha2connect.CollectorServiceHandler = (*Service)(nil)
)

// New returns the service of the runs in st, which logs to log (nil for
// none) the JSON lines responses that a failure cut short.
func New(st Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log}
}

// Events implements the EventService: one run's events after a sequence
// (run_id), or every run's in the order they were stored.
func (s *Service) Events(ctx context.Context, req *connect.Request[pb.EventsRequest], stream *connect.ServerStream[pb.Envelope]) error {
	q, filter, err := s.eventsQuery(ctx, req.Msg)
	if err != nil {
		return err
	}
	if err := stream.Send(nil); err != nil {
		return err
	}
	// While more events are at hand, their flush waits for them (when the
	// handler is behind rpc.GateFlushes).
	defer rpc.HoldFlush(ctx, false)
	return s.envelopes(ctx, q, !req.Msg.HistoryOnly, filter, func(_ store.Event, env *pb.Envelope, more bool) error {
		rpc.HoldFlush(ctx, more)
		return stream.Send(env)
	})
}

func (s *Service) eventsQuery(ctx context.Context, m *pb.EventsRequest) (store.EventQuery, event.Filter, error) {
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
	if _, err := s.st.Run(ctx, m.RunId); err != nil {
		return store.EventQuery{}, filter, errCode(ctx, fmt.Errorf("run %s: %w", m.RunId, err))
	}
	return store.EventQuery{RunID: m.RunId, AfterSeq: m.AfterSequence}, filter, nil
}

// GetState implements the EventService for one run.
func (s *Service) GetState(ctx context.Context, req *connect.Request[pb.GetStateRequest]) (*connect.Response[pb.State], error) {
	if req.Msg.RunId == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("a collector holds many runs: give run_id"))
	}
	r, err := s.st.Run(ctx, req.Msg.RunId)
	if err != nil {
		return nil, errCode(ctx, fmt.Errorf("run %s: %w", req.Msg.RunId, err))
	}
	return connect.NewResponse(r.State), nil
}

// ListRuns implements the CollectorService.
func (s *Service) ListRuns(ctx context.Context, req *connect.Request[pb.ListRunsRequest]) (*connect.Response[pb.ListRunsResponse], error) {
	runs, next, err := s.st.Runs(ctx, runQuery(req.Msg))
	if err != nil {
		return nil, errCode(ctx, err)
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
func (s *Service) GetRun(ctx context.Context, req *connect.Request[pb.GetRunRequest]) (*connect.Response[pb.Run], error) {
	r, err := s.st.Run(ctx, req.Msg.EventId)
	if err != nil {
		return nil, errCode(ctx, fmt.Errorf("run %s: %w", req.Msg.EventId, err))
	}
	return connect.NewResponse(r), nil
}

// Feed implements the CollectorService.
func (s *Service) Feed(ctx context.Context, req *connect.Request[pb.FeedRequest], stream *connect.ServerStream[pb.FeedItem]) error {
	q, filter, err := feedQuery(req.Msg)
	if err != nil {
		return err
	}
	if err := stream.Send(nil); err != nil {
		return err
	}
	defer rpc.HoldFlush(ctx, false)
	return s.envelopes(ctx, q, !req.Msg.HistoryOnly, filter, func(e store.Event, env *pb.Envelope, more bool) error {
		rpc.HoldFlush(ctx, more)
		return stream.Send(&pb.FeedItem{Cursor: e.Cursor, Envelope: env})
	})
}

func feedQuery(m *pb.FeedRequest) (store.EventQuery, event.Filter, error) {
	filter, err := event.FilterFrom(m.GetFilter())
	if err != nil {
		return store.EventQuery{}, filter, connect.NewError(connect.CodeInvalidArgument, err)
	}
	return store.EventQuery{ByCursor: true, RunID: m.RunId, AfterCursor: m.AfterCursor}, filter, nil
}

// errCode maps an error of a store read under ctx to the status a client
// sees: CANCELED or DEADLINE_EXCEEDED only when ctx ended the read,
// NOT_FOUND and INVALID_ARGUMENT for a run or page token the store does
// not know, and INTERNAL for any other failure of the store.
func errCode(ctx context.Context, err error) error {
	if cerr := ctxError(ctx, err); cerr != nil {
		return cerr
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, store.ErrBadPageToken):
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}

// ctxError is the status of err when the caller's ctx ended what returned
// it, as rpc.Stream reports it: DEADLINE_EXCEEDED for a deadline that
// passed, CANCELED for a cancel. It is nil when err is not ctx's error.
func ctxError(ctx context.Context, err error) error {
	ctxErr := ctx.Err()
	switch {
	case ctxErr == nil || !errors.Is(err, ctxErr):
		return nil
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	return connect.NewError(connect.CodeCanceled, err)
}
