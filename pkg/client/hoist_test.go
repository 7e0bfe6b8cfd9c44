package client_test

import (
	"net"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/state"
)

// runningHoist serves, on a loopback port, the Event API of a run that
// built one image and failed another, as `hoist build --rpc-port` does,
// and returns its address. The examples read it; it lives until the test
// binary exits.
func runningHoist() string {
	bus, err := event.New()
	if err != nil {
		panic(err)
	}
	tracker := state.New()
	for _, ev := range []*pb.Event{
		{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build", Artifacts: []string{"app", "worker"}}}},
		{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS}}},
		{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "worker", Status: pb.Status_IN_PROGRESS}}},
		{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS, Log: "Step 1/2 : FROM busybox"}}},
		{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_SUCCEEDED,
			Artifact: &pb.Artifact{ImageName: "app", Tag: "127.0.0.1:5000/app:v1", Digest: "sha256:8d3a"}}}},
		{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "worker", Status: pb.Status_FAILED,
			Error: &pb.Error{Code: "BUILD_RUN_FAILED", Message: "step 3/3: exit status 2"}}}},
		{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_FAILED,
			Error: &pb.Error{Code: "BUILD_RUN_FAILED", Message: "step 3/3: exit status 2"}}}},
	} {
		tracker.Apply(bus.Publish(ev))
	}
	bus.End()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := rpc.NewHTTPServer((&rpc.Server{Bus: bus, State: tracker}).Handler())
	go func() {
		// It serves until the process exits; an earlier end is a broken example.
		if err := srv.Serve(ln); err != nil {
			panic(err)
		}
	}()
	return ln.Addr().String()
}
