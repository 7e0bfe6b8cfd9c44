package skaffoldapi

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

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

// StateV1 returns the run's state as v1's GetState does.
func (s *Server) StateV1(ctx context.Context) (*skaffoldv1.State, error) {
	st, err := s.state1.state(ctx, s.api)
	if err != nil {
		return nil, err
	}
	if b, d, y, ok := s.Triggers(); ok {
		if st.BuildState == nil {
			st.BuildState = &skaffoldv1.BuildState{}
		}
		if st.DeployState == nil {
			st.DeployState = &skaffoldv1.DeployState{}
		}
		if st.FileSyncState == nil {
			st.FileSyncState = &skaffoldv1.FileSyncState{}
		}
		st.BuildState.AutoTrigger, st.DeployState.AutoTrigger, st.FileSyncState.AutoTrigger = b, d, y
	}
	return st, nil
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
			out[i] = logEntry(ev, env.GetEvent().GetTimestamp())
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
	return h.trigger(phaseBuild, req.Msg)
}

// AutoSync implements the v1 service.
func (h v1Handler) AutoSync(_ context.Context, req *connect.Request[skaffoldv1.TriggerRequest]) (*connect.Response[emptypb.Empty], error) {
	return h.trigger(phaseSync, req.Msg)
}

// AutoDeploy implements the v1 service.
func (h v1Handler) AutoDeploy(_ context.Context, req *connect.Request[skaffoldv1.TriggerRequest]) (*connect.Response[emptypb.Empty], error) {
	return h.trigger(phaseDeploy, req.Msg)
}

// trigger is v1's AutoBuild, AutoSync and AutoDeploy, which require the
// state's enabled field.
func (h v1Handler) trigger(p phase, req *skaffoldv1.TriggerRequest) (*connect.Response[emptypb.Empty], error) {
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
	s.handled1.add(logEntry(ev, now()), s.api.Bus.Last())
}

// logEntry is the LogEntry of v1's streams for ev: with its time and the
// line that Skaffold's v1 event handler writes for it.
func logEntry(ev *skaffoldv1.Event, ts *timestamppb.Timestamp) *skaffoldv1.LogEntry {
	return &skaffoldv1.LogEntry{Timestamp: ts, Event: ev, Entry: entryOf(ev)}
}

// Skaffold's v1 statuses, which its entries name.
const (
	v1InProgress = "In Progress"
	v1Complete   = "Complete"
	v1Failed     = "Failed"
	v1Started    = "Started"
	v1Succeeded  = "Succeeded"
	v1Terminated = "Terminated"
)

// entryOf is the human line of a v1 event: Skaffold's, for the events and
// statuses it writes one for, and none otherwise (the metaEvent carries
// its own).
func entryOf(ev *skaffoldv1.Event) string {
	switch e := ev.GetEventType().(type) {
	case *skaffoldv1.Event_BuildEvent:
		return pick(e.BuildEvent.GetStatus(), map[string]string{
			v1InProgress: "Build started for artifact %[1]s",
			v1Complete:   "Build completed for artifact %[1]s",
			v1Failed:     "Build failed for artifact %[1]s",
		}, e.BuildEvent.GetArtifact())
	case *skaffoldv1.Event_TestEvent:
		return pick(e.TestEvent.GetStatus(), map[string]string{
			v1InProgress: "Test started", v1Complete: "Test completed", v1Failed: "Test failed",
		})
	case *skaffoldv1.Event_DeployEvent:
		return pick(e.DeployEvent.GetStatus(), map[string]string{
			v1InProgress: "Deploy started", v1Complete: "Deploy completed", v1Failed: "Deploy failed",
		})
	case *skaffoldv1.Event_PortEvent:
		return fmt.Sprintf("Forwarding container %s to local port %d", e.PortEvent.GetContainerName(), e.PortEvent.GetLocalPort())
	case *skaffoldv1.Event_StatusCheckEvent:
		return pick(e.StatusCheckEvent.GetStatus(), map[string]string{
			v1Started:    "Status check started",
			v1InProgress: "Status check in progress",
			v1Succeeded:  "Status check succeeded",
			v1Failed:     "Status check failed",
		})
	case *skaffoldv1.Event_ResourceStatusCheckEvent:
		r := e.ResourceStatusCheckEvent
		return pick(r.GetStatus(), map[string]string{
			v1InProgress: "Resource %[1]s status updated to %[2]s",
			v1Succeeded:  "Resource %[1]s status completed successfully",
			v1Failed:     "Resource %[1]s status failed with %[3]s",
		}, r.GetResource(), r.GetStatus(), r.GetErr())
	case *skaffoldv1.Event_FileSyncEvent:
		f := e.FileSyncEvent
		return pick(f.GetStatus(), map[string]string{
			v1InProgress: "File sync started for %[1]d files for %[2]s",
			v1Succeeded:  "File sync succeeded for %[1]d files for %[2]s",
			v1Failed:     "File sync failed for %[1]d files for %[2]s",
		}, f.GetFileCount(), f.GetImage())
	case *skaffoldv1.Event_DebuggingContainerEvent:
		d := e.DebuggingContainerEvent
		return pick(d.GetStatus(), map[string]string{
			v1Started:    "Debuggable container started pod/%[1]s:%[2]s (%[3]s)",
			v1Terminated: "Debuggable container terminated pod/%[1]s:%[2]s (%[3]s)",
		}, d.GetPodName(), d.GetContainerName(), d.GetNamespace())
	case *skaffoldv1.Event_DevLoopEvent:
		return pick(e.DevLoopEvent.GetStatus(), map[string]string{
			v1InProgress: "Update initiated",
			v1Succeeded:  "Update succeeded",
			v1Failed:     "Update failed with error code %[1]v",
		}, e.DevLoopEvent.GetErr().GetErrCode())
	}
	return ""
}

// pick formats the line of status with args, or returns none for a
// status without one.
func pick(status string, lines map[string]string, args ...any) string {
	line, ok := lines[status]
	if !ok {
		return ""
	}
	return fmt.Sprintf(line, args...)
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
