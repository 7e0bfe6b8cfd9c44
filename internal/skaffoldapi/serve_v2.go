package skaffoldapi

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/api/skaffold/v2/skaffoldv2connect"
)

// v2Handler serves proto.v2.SkaffoldV2Service.
type v2Handler struct{ s *Server }

var _ skaffoldv2connect.SkaffoldV2ServiceHandler = v2Handler{}

// GetState implements the v2 service.
func (h v2Handler) GetState(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[skaffoldv2.State], error) {
	st, err := h.s.StateV2(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(st), nil
}

// StateV2 returns the run's state as v2's GetState does: the
// translator's, caught up with the run, whose automatic triggers come
// from the dev loop.
func (s *Server) StateV2(ctx context.Context) (*skaffoldv2.State, error) {
	return s.state2.state(ctx, s.api)
}

// Events implements the v2 service: the run's events from its first, then
// live ones, except the application logs, which ApplicationLogs streams.
func (h v2Handler) Events(ctx context.Context, req *connect.Request[emptypb.Empty], stream *connect.ServerStream[skaffoldv2.Event]) error {
	if err := stream.Send(nil); err != nil {
		return err
	}
	return h.s.followV2(ctx, req.Peer().Addr, notAppLog, connectSender(ctx, stream.Send))
}

// ApplicationLogs implements the v2 service: the lines the run's
// containers printed, from the first, then live ones.
func (h v2Handler) ApplicationLogs(ctx context.Context, req *connect.Request[emptypb.Empty], stream *connect.ServerStream[skaffoldv2.Event]) error {
	if err := stream.Send(nil); err != nil {
		return err
	}
	return h.s.followV2(ctx, req.Peer().Addr, isAppLog, connectSender(ctx, stream.Send))
}

func isAppLog(ev *skaffoldv2.Event) bool  { return ev.GetApplicationLogEvent() != nil }
func notAppLog(ev *skaffoldv2.Event) bool { return ev.GetApplicationLogEvent() == nil }

// followV2 serves a v2 stream of the events that keep selects.
func (s *Server) followV2(ctx context.Context, peer string, keep func(*skaffoldv2.Event) bool, out sender[*skaffoldv2.Event]) error {
	tr := s.newV2()
	return follow(ctx, s.api, peer, &s.handled2, func(env *pb.Envelope) []*skaffoldv2.Event { return tr.Translate(env) }, keep, out)
}

// Execute implements the v2 service. Skaffold's own v2 Execute and
// triggers change only its v2 state; hoist's drive the dev loop as v1's do.
func (h v2Handler) Execute(_ context.Context, req *connect.Request[skaffoldv2.UserIntentRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.s.execute(req.Msg.GetIntent()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

// AutoBuild implements the v2 service.
func (h v2Handler) AutoBuild(_ context.Context, req *connect.Request[skaffoldv2.TriggerRequest]) (*connect.Response[emptypb.Empty], error) {
	return h.trigger(triggerBuild, req.Msg)
}

// AutoSync implements the v2 service.
func (h v2Handler) AutoSync(_ context.Context, req *connect.Request[skaffoldv2.TriggerRequest]) (*connect.Response[emptypb.Empty], error) {
	return h.trigger(triggerSync, req.Msg)
}

// AutoDeploy implements the v2 service.
func (h v2Handler) AutoDeploy(_ context.Context, req *connect.Request[skaffoldv2.TriggerRequest]) (*connect.Response[emptypb.Empty], error) {
	return h.trigger(triggerDeploy, req.Msg)
}

// trigger is v2's AutoBuild, AutoSync and AutoDeploy: a state without its
// enabled field turns the trigger off, as in Skaffold.
func (h v2Handler) trigger(p trigger, req *skaffoldv2.TriggerRequest) (*connect.Response[emptypb.Empty], error) {
	if err := h.s.autoTrigger(p, p.v2, req.GetState().GetEnabled()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

// Handle implements the v2 service: the event joins the run's v2 events
// (its application logs, for an applicationLogEvent) where the run is
// now, for every stream.
func (h v2Handler) Handle(_ context.Context, req *connect.Request[skaffoldv2.Event]) (*connect.Response[emptypb.Empty], error) {
	h.s.HandleV2(req.Msg)
	return connect.NewResponse(&emptypb.Empty{}), nil
}

// HandleV2 adds ev to the run's v2 events, stamped with the time now as
// Skaffold stamps it.
func (s *Server) HandleV2(ev *skaffoldv2.Event) {
	if ev == nil || ev.GetEventType() == nil {
		return
	}
	ev.Timestamp = now()
	s.handled2.add(ev, s.api.Bus.Last())
}
