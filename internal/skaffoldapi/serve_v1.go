package skaffoldapi

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	"github.com/hoist-dev/hoist/api/skaffold/v1/skaffoldv1connect"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// v1Handler serves proto.SkaffoldService.
type v1Handler struct{ s *Server }

var _ skaffoldv1connect.SkaffoldServiceHandler = v1Handler{}

// GetState implements the v1 service.
func (h v1Handler) GetState(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[skaffoldv1.State], error) {
	st, err := h.s.StateV1(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(st), nil
}

// StateV1 returns the run's state as v1's GetState does: the
// translator's, caught up with the run, whose automatic triggers come
// from the dev loop.
func (s *Server) StateV1(ctx context.Context) (*skaffoldv1.State, error) {
	return s.state1.state(ctx, s.api)
}

// EventLog implements the v1 service, deprecated in Skaffold: the run's
// events, as Events sends them; what the client sends is ignored.
func (h v1Handler) EventLog(ctx context.Context, stream *connect.BidiStream[skaffoldv1.LogEntry, skaffoldv1.LogEntry]) error {
	if err := stream.Send(nil); err != nil {
		return err
	}
	return h.s.followV1(ctx, stream.Peer().Addr, connectSender(ctx, stream.Send))
}

// Events implements the v1 service: the run's events from its first,
// then live ones.
func (h v1Handler) Events(ctx context.Context, req *connect.Request[emptypb.Empty], stream *connect.ServerStream[skaffoldv1.LogEntry]) error {
	// The headers go out now, so that a client's call returns before the
	// first event exists.
	if err := stream.Send(nil); err != nil {
		return err
	}
	return h.s.followV1(ctx, req.Peer().Addr, connectSender(ctx, stream.Send))
}

// followV1 serves a v1 stream of log entries.
func (s *Server) followV1(ctx context.Context, peer string, out sender[*skaffoldv1.LogEntry]) error {
	tr := s.newV1()
	translate := func(env *pb.Envelope) []*skaffoldv1.LogEntry {
		evs := tr.Translate(env)
		if len(evs) == 0 {
			return nil
		}
		out := make([]*skaffoldv1.LogEntry, len(evs))
		for i, ev := range evs {
			out[i] = LogEntry(env, ev)
		}
		return out
	}
	return follow(ctx, s.api, peer, &s.handled1, translate, func(*skaffoldv1.LogEntry) bool { return true }, out)
}

// Execute implements the v1 service.
func (h v1Handler) Execute(_ context.Context, req *connect.Request[skaffoldv1.UserIntentRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.s.execute(req.Msg.GetIntent()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

// AutoBuild implements the v1 service.
func (h v1Handler) AutoBuild(_ context.Context, req *connect.Request[skaffoldv1.TriggerRequest]) (*connect.Response[emptypb.Empty], error) {
	return h.trigger(triggerBuild, req.Msg)
}

// AutoSync implements the v1 service.
func (h v1Handler) AutoSync(_ context.Context, req *connect.Request[skaffoldv1.TriggerRequest]) (*connect.Response[emptypb.Empty], error) {
	return h.trigger(triggerSync, req.Msg)
}

// AutoDeploy implements the v1 service.
func (h v1Handler) AutoDeploy(_ context.Context, req *connect.Request[skaffoldv1.TriggerRequest]) (*connect.Response[emptypb.Empty], error) {
	return h.trigger(triggerDeploy, req.Msg)
}

// trigger is v1's AutoBuild, AutoSync and AutoDeploy, which require the
// state's enabled field.
func (h v1Handler) trigger(p trigger, req *skaffoldv1.TriggerRequest) (*connect.Response[emptypb.Empty], error) {
	v, ok := req.GetState().GetVal().(*skaffoldv1.TriggerState_Enabled)
	if !ok {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("missing required boolean parameter 'enabled'"))
	}
	if err := h.s.autoTrigger(p, p.v1, v.Enabled); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

// Handle implements the v1 service: the event joins the run's v1 events
// where the run is now, for every stream.
func (h v1Handler) Handle(_ context.Context, req *connect.Request[skaffoldv1.Event]) (*connect.Response[emptypb.Empty], error) {
	h.s.HandleV1(req.Msg)
	return connect.NewResponse(&emptypb.Empty{}), nil
}

// HandleV1 adds ev to the run's v1 events.
func (s *Server) HandleV1(ev *skaffoldv1.Event) {
	if ev == nil || ev.GetEventType() == nil {
		return
	}
	s.handled1.add(&skaffoldv1.LogEntry{Timestamp: now(), Event: ev, Entry: Entry(ev)}, s.api.Bus.Last())
}

// connectSender sends a stream's events with connect-go's send, telling
// the call's flush gate (rpc.GateFlushes) whether more are at hand. What
// the gate held back it flushes itself within a few milliseconds.
func connectSender[E any](ctx context.Context, send func(E) error) sender[E] {
	return sender[E]{
		send: func(ev E, more bool) error {
			rpc.HoldFlush(ctx, more)
			return send(ev)
		},
		flush: func() error { return nil },
	}
}
